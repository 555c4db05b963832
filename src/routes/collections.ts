import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { defineRoute, need } from "../auth/access";
import { assertCollectionAccess, requireKeyOrMaster, requireMaster } from "../auth/authenticate";
import { revokeCollectionKeys } from "../auth/keys";
import { claimReindex, UsageSchema, usageReport } from "../auth/quotas";
import type { AppEnv } from "../http/context";
import { ApiError } from "../http/errors";
import { errorResponses, json, jsonBody } from "../http/schemas";
import { emitQuietly } from "../events/emit";
import { beginCollectionDeletion } from "../ingest/pipeline";
import { MAX_SHARDS, shardStubs } from "../retrieval/shard-routing";
import { enqueueAll } from "../ingest/queue";
import { bindingOf } from "../retrieval/scope";
import { collectionExpiry, ExpiresAfterSchema } from "../ingest/expiry";
import { collectionStrategy } from "../retrieval/chunker/strategy";
import { DEFAULT_EMBEDDING_MODEL, EMBEDDING_MODEL_IDS, EMBEDDING_MODELS, embeddingModelOf } from "../retrieval/models";
import { modelAvailable, selectEmbedder } from "../retrieval/providers";
import { publishCollection } from "../storage/collection-cache";
import {
  CHUNK_DEFAULTS,
  type Collection,
  countDocuments,
  createCollection,
  listCollections,
  requireCollection,
  updateCollectionSettings,
} from "../storage/collections";
import { ChunkingStrategySchema } from "./shared/schemas";

export const CollectionSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    embedder: z.string().openapi({ description: "The embedder that built the vectors (implementation id, e.g. `local-hash-v1` offline)" }),
    embedding_model: z.enum(EMBEDDING_MODEL_IDS).openapi({ description: "The embedding model asked for at creation; fixed" }),
    dimensions: z.number(),
    chunking_strategy: ChunkingStrategySchema,
    chunk_tokens: z.number().openapi({ description: "Chunk size in force (tokens, the chunker's estimate)" }),
    chunk_overlap: z.number(),
    version: z.number(),
    expires_after: ExpiresAfterSchema.nullable().openapi({ description: "Default expiry of new documents; null: they never expire" }),
    shards: z
      .number()
      .optional()
      .openapi({ description: "Index objects holding the collection (document-hash shards); shown when more than 1" }),
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
  const { chunking: _, shards, ...rest } = c;
  return {
    ...rest,
    // Shown only for a sharded collection: a 1-shard one reads exactly as before shards.
    ...(shards !== undefined && shards > 1 ? { shards } : {}),
    embedding_model: embeddingModelOf(c),
    chunking_strategy: collectionStrategy(c),
    expires_after: collectionExpiry(c),
    document_count: documentCount,
    created_at: new Date(c.created_at * 1000).toISOString(),
    updated_at: new Date(c.updated_at * 1000).toISOString(),
  };
}

const EmbeddingModelSchema = z.enum(EMBEDDING_MODEL_IDS).openapi({
  description: `Fixed at creation. ${EMBEDDING_MODEL_IDS.map((m) => `\`${m}\`: ${EMBEDDING_MODELS[m].description}`).join("; ")}. Offline (no Workers AI) the local embedder serves every model and the choice is recorded.`,
});

const CreateBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    expires_after: ExpiresAfterSchema.optional(),
    embedding_model: EmbeddingModelSchema.default(DEFAULT_EMBEDDING_MODEL),
    chunking_strategy: ChunkingStrategySchema.optional(),
    // The `auto` strategy's sizes (this API's older fields); `static` gives its own.
    chunk_tokens: z.number().int().min(64).max(512).optional().openapi({ description: "`auto` chunk size (default 400)" }),
    chunk_overlap: z.number().int().min(0).max(128).optional().openapi({ description: "`auto` overlap (default 60)" }),
    shards: z
      .number()
      .int()
      .min(1)
      .max(MAX_SHARDS)
      .optional()
      .openapi({
        description: `Index objects to split the collection over by document (1 to ${MAX_SHARDS}, default 1), fixed at creation: one per ≈ 60,000 chunks expected (docs/scaling.md, "Shards")`,
      }),
  })
  .refine((b) => (b.chunk_overlap ?? CHUNK_DEFAULTS.overlap) < (b.chunk_tokens ?? CHUNK_DEFAULTS.tokens) / 2, {
    message: "chunk_overlap must be less than half of chunk_tokens",
    path: ["chunk_overlap"],
  })
  .refine((b) => b.chunking_strategy?.type !== "static" || (b.chunk_tokens === undefined && b.chunk_overlap === undefined), {
    message: "give the sizes of a static strategy in chunking_strategy.static, not chunk_tokens/chunk_overlap",
    path: ["chunking_strategy"],
  })
  .openapi("CreateCollection", {
    example: {
      name: "handbook",
      embedding_model: "@cf/baai/bge-m3",
      chunking_strategy: { type: "static", static: { max_chunk_size_tokens: 200, chunk_overlap_tokens: 50 } },
    },
  });

const PatchBody = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    chunking_strategy: ChunkingStrategySchema.optional().openapi({
      description: "Applies to later uploads and re-indexes; documents already indexed keep their chunks until re-indexed",
    }),
    embedding_model: EmbeddingModelSchema.optional().openapi({
      description: "Only the collection's own model is accepted: a model is fixed at creation (409 otherwise)",
    }),
  })
  .strict()
  .openapi("UpdateCollection", { example: { chunking_strategy: { type: "auto" } } });

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
const patch = defineRoute({
  method: "patch",
  path: "/v1/collections/{id}",
  access: { need: need.key("admin") },
  tags: ["Collections"],
  summary: "Change a collection's name or chunking (master key or `admin` scope); its embedding model is fixed (409)",
  request: { params: IdParam, body: jsonBody(PatchBody) },
  responses: { 200: json(CollectionSchema), ...errorResponses(400, 401, 403, 404, 409, 500) },
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
    const model = body.embedding_model;
    if (!modelAvailable(c.env, model)) {
      throw new ApiError(
        "unsupported_model",
        `embedding_model ${model} is not available on this deployment: it needs a Vectorize index of ${EMBEDDING_MODELS[model].dimensions} dimensions bound as ${EMBEDDING_MODELS[model].binding}`,
      );
    }
    const embedder = selectEmbedder(c.env, model);
    const strategy = body.chunking_strategy;
    const col = await createCollection(c.env.DB, {
      name: body.name,
      embedder: embedder.id,
      dimensions: embedder.dimensions,
      expiresAfter: body.expires_after ? JSON.stringify(body.expires_after) : null,
      embeddingModel: model,
      chunking: strategy?.type ?? "auto",
      chunkTokens: strategy?.type === "static" ? strategy.static.max_chunk_size_tokens : body.chunk_tokens,
      chunkOverlap: strategy?.type === "static" ? strategy.static.chunk_overlap_tokens : body.chunk_overlap,
      shards: body.shards,
    });
    return c.json(publicCollection(col, 0), 201);
  });

  app.openapi(patch, async (c) => {
    const p = await requireKeyOrMaster(c, "admin");
    const { id } = c.req.valid("param");
    assertCollectionAccess(p, id);
    const body = c.req.valid("json");
    const current = await requireCollection(c.env.DB, id);
    const model = embeddingModelOf(current);
    if (body.embedding_model !== undefined && body.embedding_model !== model) {
      throw new ApiError(
        "conflict",
        `A collection's embedding model is fixed at creation (this one uses ${model}): to use ${body.embedding_model}, create a new collection with embedding_model ${body.embedding_model} and upload (re-index) the documents into it`,
      );
    }
    const s = body.chunking_strategy;
    const updated = await updateCollectionSettings(c.env.DB, id, {
      name: body.name,
      chunking:
        s === undefined
          ? undefined
          : s.type === "static"
            ? { type: "static", tokens: s.static.max_chunk_size_tokens, overlap: s.static.chunk_overlap_tokens }
            : { type: "auto", tokens: CHUNK_DEFAULTS.tokens, overlap: CHUNK_DEFAULTS.overlap },
    });
    if (!updated) throw new ApiError("not_found", "Collection not found");
    await publishCollection(c.env, id);
    return c.json(publicCollection(updated, await countDocuments(c.env.DB, id)), 200);
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
    const [usage, all] = await Promise.all([
      usageReport(c.env, c.var.settings, id),
      Promise.all(shardStubs(c.env, col).map((s) => s.stats())),
    ]);
    // Every shard's counts summed (one shard: its own).
    const stats = all.reduce(
      (a, s) => ({ chunks: a.chunks + s.chunks, vectors: a.vectors + s.vectors, storageBytes: a.storageBytes + s.storageBytes }),
      {
        chunks: 0,
        vectors: 0,
        storageBytes: 0,
      },
    );
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
    const col = await requireCollection(c.env.DB, id);
    const documents = await countDocuments(c.env.DB, id);
    await revokeCollectionKeys(c.env, id); // its keys stop working and its sessions end, first
    // `deleting` at once, so nothing reads the collection from here on; the queue removes it page by page.
    await beginCollectionDeletion(c.env, id);
    // The endpoints' last event; they are removed once it is delivered (src/events/deliver.ts).
    await emitQuietly(c.env, id, "collection.deleted", { name: col.name, documents }, []);
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
