import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { assertCollectionAccess, requireKeyOrMaster, requireMaster } from "../auth/authenticate";
import { revokeCollectionKeys } from "../auth/keys";
import { claimReindex, UsageSchema, usageReport } from "../auth/quotas";
import type { AppEnv } from "../http/context";
import { ApiError } from "../http/errors";
import { errorResponses, json, jsonBody } from "../http/schemas";
import { deleteCollectionEverywhere, requeueDocument } from "../ingest/pipeline";
import { enqueueAll, type IngestMessage } from "../ingest/queue";
import { selectEmbedder } from "../retrieval/providers";
import { type Collection, createCollection, requireCollection } from "../storage/collections";
import type { DocumentRow } from "../storage/documents";

export const CollectionSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    embedder: z.string(),
    dimensions: z.number(),
    chunk_tokens: z.number(),
    chunk_overlap: z.number(),
    version: z.number(),
    document_count: z.number().optional(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Collection");

export function publicCollection(c: Collection, documentCount?: number) {
  return {
    ...c,
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
  })
  .refine((b) => b.chunk_overlap < b.chunk_tokens / 2, {
    message: "chunk_overlap must be less than half of chunk_tokens",
    path: ["chunk_overlap"],
  })
  .openapi("CreateCollection", { example: { name: "handbook", chunk_tokens: 400, chunk_overlap: 60 } });

const IdParam = z.object({ id: z.string().min(1).max(64) });

const create = createRoute({
  method: "post",
  path: "/v1/collections",
  tags: ["Collections"],
  summary: "Create a collection (master key)",
  request: { body: jsonBody(CreateBody) },
  responses: { 201: json(CollectionSchema, "Created"), ...errorResponses(400, 401, 500) },
});
const list = createRoute({
  method: "get",
  path: "/v1/collections",
  tags: ["Collections"],
  summary: "List collections (master: all; temporary key: its own)",
  request: { query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(50), cursor: z.string().max(64).optional() }) },
  responses: {
    200: json(z.object({ collections: z.array(CollectionSchema), next_cursor: z.string().nullable() })),
    ...errorResponses(400, 401, 500),
  },
});
const get = createRoute({
  method: "get",
  path: "/v1/collections/{id}",
  tags: ["Collections"],
  summary: "Get a collection, with its usage against the quotas",
  request: { params: IdParam },
  responses: { 200: json(CollectionSchema.extend({ usage: UsageSchema })), ...errorResponses(401, 404, 500) },
});
const del = createRoute({
  method: "delete",
  path: "/v1/collections/{id}",
  tags: ["Collections"],
  summary: "Delete a collection and everything in it (master key)",
  request: { params: IdParam },
  responses: {
    200: json(z.object({ id: z.string(), deleted: z.literal(true), documents_deleted: z.number() })),
    ...errorResponses(401, 404, 500),
  },
});
const reindex = createRoute({
  method: "post",
  path: "/v1/collections/{id}/reindex",
  tags: ["Collections"],
  summary: "Re-index every document of a collection (queued)",
  request: { params: IdParam },
  responses: { 202: json(z.object({ id: z.string(), queued: z.number() })), ...errorResponses(401, 403, 404, 500) },
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
    });
    return c.json(publicCollection(col, 0), 201);
  });

  app.openapi(list, async (c) => {
    const p = await requireKeyOrMaster(c, "read");
    const q = c.req.valid("query");
    const own = p.kind === "key" ? p.key.collection_id : null;
    const rows = await c.env.DB.prepare(
      `SELECT c.*, (SELECT COUNT(*) FROM documents d WHERE d.collection_id = c.id) AS document_count FROM collections c
       WHERE c.id > ?1 AND (?2 IS NULL OR c.id = ?2) ORDER BY c.id LIMIT ?3`,
    )
      .bind(q.cursor ?? "", p.kind === "master" ? null : (own ?? "\u0000none"), q.limit + 1)
      .all<Collection & { document_count: number }>();
    const page = rows.results.slice(0, q.limit);
    return c.json(
      {
        collections: page.map((r) => publicCollection(r, r.document_count)),
        next_cursor: rows.results.length > q.limit ? (page[page.length - 1]?.id ?? null) : null,
      },
      200,
    );
  });

  app.openapi(get, async (c) => {
    const p = await requireKeyOrMaster(c, "read");
    const { id } = c.req.valid("param");
    assertCollectionAccess(p, id);
    const col = await requireCollection(c.env.DB, id);
    const count = await c.env.DB.prepare("SELECT COUNT(*) AS n FROM documents WHERE collection_id = ?").bind(id).first<{ n: number }>();
    return c.json({ ...publicCollection(col, count?.n ?? 0), usage: await usageReport(c.env, c.var.settings, id) }, 200);
  });

  app.openapi(del, async (c) => {
    await requireMaster(c);
    const { id } = c.req.valid("param");
    const col = await requireCollection(c.env.DB, id);
    await revokeCollectionKeys(c.env, id); // its keys stop working and its sessions end, first
    const n = await deleteCollectionEverywhere(c.env, col);
    return c.json({ id, deleted: true as const, documents_deleted: n }, 200);
  });

  app.openapi(reindex, async (c) => {
    const p = await requireKeyOrMaster(c, "write");
    const { id } = c.req.valid("param");
    assertCollectionAccess(p, id);
    await requireCollection(c.env.DB, id);
    await claimReindex(c.env, c.var.settings, id);
    const docs = await c.env.DB.prepare("SELECT * FROM documents WHERE collection_id = ?").bind(id).all<DocumentRow>();
    const messages: IngestMessage[] = [];
    for (const d of docs.results) {
      messages.push({ type: "index", document_id: d.id, generation: await requeueDocument(c.env, d) });
    }
    if (messages.length > 0) {
      try {
        await enqueueAll(c.env, messages);
      } catch (err) {
        throw new ApiError("unavailable", "Could not queue the re-index; try again", { cause: err });
      }
    }
    return c.json({ id, queued: messages.length }, 202);
  });
}
