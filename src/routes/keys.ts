import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { defineRoute, need } from "../auth/access";
import { requireMaster } from "../auth/authenticate";
import { issueKey, listKeys, resolveTtl, revokeKey } from "../auth/keys";
import { DEFAULT_SCOPES, SCOPES, type Scope } from "../auth/principal";
import { ingestLegacyDocuments, LEGACY_ID_MAX, LEGACY_MAX_DOCUMENTS, legacyBodyError } from "../ingest/legacy";
import type { AppEnv } from "../http/context";
import { ApiError } from "../http/errors";
import { errorResponses, json, jsonBody, legacyErrorResponses } from "../http/schemas";
import { bindingFrom, KeyBindingFields, KeyBindingSchema } from "../retrieval/scope";
import { requireCollection } from "../storage/collections";
import { documentMetadata } from "../storage/documents";
import type { Context } from "hono";
import type { KeyBinding } from "../auth/principal";

const ScopeSchema = z.enum(SCOPES).openapi({
  description: "`read`, `write`, `chat` (the default set), or `admin` (collection settings and webhooks; only when named)",
});

const LegacyKeyBody = z.object({
  model: z.string().min(1).max(200),
  // Ingested synchronously in this request: at most an upload request's files.
  embeddings: z.array(z.array(z.number())).max(LEGACY_MAX_DOCUMENTS),
  document: z
    .array(
      z.object({
        id: z.union([z.string().max(LEGACY_ID_MAX), z.number()]).optional(),
        name: z.string().max(512).optional(),
        text: z.string(),
      }),
    )
    .min(1)
    .max(LEGACY_MAX_DOCUMENTS),
  ttl_seconds: z.number().int().optional(),
  scopes: z.array(ScopeSchema).min(1).optional(),
  ...KeyBindingFields,
});
const CollectionKeyBody = z.object({
  collection_id: z.string().min(1).max(64),
  model: z.string().min(1).max(200).optional(),
  ttl_seconds: z.number().int().optional(),
  scopes: z.array(ScopeSchema).min(1).optional(),
  ...KeyBindingFields,
});
const KeyBody = z.union([CollectionKeyBody, LegacyKeyBody]).openapi("TempKeyRequest", {
  example: {
    collection_id: "col_AbCdEf123456789012",
    ttl_seconds: 3600,
    scopes: ["read", "chat"],
    filter: { type: "eq", key: "team", value: "red" },
  },
});
const NewKeyBody = CollectionKeyBody.openapi("NewKeyRequest", {
  example: { collection_id: "col_AbCdEf123456789012", scopes: ["read", "chat"], filter: { type: "eq", key: "team", value: "red" } },
});

const KeyResponse = z
  .object({
    temp_api_key: z.string().openapi({ description: "Shown once; only its SHA-256 digest is stored" }),
    key_id: z.string(),
    expires_at: z.string().openapi({ example: "2026-11-28T00:00:00.000Z" }),
    collection_id: z.string().nullable(),
    scopes: z.array(ScopeSchema),
    binding: KeyBindingSchema.nullable().openapi({
      description: "The part of the collection the key sees (its `filter` and/or `document_ids`); null: all of it",
    }),
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
    "other texts are ingested into a new collection bound to the key, named by `name` or `id`; at most 100 documents, ids of at most 128 characters) or `{collection_id, model?, ttl_seconds?, scopes?}`. " +
    "Either form takes `filter` (a metadata filter) and/or `document_ids`: the key then sees only those documents, on every surface.",
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
    binding: KeyBindingSchema.nullable(),
  })
  .openapi("KeyListing");

const createRouteDef = defineRoute({
  method: "post",
  path: "/v1/keys",
  access: { need: need.master },
  tags: ["Keys"],
  summary: "Issue a temporary API key for a collection (master key)",
  description:
    "`{collection_id, scopes?, ttl_seconds?, model?, filter?, document_ids?}`. With `filter` and/or `document_ids` the key sees only " +
    "the matching documents of its collection everywhere (search, chat, completions, vector-store search, MCP, listing, download, " +
    "session history); a document outside them answers 404. A request's own filters are AND-combined with the key's.",
  request: { body: jsonBody(NewKeyBody) },
  responses: { 201: json(KeyResponse, "The new key (shown once)"), ...errorResponses(400, 401, 404, 500) },
});

/**
 * Issues a key, bound when `filter` / `document_ids` are given. The document ids must be documents
 * of the key's collection: a typo would otherwise yield a key that silently sees nothing.
 */
async function issueFor(
  c: Context<AppEnv>,
  opts: { collectionId: string; model: string | null; scopes: Scope[]; ttl: number; binding: KeyBinding | null },
) {
  const ids = opts.binding?.document_ids;
  if (ids) {
    const found = await documentMetadata(c.env.DB, opts.collectionId, ids);
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length > 0) {
      throw new ApiError("validation_error", `document_ids names documents that are not in collection ${opts.collectionId}`, {
        details: [{ path: "document_ids", message: `unknown: ${missing.slice(0, 10).join(", ")}` }],
      });
    }
  }
  const { key, record } = await issueKey(c.env, opts);
  return {
    temp_api_key: key,
    key_id: record.id,
    expires_at: new Date(record.expires_at * 1000).toISOString(),
    collection_id: record.collection_id,
    scopes: record.scopes,
    binding: (record.binding ?? null) as z.infer<typeof KeyBindingSchema> | null,
  };
}

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
      const scopes: Scope[] = body.scopes ?? [...DEFAULT_SCOPES];
      return c.json(await issueFor(c, { collectionId, model, scopes, ttl, binding: bindingFrom(body) }), 200);
    },
    (result) => {
      if (!result.success) throw legacyBodyError(result.error.issues);
      return undefined;
    },
  );

  app.openapi(createRouteDef, async (c) => {
    await requireMaster(c);
    const body = c.req.valid("json");
    const ttl = resolveTtl(body.ttl_seconds, c.var.settings);
    const collectionId = (await requireCollection(c.env.DB, body.collection_id)).id;
    const scopes: Scope[] = body.scopes ?? [...DEFAULT_SCOPES];
    return c.json(await issueFor(c, { collectionId, model: body.model ?? null, scopes, ttl, binding: bindingFrom(body) }), 201);
  });

  app.openapi(listRoute, async (c) => {
    await requireMaster(c);
    const q = c.req.valid("query");
    const page = await listKeys(c.env, { limit: q.limit, cursor: q.cursor, includeInactive: q.include_inactive === "true" });
    // A stored binding was validated by KeyBindingSchema's own filter schema when the key was issued.
    return c.json(page as { keys: z.infer<typeof KeyListing>[]; next_cursor: string | null }, 200);
  });

  app.openapi(revokeRoute, async (c) => {
    await requireMaster(c);
    const { id } = c.req.valid("param");
    if (!(await revokeKey(c.env, id))) throw new ApiError("not_found", "Key not found");
    return c.json({ id, revoked: true as const }, 200);
  });
}
