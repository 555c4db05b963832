import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { selectAnswerer } from "../chat/answer";
import { parseSecrets } from "../config";
import type { AppEnv } from "../http/context";
import { errorResponses, json } from "../http/schemas";
import { selectEmbedder, selectVectorIndex } from "../retrieval/providers";

const Health = z
  .object({
    status: z.enum(["ok", "misconfigured"]),
    providers: z
      .object({
      embedder: z.object({ id: z.string(), dimensions: z.number(), mode: z.enum(["local", "cloudflare"]) }),
      vector_index: z.object({ id: z.string(), mode: z.enum(["local", "cloudflare"]) }),
      answerer: z.object({ id: z.string(), model: z.string(), mode: z.enum(["local", "cloudflare", "external"]) }).nullable(),
      })
      .optional()
      .openapi({ description: "Only with the master key (X-Master-API-Key)" }),
    secrets_configured: z.boolean().optional().openapi({ description: "Only with the master key" }),
  })
  .openapi("Health");

const route = createRoute({
  method: "get",
  path: "/healthz",
  tags: ["Operations"],
  summary: "Liveness for everyone; active providers for the master key only",
  responses: { 200: json(Health), ...errorResponses(401, 429) },
});

export function mountHealth(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, (c) => {
    let secretsOk = true;
    try {
      parseSecrets(c.env);
    } catch {
      secretsOk = false;
    }
    const embedder = selectEmbedder(c.env);
    const index = selectVectorIndex(c.env);
    let answerer: { id: string; model: string; mode: "local" | "cloudflare" | "external" } | null = null;
    try {
      const a = selectAnswerer(c.env, c.var.settings);
      answerer = { id: a.id, model: a.model, mode: a.id === "extractive" ? "local" : a.id === "workers-ai" ? "cloudflare" : "external" };
    } catch {
      answerer = null;
    }
    const status = secretsOk && answerer ? ("ok" as const) : ("misconfigured" as const);
    // Model ids and configuration help an attacker more than a monitor: details for the master key
    // only (checked by the auth middleware, failed attempts counted like any other).
    if (c.get("principal")?.kind !== "master") return c.json({ status }, 200);
    return c.json(
      {
        status,
        providers: {
          embedder: { id: embedder.id, dimensions: embedder.dimensions, mode: c.env.AI ? ("cloudflare" as const) : ("local" as const) },
          vector_index: { id: index.id, mode: index.id === "vectorize" ? ("cloudflare" as const) : ("local" as const) },
          answerer,
        },
        secrets_configured: secretsOk,
      },
      200,
    );
  });
}
