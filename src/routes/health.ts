import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { defineRoute, need } from "../auth/access";
import { localTierFunctional } from "../chat/answer-cache";
import { type Providers, selectProviders } from "../chat/providers";
import { parseSecrets } from "../config";
import type { AppEnv } from "../http/context";
import { ApiError } from "../http/errors";
import { errorResponses, json } from "../http/schemas";

const Health = z
  .object({
    status: z.enum(["ok", "misconfigured"]),
    providers: z
      .object({
        embedder: z.object({ id: z.string(), dimensions: z.number(), mode: z.enum(["local", "cloudflare"]) }),
        vector_index: z.object({ id: z.string(), mode: z.enum(["local", "cloudflare"]) }),
        answerer: z.object({ id: z.string(), model: z.string(), mode: z.enum(["local", "cloudflare", "external"]) }).nullable(),
      })
      .nullable()
      .optional()
      .openapi({ description: "Only with the master key (X-Master-API-Key); null when the bindings are half-configured" }),
    misconfigured: z.string().optional().openapi({ description: "Only with the master key: what is missing" }),
    answer_cache: z
      .object({
        local_tier_functional: z
          .boolean()
          .openapi({ description: "false on *.workers.dev, the dashboard editor and previews, where the Cache API never matches" }),
        global_tier: z.literal("kv"),
      })
      .optional()
      .openapi({ description: "Only with the master key" }),
    secrets_configured: z.boolean().optional().openapi({ description: "Only with the master key" }),
  })
  .openapi("Health");

const route = defineRoute({
  method: "get",
  path: "/healthz",
  access: { need: need.publicOrMaster },
  tags: ["Operations"],
  summary: "Liveness for everyone; active providers for the master key only",
  responses: { 200: json(Health), ...errorResponses(401, 429) },
});

export function mountHealth(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    let secretsOk = true;
    try {
      parseSecrets(c.env);
    } catch {
      secretsOk = false;
    }
    // One decision for every provider (src/chat/providers.ts): half-configured bindings are refused.
    let providers: Providers | null = null;
    let misconfigured: string | undefined;
    try {
      providers = selectProviders(c.env, c.var.settings);
    } catch (err) {
      misconfigured = err instanceof ApiError ? err.message : "providers could not be chosen";
    }
    const status = secretsOk && providers ? ("ok" as const) : ("misconfigured" as const);
    // Model ids and configuration help an attacker more than a monitor: details for the master key
    // only (checked by the auth middleware, failed attempts counted like any other).
    if (c.get("principal")?.kind !== "master") return c.json({ status }, 200);
    const a = providers?.answerer;
    return c.json(
      {
        status,
        providers: providers
          ? {
              embedder: {
                id: providers.embedder.id,
                dimensions: providers.embedder.dimensions,
                mode: c.env.AI ? ("cloudflare" as const) : ("local" as const),
              },
              vector_index: providers.vectorize
                ? { id: "vectorize", mode: "cloudflare" as const }
                : { id: "local", mode: "local" as const },
              answerer: a
                ? {
                    id: a.id,
                    model: a.model,
                    mode:
                      a.id === "extractive" ? ("local" as const) : a.id === "workers-ai" ? ("cloudflare" as const) : ("external" as const),
                  }
                : null,
            }
          : null,
        ...(misconfigured ? { misconfigured } : {}),
        answer_cache: { local_tier_functional: await localTierFunctional(), global_tier: "kv" as const },
        secrets_configured: secretsOk,
      },
      200,
    );
  });
}
