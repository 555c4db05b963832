import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { defineRoute, need } from "../auth/access";
import { assertCollectionAccess, requireKeyOrMaster, requireMaster } from "../auth/authenticate";
import { revokeCollectionKeys } from "../auth/keys";
import { claimReindex, UsageSchema, usageReport } from "../auth/quotas";
import type { AppEnv } from "../http/context";
import { ApiError } from "../http/errors";
import { errorResponses, json, jsonBody } from "../http/schemas";
import { beginCollectionDeletion } from "../ingest/pipeline";
import { collectionIndex } from "../retrieval/collection-index/client";
import { enqueueAll } from "../ingest/queue";
import { selectEmbedder } from "../retrieval/providers";
import { bindingOf } from "../retrieval/scope";
import { collectionExpiry, ExpiresAfterSchema } from "../ingest/expiry";
import { type Collection, countDocuments, createCollection, listCollections, requireCollection } from "../storage/collections";

export const CollectionSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    embedder: z.string(),
    dimensions: z.number(),
    chunk_tokens: z.number(),
    chunk_overlap: z.number(),
    version: z.number(),
    expires_after: ExpiresAfterSchema.nullable().openapi({ description: "Default expiry of new documents; null: they never expire" }),
    document_count: z.number().optional(),
    index: z
      .object({ chunks: z.number(), vectors: z.number(), storage_bytes: z.number() })
      .optional()
      .openapi({ description: "What the collection's index object holds (GET of one collection only)" }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Collection");

export function publicCollection(c: Collection, documentCount?: number) {
  return {
    ...c,
    expires_after: collectionExpiry(c),
    document_count: documentCount,
    created_at: new Date(c.created_at * 1000).toISOString(),
    updated_at: new Date(c.updated_at * 1000).toISOString(),
  };
}

const CreateBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    chunk_tokens: z.number().int().min(64).max(512).default(400),
    chunk_overlap: z.number().int().min(0).max(128).default(60),
    expires_after: ExpiresAfterSchema.optional(),
  })
  .refine((b) => b.chunk_overlap < b.chunk_tokens / 2, {
    message: "chunk_overlap must be less than half of chunk_tokens",
    path: ["chunk_overlap"],
  })
  .openapi("CreateCollection", { example: { name: "handbook", chunk_tokens: 400, chunk_overlap: 60 } });

const IdParam = z.object({ id: z.string().min(1).max(64) });

const create = defineRoute({
  method: "post",
  path: "/v1/collections",
  access: { need: need.master },
  tags: ["Collections"],
  summary: "Create a collection (master key)",
  request: { body: jsonBody(CreateBody) },
  responses: { 201: json(CollectionSchema, "Created"), ...errorResponses(400, 401, 500) },
});
const list = defineRoute({
  method: "get",
  path: "/v1/collections",
  access: { need: need.key("read") },
  tags: ["Collections"],
  summary: "List collections (master: all; temporary key: its own)",
  request: { query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(50), cursor: z.string().max(64).optional() }) },
  responses: {
    200: json(z.object({ collections: z.array(CollectionSchema), next_cursor: z.string().nullable() })),
    ...errorResponses(400, 401, 500),
  },
});
const get = defineRoute({
  method: "get",
  path: "/v1/collections/{id}",
  access: { need: need.key("read") },
  tags: ["Collections"],
  summary: "Get a collection, with its usage against the quotas",
  request: { params: IdParam },
  responses: { 200: json(CollectionSchema.extend({ usage: UsageSchema })), ...errorResponses(401, 404, 500) },
});
const del = defineRoute({
  method: "delete",
  path: "/v1/collections/{id}",
  access: { need: need.master },
  tags: ["Collections"],
  summary: "Delete a collection and everything in it (master key); it reads as gone at once, the queue removes it in pages",
  request: { params: IdParam },
  responses: {
    202: json(z.object({ id: z.string(), status: z.literal("deleting"), documents: z.number() }), "Deletion under way"),
    ...errorResponses(401, 404, 500, 503),
  },
});
const reindex = defineRoute({
  method: "post",
  path: "/v1/collections/{id}/reindex",
  access: { need: need.key("write"), cost: "reindex" },
  tags: ["Collections"],
  summary: "Re-index every document of a collection (queued)",
  request: { params: IdParam },
  responses: { 202: json(z.object({ id: z.string(), queued: z.number() })), ...errorResponses(401, 403, 404, 500, 503) },
});

export function mountCollections(app: OpenAPIHono<AppEnv>): void {
  app.openapi(create, async (c) => {
    await requireMaster(c);
    const body = c.req.valid("json");
    const embedder = selectEmbedder(c.env);
    const col = await createCollection(c.env.DB, {
      name: body.name,
      embedder: embedder.id,
      dimensions: embedder.dimensions,
      chunkTokens: body.chunk_tokens,
      chunkOverlap: body.chunk_overlap,
      expiresAfter: body.expires_after ? JSON.stringify(body.expires_after) : null,
    });
    return c.json(publicCollection(col, 0), 201);
  });

  app.openapi(list, async (c) => {
    const p = await requireKeyOrMaster(c, "read");
    const q = c.req.valid("query");
    const own = p.kind === "key" ? p.key.collection_id : null;
    const rows = await listCollections(c.env.DB, {
      after: q.cursor ?? "",
      only: p.kind === "master" ? null : (own ?? "\u0000none"),
      limit: q.limit + 1,
    });
    const page = rows.slice(0, q.limit);
    return c.json(
      {
        collections: page.map((r) => publicCollection(r, r.document_count)),
        next_cursor: rows.length > q.limit ? (page[page.length - 1]?.id ?? null) : null,
      },
      200,
    );
  });

  app.openapi(get, async (c) => {
    const p = await requireKeyOrMaster(c, "read");
    const { id } = c.req.valid("param");
    assertCollectionAccess(p, id);
    const col = await requireCollection(c.env.DB, id);
    const [usage, stats] = await Promise.all([usageReport(c.env, c.var.settings, id), collectionIndex(c.env, id).stats()]);
    return c.json(
      {
        ...publicCollection(col, usage.documents.used),
        index: { chunks: stats.chunks, vectors: stats.vectors, storage_bytes: stats.storageBytes },
        usage,
      },
      200,
    );
  });

  app.openapi(del, async (c) => {
    await requireMaster(c);
    const { id } = c.req.valid("param");
    await requireCollection(c.env.DB, id);
    const documents = await countDocuments(c.env.DB, id);
    await revokeCollectionKeys(c.env, id); // its keys stop working and its sessions end, first
    // `deleting` at once, so nothing reads the collection from here on; the queue removes it page by page.
    await beginCollectionDeletion(c.env, id);
    await enqueueDeletion(c.env, id);
    return c.json({ id, status: "deleting" as const, documents }, 202);
  });

  app.openapi(reindex, async (c) => {
    const p = await requireKeyOrMaster(c, "write");
    const { id } = c.req.valid("param");
    assertCollectionAccess(p, id);
    // A key bound to part of the collection acts on that part only; the whole collection is not its to re-index.
    if (bindingOf(p)) throw new ApiError("forbidden", "This API key is bound to part of the collection and cannot re-index all of it");
    await requireCollection(c.env.DB, id);
    await claimReindex(c.env, c.var.settings, id);
    const queued = await countDocuments(c.env.DB, id);
    // Pages of REINDEX_PAGE documents through the queue: constant work per request and message.
    try {
      await enqueueAll(c.env, [{ type: "reindex_collection", collection_id: id, after: "" }]);
    } catch (err) {
      throw new ApiError("unavailable", "Could not queue the re-index; try again", { cause: err });
    }
    return c.json({ id, queued }, 202);
  });
}

/** A failed send is not fatal: the collection is already `deleting`, and the sweeper re-sends. */
async function enqueueDeletion(env: Env, id: string): Promise<void> {
  try {
    await enqueueAll(env, [{ type: "drop_collection", collection_id: id }]);
  } catch (err) {
    console.error(JSON.stringify({ drop_collection: id, error: String(err) }));
  }
}
