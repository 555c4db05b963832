import type { OpenAPIHono } from "@hono/zod-openapi";
import { declareUnlisted, need } from "../auth/access";
import type { AppEnv } from "../http/context";
import type { Doc } from "./shared/api-reference";

// The document's prose and the Swagger UI page load on first use (src/routes/shared/api-reference.ts).
const apiReference = () => import("./shared/api-reference");

export function mountDocs(app: OpenAPIHono<AppEnv>): void {
  let base: Doc | null = null;
  const byOrigin = new Map<string, string>();

  declareUnlisted(app, "get", "/openapi.json", { need: need.public });
  app.get("/openapi.json", async (c) => {
    const origin = new URL(c.req.url).origin;
    let body = byOrigin.get(origin);
    if (body === undefined) {
      const { DESCRIPTION, decorateDocument } = await apiReference();
      // Built once per isolate: every route is registered before the first request arrives.
      base ??= app.getOpenAPI31Document({
        openapi: "3.1.0",
        info: {
          title: "docchat-edge API",
          version: "1.0.0",
          description: DESCRIPTION,
        },
      });
      body = JSON.stringify(decorateDocument(base, origin));
      if (byOrigin.size < 16) byOrigin.set(origin, body);
    }
    return c.body(body, 200, { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "public, max-age=300" });
  });

  declareUnlisted(app, "get", "/docs", { need: need.public });
  app.get("/docs", async (c) => {
    const { DOCS_CSP, DOCS_HTML } = await apiReference();
    c.header("Content-Security-Policy", DOCS_CSP);
    c.header("Cache-Control", "public, max-age=300");
    return c.html(DOCS_HTML);
  });
}
