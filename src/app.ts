import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { authenticateFirst, refuseBlockedAddresses } from "./auth/middleware";
import { parseSettings } from "./config";
import type { AppEnv } from "./http/context";
import { ApiError, errorBody, LEGACY_PATHS, toApiError } from "./http/errors";
import { isOpenAiPath, openAiErrorBody } from "./http/openai-errors";
import { ipRateLimit } from "./auth/rate-limit";

/** Shapes every zod validation failure into the one error envelope. */
export function validationHook(result: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }): void {
  if (result.success) return;
  const issues = (result.error?.issues ?? []).map((i) => ({ path: i.path.map(String).join("."), message: i.message }));
  const first = issues[0];
  throw new ApiError("validation_error", first ? `Invalid request: ${first.path || "body"}: ${first.message}` : "Invalid request", {
    details: issues,
  });
}

export function newApp(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({ defaultHook: (result) => validationHook(result) });
}


/** Upload routes set their own, larger limit (MAX_UPLOAD_BYTES). */
function isUploadPath(path: string): boolean {
  return path === "/make_embedding" || /^\/v1\/collections\/[^/]+\/documents$/.test(path);
}

/** Top-level app: request ids, security headers, CORS allow-list, one error envelope. */
export function createApp(mount: (app: OpenAPIHono<AppEnv>) => void): OpenAPIHono<AppEnv> {
  const app = newApp();
  app.use("*", requestId({ headerName: "X-Request-Id", limitLength: 64 }));
  app.use("*", secureHeaders({ crossOriginResourcePolicy: "same-origin" }));
  app.use("*", async (c, next) => {
    c.set("settings", parseSettings(c.env));
    await next();
  });
  app.use("*", async (c, next) => {
    const allowed = c.var.settings.CORS_ORIGINS;
    if (allowed.length === 0) return next();
    return cors({
      origin: (origin) => (allowed.includes(origin) ? origin : null),
      allowHeaders: ["Authorization", "Content-Type", "X-API-Key", "X-Master-API-Key", "X-Request-Id"],
      exposeHeaders: ["X-Request-Id", "X-Cache", "RateLimit", "RateLimit-Policy", "Retry-After"],
      maxAge: 600,
    })(c, next);
  });

  // Order matters: the address limit, then credentials, and only then anything that reads a body.
  app.use("*", refuseBlockedAddresses());
  app.use("*", ipRateLimit());
  app.use("*", authenticateFirst());

  app.use("*", async (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD" || isUploadPath(new URL(c.req.url).pathname)) return next();
    const max = c.var.settings.MAX_JSON_BYTES;
    return bodyLimit({
      maxSize: max,
      onError: () => {
        throw new ApiError("payload_too_large", `Request body is larger than ${max} bytes`);
      },
    })(c, next);
  });

  mount(app);

  app.notFound((c) => {
    const err = new ApiError("not_found", `No route for ${c.req.method} ${new URL(c.req.url).pathname}`);
    return c.json(errorBody(err, c.var.requestId ?? "unknown"), 404);
  });
  app.onError((err, c) => {
    const apiErr = toApiError(err);
    const rid = c.var.requestId ?? "unknown";
    if (apiErr.status >= 500) {
      // Internal detail goes to the logs only, tied to the request id the client sees.
      console.error(JSON.stringify({ request_id: rid, code: apiErr.code, error: String(err), cause: String(apiErr.cause ?? "") }));
    }
    const path = new URL(c.req.url).pathname;
    const res = isOpenAiPath(path)
      ? c.json(openAiErrorBody(apiErr), apiErr.status)
      : c.json(errorBody(apiErr, rid, LEGACY_PATHS.has(path)), apiErr.status);
    for (const [k, v] of Object.entries(apiErr.headers ?? {})) res.headers.set(k, v);
    return res;
  });
  return app;
}
