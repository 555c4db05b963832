import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { defineRoute, need } from "../auth/access";
import { requireMaster } from "../auth/authenticate";
import { issueKey, listKeys, resolveTtl, revokeKey } from "../auth/keys";
import { ALL_SCOPES, type Scope } from "../auth/principal";
import { ingestLegacyDocuments, LEGACY_ID_MAX } from "../ingest/legacy";
import type { AppEnv } from "../http/context";
import { ApiError, legacyError } from "../http/errors";
import { errorResponses, json, jsonBody, legacyErrorResponses } from "../http/schemas";
import { requireCollection } from "../storage/collections";

const ScopeSchema = z.enum(["read", "write", "chat"]);

const LegacyKeyBody = z.object({
  model: z.string().min(1).max(200),
  embeddings: z.array(z.array(z.number())).max(10_000),
  document: z
    .array(
      z.object({ id: z.union([z.string().max(LEGACY_ID_MAX), z.number()]).optional(), name: z.string().max(512).optional(), text: z.string() }),
    )
    .min(1)
    .max(10_000),
  ttl_seconds: z.number().int().optional(),
  scopes: z.array(ScopeSchema).min(1).optional(),
});
const CollectionKeyBody = z.object({
  collection_id: z.string().min(1).max(64),
  model: z.string().min(1).max(200).optional(),
  ttl_seconds: z.number().int().optional(),
  scopes: z.array(ScopeSchema).min(1).optional(),
});
const KeyBody = z.union([CollectionKeyBody, LegacyKeyBody]).openapi("TempKeyRequest", {
  example: { collection_id: "col_AbCdEf123456789012", ttl_seconds: 3600, scopes: ["read", "chat"] },
});

const KeyResponse = z
  .object({
    temp_api_key: z.string().openapi({ description: "Shown once; only its SHA-256 digest is stored" }),
    key_id: z.string(),
    expires_at: z.string().openapi({ example: "2026-11-28T00:00:00.000Z" }),
    collection_id: z.string().nullable(),
    scopes: z.array(ScopeSchema),
  })
  .openapi("TempKey");

const getTempKey = defineRoute({
  method: "post",
  path: "/get_temp_api_key",
  access: { need: need.master, errors: "legacy" },
  tags: ["Original API"],
  summary: "Issue a temporary API key (master key required)",
  description:
    "The original's endpoint. Header `X-Master-API-Key`. Body either the original's `{model, embeddings, document}` " +
    "(documents from a `/make_embedding` response of this deployment bind the key to their collection without ingesting again; " +
    "other texts are ingested into a new collection bound to the key, named by `name` or `id`) or `{collection_id, model?, ttl_seconds?, scopes?}`.",
  request: { body: jsonBody(KeyBody) },
  responses: { 200: json(KeyResponse, "The new key"), ...legacyErrorResponses(400, 401, 404, 500) },
});

const KeyListing = z
  .object({
    id: z.string(),
    collection_id: z.string().nullable(),
    model: z.string().nullable(),
    scopes: z.array(ScopeSchema),
    created_at: z.number(),
    expires_at: z.number(),
    revoked_at: z.number().nullable(),
  })
  .openapi("KeyListing");

const listRoute = defineRoute({
  method: "get",
  path: "/v1/keys",
  access: { need: need.master },
  tags: ["Keys"],
  summary: "List temporary API keys (master key)",
  request: {
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).default(50),
      cursor: z.string().max(64).optional(),
      include_inactive: z.enum(["true", "false"]).default("false"),
    }),
  },
  responses: { 200: json(z.object({ keys: z.array(KeyListing), next_cursor: z.string().nullable() })), ...errorResponses(400, 401, 500) },
});

const revokeRoute = defineRoute({
  method: "delete",
  path: "/v1/keys/{id}",
  access: { need: need.master },
  tags: ["Keys"],
  summary: "Revoke a temporary API key (master key)",
  request: { params: z.object({ id: z.string().min(1).max(64) }) },
  responses: { 200: json(z.object({ id: z.string(), revoked: z.literal(true) })), ...errorResponses(401, 404, 500) },
});

export function mountKeys(app: OpenAPIHono<AppEnv>): void {
  app.openapi(
    getTempKey,
    async (c) => {
      const body = c.req.valid("json");
      const settings = c.var.settings;
      const ttl = resolveTtl(body.ttl_seconds, settings);
      let collectionId: string;
      let model: string | null = body.model ?? null;
      if ("collection_id" in body) {
        collectionId = (await requireCollection(c.env.DB, body.collection_id)).id;
      } else {
        collectionId = await ingestLegacyDocuments(c.env, settings, {
          model: body.model,
          embeddings: body.embeddings,
          documents: body.document,
        });
        model = body.model;
      }
      const scopes: Scope[] = body.scopes ?? [...ALL_SCOPES];
      const { key, record } = await issueKey(c.env, { collectionId, model, scopes, ttl });
      return c.json(
        {
          temp_api_key: key,
          key_id: record.id,
          expires_at: new Date(record.expires_at * 1000).toISOString(),
          collection_id: record.collection_id,
          scopes: record.scopes,
        },
        200,
      );
    },
    (result) => {
      if (!result.success) throw legacyError("missing_fields", "error", "Missing required fields (model, embeddings, document)");
      return undefined;
    },
  );

  app.openapi(listRoute, async (c) => {
    await requireMaster(c);
    const q = c.req.valid("query");
    const page = await listKeys(c.env, { limit: q.limit, cursor: q.cursor, includeInactive: q.include_inactive === "true" });
    return c.json(page, 200);
  });

  app.openapi(revokeRoute, async (c) => {
    await requireMaster(c);
    const { id } = c.req.valid("param");
    if (!(await revokeKey(c.env, id))) throw new ApiError("not_found", "Key not found");
    return c.json({ id, revoked: true as const }, 200);
  });
}
