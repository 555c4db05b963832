import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { Context } from "hono";
import { requireAnyUse } from "../auth/authenticate";
import type { AppEnv } from "../http/context";
import { ApiError, errorBody, toApiError } from "../http/errors";
import { errorResponses } from "../http/schemas";
import { buildMcpServer } from "../mcp/server";
import { answerTurn } from "./shared/turn";

const describeRoute = (method: "post" | "get" | "delete") =>
  createRoute({
    method,
    path: "/mcp",
    tags: ["MCP"],
    summary:
      method === "post" ? "MCP server (Streamable HTTP, stateless)" : `MCP server: ${method.toUpperCase()} (not used in stateless mode)`,
    description:
      "Model Context Protocol over Streamable HTTP, stateless (no session id; JSON responses). `Authorization: Bearer <temporary key>`. " +
      "Tools: `search_documents` (scope read), `ask` (scope chat), `list_documents` (read), `read_document` (read); each has input and " +
      "output schemas. A tool the key lacks the scope for returns a tool error `forbidden`. Without a valid key: 401 with `WWW-Authenticate: Bearer`.",
    request:
      method === "post"
        ? {
            body: {
              required: true,
              content: { "application/json": { schema: z.object({ jsonrpc: z.literal("2.0"), method: z.string() }).passthrough() } },
            },
          }
        : undefined,
    responses: {
      200: { description: "JSON-RPC response(s)", content: { "application/json": { schema: z.unknown() } } },
      202: { description: "Notification accepted" },
      405: { description: "Method not allowed in stateless mode" },
      ...errorResponses(401, 413),
    },
  });

async function handle(c: Context<AppEnv>): Promise<Response> {
  // Stateless: no standalone SSE stream to hold open (GET) and no session to end (DELETE).
  if (c.req.method !== "POST") {
    return c.json(errorBody(new ApiError("method_not_allowed", "This MCP server is stateless: use POST"), c.var.requestId), 405, {
      Allow: "POST",
    });
  }
  let principal: Awaited<ReturnType<typeof requireAnyUse>>;
  try {
    principal = await requireAnyUse(c);
  } catch (err) {
    const e = toApiError(err);
    if (e.status >= 500) throw err;
    const status = e.status === 403 ? 403 : 401;
    return c.json(errorBody(e.status === status ? e : new ApiError("unauthorized", e.message), c.var.requestId), status, {
      "WWW-Authenticate": 'Bearer realm="docchat-edge", error="invalid_token"',
    });
  }
  const server = buildMcpServer({
    env: c.env,
    principal,
    requestId: c.var.requestId,
    answer: async (collection, query, history, topK) => (await answerTurn(c, collection, query, history, topK, {}, principal)).answer,
  });
  // Stateless: a new server and transport per request, no session id, plain JSON responses.
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  await server.connect(transport);
  try {
    return await transport.handleRequest(c.req.raw);
  } finally {
    c.executionCtx.waitUntil(server.close());
  }
}

export function mountMcp(app: OpenAPIHono<AppEnv>): void {
  // Described in the OpenAPI document only: the transport reads and checks the JSON-RPC body itself.
  for (const method of ["post", "get", "delete"] as const) app.openAPIRegistry.registerPath(describeRoute(method));
  app.all("/mcp", handle);
}
