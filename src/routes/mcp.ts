import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { costUnits, defineRoute, need } from "../auth/access";
import type { Context } from "hono";
import { principalOf } from "../auth/authenticate";
import { chargeMore } from "../auth/middleware";
import type { AppEnv } from "../http/context";
import { ApiError, errorBody } from "../http/errors";
import { errorResponses } from "../http/schemas";
import { answerTurn } from "./shared/turn";

/**
 * The MCP SDK (with its JSON-schema validators and zod 3 copy, about 0.6 MiB) is loaded on the first
 * /mcp request, not at start-up: every cold isolate would otherwise evaluate it for /healthz, search
 * and chat too. The bundler keeps it in the one upload, wrapped to be evaluated on first use.
 */
const loadMcp = () =>
  Promise.all([import("../mcp/server"), import("@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js")]).then(
    ([{ buildMcpServer }, { WebStandardStreamableHTTPServerTransport }]) => ({ buildMcpServer, WebStandardStreamableHTTPServerTransport }),
  );

const describeRoute = (method: "post" | "get" | "delete") =>
  defineRoute({
    method,
    path: "/mcp",
    // Each tool call is charged on top, inside the server (src/mcp/server.ts): `ask` costs a chat.
    access: { need: need.key("chat", "read"), bearerChallenge: true },
    tags: ["MCP"],
    summary:
      method === "post" ? "MCP server (Streamable HTTP, stateless)" : `MCP server: ${method.toUpperCase()} (not used in stateless mode)`,
    description:
      "Model Context Protocol over Streamable HTTP, stateless (no session id; JSON responses). `Authorization: Bearer <temporary key>`. " +
      "Tools: `search_documents` (scope read), `ask` (scope chat), `list_documents` (read), `read_document` (read); each has input and " +
      "output schemas. A tool the key lacks the scope for returns a tool error `forbidden`. Without a valid key: 401 with `WWW-Authenticate: Bearer`. " +
      "One JSON-RPC message per request (a batch array is 400). Each tool call is charged to the key on top of the request: `ask` " +
      "as a chat (RATE_COST_CHAT), the others 1 unit; over the limit the tool returns the error `rate_limited`.",
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
  // The auth middleware checked the key (a 401 carries WWW-Authenticate, from the declaration).
  const principal = principalOf(c);
  // One JSON-RPC message per request: a batch (an array; dropped from MCP in 2025-06-18) could run
  // a hundred tool calls for the price of one request. Each tool call is charged in the server.
  let message: unknown;
  try {
    message = await c.req.json();
  } catch {
    throw new ApiError("invalid_json", "Request body is not valid JSON");
  }
  if (Array.isArray(message)) {
    throw new ApiError("bad_request", "JSON-RPC batches are not accepted: send one message per request");
  }
  const { buildMcpServer, WebStandardStreamableHTTPServerTransport } = await loadMcp();
  const server = buildMcpServer({
    env: c.env,
    principal,
    requestId: c.var.requestId,
    answer: async (collection, query, history, topK) => (await answerTurn(c, collection, query, history, topK, {}, principal)).answer,
    charge: (cost) => chargeMore(c, costUnits(cost, c.var.settings)),
  });
  // Stateless: a new server and transport per request, no session id, plain JSON responses.
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  await server.connect(transport);
  try {
    return await transport.handleRequest(c.req.raw, { parsedBody: message });
  } finally {
    c.executionCtx.waitUntil(server.close());
  }
}

export function mountMcp(app: OpenAPIHono<AppEnv>): void {
  // Described in the OpenAPI document only: the transport reads and checks the JSON-RPC body itself.
  for (const method of ["post", "get", "delete"] as const) app.openAPIRegistry.registerPath(describeRoute(method));
  app.all("/mcp", handle);
}
