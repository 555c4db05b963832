import { newId } from "../util/crypto";
import { ApiError } from "../http/errors";

export interface Collection {
  id: string;
  name: string;
  embedder: string;
  dimensions: number;
  chunk_tokens: number;
  chunk_overlap: number;
  /** The embedding model asked for at creation (src/retrieval/models.ts); fixed for the collection's life. */
  embedding_model: string;
  /** `auto` (the structure-following chunker at chunk_tokens/chunk_overlap) or `static` (OpenAI's numbers). */
  chunking: "auto" | "static";
  version: number;
  /** `deleting`: removal is under way (through the queue); the collection reads as gone. */
  status: "active" | "deleting";
  /** JSON `{anchor, days}`: the default expiry of new documents (src/ingest/expiry.ts); null: none. */
  expires_after: string | null;
  /**
   * Index objects holding the collection (document-hash shards, src/retrieval/shards.ts), fixed at
   * creation; 1 by default. Optional: a mirrored row written before the column reads as 1.
   */
  shards?: number;
  created_at: number;
  updated_at: number;
}

export const CHUNK_DEFAULTS = { tokens: 400, overlap: 60 } as const;

/**
 * Chunking strategies in OpenAI's vector-store shape. `auto` is the structure-following chunker at
 * the collection's sizes (400 tokens, 60 overlap unless the collection was created with others);
 * `static` fixes the sizes: `max_chunk_size_tokens` 100–4096 and `chunk_overlap_tokens` at most
 * half of it (OpenAI's limits). Tokens are the chunker's estimate (tokens.ts), which errs high.
 */
export type ChunkingStrategy =
  | { type: "auto" }
  | { type: "static"; static: { max_chunk_size_tokens: number; chunk_overlap_tokens: number } };

export const STATIC_CHUNK_LIMITS = { minTokens: 100, maxTokens: 4096 } as const;

/** A collection's strategy as the API shows it. */
export function collectionStrategy(c: { chunking: "auto" | "static"; chunk_tokens: number; chunk_overlap: number }): ChunkingStrategy {
  return c.chunking === "static"
    ? { type: "static", static: { max_chunk_size_tokens: c.chunk_tokens, chunk_overlap_tokens: c.chunk_overlap } }
    : { type: "auto" };
}

const now = () => Math.floor(Date.now() / 1000);

export async function createCollection(
  db: D1Database,
  opts: {
    name: string;
    embedder: string;
    dimensions: number;
    embeddingModel: string;
    chunking?: "auto" | "static";
    chunkTokens?: number;
    chunkOverlap?: number;
    expiresAfter?: string | null;
    /** Document-hash shards (1 to MAX_SHARDS); 1 by default. */
    shards?: number;
  },
): Promise<Collection> {
  const t = now();
  const col: Collection = {
    id: newId("col"),
    name: opts.name,
    embedder: opts.embedder,
    dimensions: opts.dimensions,
    chunk_tokens: opts.chunkTokens ?? CHUNK_DEFAULTS.tokens,
    chunk_overlap: opts.chunkOverlap ?? CHUNK_DEFAULTS.overlap,
    embedding_model: opts.embeddingModel,
    chunking: opts.chunking ?? "auto",
    version: 0,
    status: "active",
    expires_after: opts.expiresAfter ?? null,
    shards: opts.shards ?? 1,
    created_at: t,
    updated_at: t,
  };
  await db
    .prepare(
      `INSERT INTO collections (id, name, embedder, dimensions, chunk_tokens, chunk_overlap, embedding_model, chunking, version, status, created_at, updated_at, expires_after, shards)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 'active', ?, ?, ?, ?)`,
    )
    .bind(
      col.id,
      col.name,
      col.embedder,
      col.dimensions,
      col.chunk_tokens,
      col.chunk_overlap,
      col.embedding_model,
      col.chunking,
      t,
      t,
      col.expires_after,
      col.shards,
    )
    .run();
  return col;
}

/** The catalogue row, whatever its status (the deletion path needs `deleting` ones too). */
export async function getCollectionRow(db: D1Database, id: string): Promise<Collection | null> {
  return db.prepare("SELECT * FROM collections WHERE id = ?").bind(id).first<Collection>();
}

/** An active collection, or null: one being deleted reads as gone. */
export async function getCollection(db: D1Database, id: string): Promise<Collection | null> {
  const col = await getCollectionRow(db, id);
  return col && col.status === "active" ? col : null;
}

export async function requireCollection(db: D1Database, id: string): Promise<Collection> {
  const col = await getCollection(db, id);
  if (!col) throw new ApiError("not_found", "Collection not found");
  return col;
}

/**
 * Changes the settings a collection may change after creation (its name and chunking, which apply
 * to later uploads and re-indexes); returns the row as it now is, or null when it is not active.
 */
export async function updateCollectionSettings(
  db: D1Database,
  id: string,
  patch: { name?: string; chunking?: { type: "auto" | "static"; tokens: number; overlap: number } },
): Promise<Collection | null> {
  const c = patch.chunking;
  return db
    .prepare(
      `UPDATE collections SET name = COALESCE(?1, name), chunking = COALESCE(?2, chunking), chunk_tokens = COALESCE(?3, chunk_tokens),
       chunk_overlap = COALESCE(?4, chunk_overlap), updated_at = ?5 WHERE id = ?6 AND status = 'active' RETURNING *`,
    )
    .bind(patch.name ?? null, c?.type ?? null, c?.tokens ?? null, c?.overlap ?? null, now(), id)
    .first<Collection>();
}

export function bumpVersionStatement(db: D1Database, collectionId: string): D1PreparedStatement {
  return db.prepare("UPDATE collections SET version = version + 1, updated_at = ? WHERE id = ?").bind(now(), collectionId);
}

export async function listCollections(
  db: D1Database,
  opts: { after: string; only: string | null; limit: number },
): Promise<(Collection & { document_count: number })[]> {
  const rows = await db
    .prepare(
      `SELECT c.*, (SELECT COUNT(*) FROM documents d WHERE d.collection_id = c.id) AS document_count FROM collections c
       WHERE c.status = 'active' AND c.id > ?1 AND (?2 IS NULL OR c.id = ?2) ORDER BY c.id LIMIT ?3`,
    )
    .bind(opts.after, opts.only, opts.limit)
    .all<Collection & { document_count: number }>();
  return rows.results;
}

/** Ids and creation times of active collections (all, or only `only`), for listings that need no counts. */
export async function activeCollectionIds(
  db: D1Database,
  opts: { only: string | null; limit: number },
): Promise<{ id: string; created_at: number }[]> {
  const rows = await db
    .prepare("SELECT id, created_at FROM collections WHERE status = 'active' AND (?1 IS NULL OR id = ?1) ORDER BY id LIMIT ?2")
    .bind(opts.only, opts.limit)
    .all<{ id: string; created_at: number }>();
  return rows.results;
}

export async function countDocuments(db: D1Database, collectionId: string): Promise<number> {
  const row = await db.prepare("SELECT COUNT(*) AS n FROM documents WHERE collection_id = ?").bind(collectionId).first<{ n: number }>();
  return row?.n ?? 0;
}

/** Marks a collection `deleting` (and bumps its version); returns the row as it now is, or null. */
export async function markCollectionDeleting(db: D1Database, id: string): Promise<Collection | null> {
  return db
    .prepare(
      "UPDATE collections SET status = 'deleting', version = version + 1, updated_at = ? WHERE id = ? AND status = 'active' RETURNING *",
    )
    .bind(now(), id)
    .first<Collection>();
}

export async function deleteCollectionRow(db: D1Database, id: string): Promise<void> {
  await db.prepare("DELETE FROM collections WHERE id = ?").bind(id).run();
}

/** Collections left `deleting` since before `cutoff` (their deletion message was lost); touched so they are not picked again at once. */
export async function stuckDeletions(db: D1Database, t: number, cutoff: number, limit: number): Promise<string[]> {
  const res = await db
    .prepare(
      "UPDATE collections SET updated_at = ?1 WHERE id IN (SELECT id FROM collections WHERE status = 'deleting' AND updated_at < ?2 LIMIT ?3) RETURNING id",
    )
    .bind(t, cutoff, limit)
    .all<{ id: string }>();
  return res.results.map((r) => r.id);
}
