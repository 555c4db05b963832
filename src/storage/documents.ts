import { bumpVersionStatement, type ChunkingStrategy, type Collection } from "./collections";
import { ApiError } from "../http/errors";

export type DocumentStatus = "queued" | "processing" | "ready" | "failed";

export interface DocumentRow {
  id: string;
  collection_id: string;
  name: string;
  content_type: string;
  kind: string;
  size: number;
  sha256: string;
  r2_key: string;
  status: DocumentStatus;
  error_code: string | null;
  error_message: string | null;
  chunk_count: number;
  char_count: number;
  pages: number | null;
  metadata: string;
  generation: number;
  pending_vectors: number;
  /** The chunking strategy given with the upload (JSON, OpenAI's shape); null = the collection's. */
  chunking: string | null;
  created_at: number;
  updated_at: number;
  /** When the expiry sweeper deletes the document (epoch seconds); null: never. */
  expires_at: number | null;
  /** Set for a `last_active_at` expiry: activity on the document moves `expires_at` to now + this. */
  expiry_slide_seconds: number | null;
}

/** R2 layout: one object per original upload, under its collection. */
export function originalKey(collectionId: string, documentId: string): string {
  return `collections/${collectionId}/documents/${documentId}/original`;
}

/** A document of an active collection (one being deleted reads as gone, with its documents). */
export async function getDocument(db: D1Database, collectionId: string, id: string): Promise<DocumentRow | null> {
  return db
    .prepare(
      "SELECT d.* FROM documents d JOIN collections c ON c.id = d.collection_id WHERE d.id = ? AND d.collection_id = ? AND c.status = 'active'",
    )
    .bind(id, collectionId)
    .first<DocumentRow>();
}

export async function requireDocument(db: D1Database, collectionId: string, id: string): Promise<DocumentRow> {
  const doc = await getDocument(db, collectionId, id);
  if (!doc) throw new ApiError("not_found", "Document not found");
  return doc;
}

export function publicDocument(d: DocumentRow) {
  return {
    id: d.id,
    collection_id: d.collection_id,
    name: d.name,
    content_type: d.content_type,
    kind: d.kind,
    size: d.size,
    sha256: d.sha256,
    status: d.status,
    error: d.error_code ? { code: d.error_code, message: d.error_message ?? "" } : null,
    chunk_count: d.chunk_count,
    char_count: d.char_count,
    pages: d.pages,
    metadata: JSON.parse(d.metadata) as Record<string, unknown>,
    // Only when the upload asked for its own; otherwise the collection's applies.
    chunking_strategy: d.chunking ? (JSON.parse(d.chunking) as ChunkingStrategy) : null,
    created_at: new Date(d.created_at * 1000).toISOString(),
    updated_at: new Date(d.updated_at * 1000).toISOString(),
    expires_at: d.expires_at === null || d.expires_at === undefined ? null : new Date(d.expires_at * 1000).toISOString(),
  };
}
export type PublicDocument = ReturnType<typeof publicDocument>;

// --- Catalogue SQL for documents (D1). The chunks themselves live in the collection index object. ---

const now = () => Math.floor(Date.now() / 1000);

export async function getDocumentById(db: D1Database, id: string): Promise<DocumentRow | null> {
  return db.prepare("SELECT * FROM documents WHERE id = ?").bind(id).first<DocumentRow>();
}

export async function findDocumentBySha(db: D1Database, collectionId: string, sha256: string): Promise<DocumentRow | null> {
  return db.prepare("SELECT * FROM documents WHERE collection_id = ? AND sha256 = ?").bind(collectionId, sha256).first<DocumentRow>();
}

/** Inserts a `queued` row; false when the same bytes already exist in the collection (a concurrent upload won). */
export async function insertQueuedDocument(db: D1Database, doc: DocumentRow): Promise<boolean> {
  const res = await db
    .prepare(
      `INSERT INTO documents (id, collection_id, name, content_type, kind, size, sha256, r2_key, status, metadata, generation, chunking, created_at, updated_at,
       expires_at, expiry_slide_seconds)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, 1, ?, ?, ?, ?, ?) ON CONFLICT (collection_id, sha256) DO NOTHING`,
    )
    .bind(
      doc.id,
      doc.collection_id,
      doc.name,
      doc.content_type,
      doc.kind,
      doc.size,
      doc.sha256,
      doc.r2_key,
      doc.metadata,
      doc.chunking,
      doc.created_at,
      doc.updated_at,
      doc.expires_at ?? null,
      doc.expiry_slide_seconds ?? null,
    )
    .run();
  return res.meta.changes > 0;
}

export async function deleteDocumentRow(db: D1Database, id: string): Promise<void> {
  await db.prepare("DELETE FROM documents WHERE id = ?").bind(id).run();
}

export async function markProcessing(db: D1Database, id: string, generation: number): Promise<void> {
  await db
    .prepare("UPDATE documents SET status = 'processing', updated_at = ? WHERE id = ? AND generation = ?")
    .bind(now(), id, generation)
    .run();
}

/** Vectors (Vectorize) written for this document and not yet confirmed by a commit: crash recovery. */
export async function setPendingVectors(db: D1Database, id: string, n: number): Promise<void> {
  await db.prepare("UPDATE documents SET pending_vectors = ? WHERE id = ?").bind(n, id).run();
}

export function markReadyStatement(
  db: D1Database,
  id: string,
  generation: number,
  r: { chunkCount: number; charCount: number; pages: number | null },
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE documents SET status = 'ready', chunk_count = ?, char_count = ?, pages = ?, pending_vectors = 0,
       error_code = NULL, error_message = NULL, updated_at = ? WHERE id = ? AND generation = ?`,
    )
    .bind(r.chunkCount, r.charCount, r.pages, now(), id, generation);
}

/**
 * A transient failure: the document stays `queued` (with its last error) while the queue retries.
 * `chunk_count` stays that of the generation still live in the index (a failed re-index keeps it).
 */
export async function markRetrying(db: D1Database, id: string, generation: number, code: string): Promise<void> {
  await db
    .prepare(
      `UPDATE documents SET status = 'queued', error_code = ?, error_message = 'Indexing failed; it will be retried', pending_vectors = 0,
       updated_at = ? WHERE id = ? AND generation = ?`,
    )
    .bind(code, now(), id, generation)
    .run();
}

/** For good: a permanent error, or the dead-letter queue after the last retry (`chunk_count`: as in markRetrying). */
export async function markFailedRow(db: D1Database, id: string, generation: number, code: string, message: string): Promise<void> {
  await db
    .prepare(
      `UPDATE documents SET status = 'failed', error_code = ?, error_message = ?, pending_vectors = 0, updated_at = ?
       WHERE id = ? AND generation = ?`,
    )
    .bind(code, message, now(), id, generation)
    .run();
}

/** A new generation makes any in-flight message for the old one stale. */
export async function requeueDocumentRow(db: D1Database, id: string): Promise<number | null> {
  const res = await db
    .prepare(
      "UPDATE documents SET status = 'queued', generation = generation + 1, error_code = NULL, error_message = NULL, updated_at = ? WHERE id = ? RETURNING generation",
    )
    .bind(now(), id)
    .first<{ generation: number }>();
  return res?.generation ?? null;
}

/** Re-queues one page of a collection (ids after `after`), returning the new generations. */
export async function requeueCollectionPage(
  db: D1Database,
  collectionId: string,
  after: string,
  limit: number,
): Promise<{ id: string; generation: number }[]> {
  const res = await db
    .prepare(
      `UPDATE documents SET status = 'queued', generation = generation + 1, error_code = NULL, error_message = NULL, updated_at = ?1
       WHERE id IN (SELECT id FROM documents WHERE collection_id = ?2 AND id > ?3 ORDER BY id LIMIT ?4)
       RETURNING id, generation`,
    )
    .bind(now(), collectionId, after, limit)
    .all<{ id: string; generation: number }>();
  return res.results.sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** Documents stuck in `queued`/`processing` since before `cutoff` get a new generation. */
export async function requeueStuck(
  db: D1Database,
  t: number,
  cutoff: number,
  limit: number,
): Promise<{ id: string; generation: number }[]> {
  const res = await db
    .prepare(
      `UPDATE documents SET generation = generation + 1, status = 'queued', updated_at = ?1
       WHERE id IN (SELECT id FROM documents WHERE status IN ('queued', 'processing') AND updated_at < ?2 LIMIT ?3)
       RETURNING id, generation`,
    )
    .bind(t, cutoff, limit)
    .all<{ id: string; generation: number }>();
  return res.results;
}

export async function documentsPage(db: D1Database, collectionId: string, limit: number): Promise<DocumentRow[]> {
  const res = await db
    .prepare("SELECT * FROM documents WHERE collection_id = ? ORDER BY id LIMIT ?")
    .bind(collectionId, limit)
    .all<DocumentRow>();
  return res.results;
}

export async function deleteDocumentRows(db: D1Database, ids: string[]): Promise<void> {
  await db.prepare("DELETE FROM documents WHERE id IN (SELECT value FROM json_each(?))").bind(JSON.stringify(ids)).run();
}

/**
 * Marks the index messages' documents `processing` and loads them with their collections in one
 * batch (two statements) instead of round trips per document.
 */
export async function claimDocuments(
  db: D1Database,
  documentIds: string[],
): Promise<{ docs: DocumentRow[]; collections: Map<string, Collection> }> {
  const ids = JSON.stringify([...new Set(documentIds)]);
  const [docs, cols] = await db.batch<DocumentRow | Collection>([
    db
      .prepare(
        "UPDATE documents SET status = 'processing', updated_at = ? WHERE id IN (SELECT value FROM json_each(?)) AND status != 'ready' RETURNING *",
      )
      .bind(now(), ids),
    db
      .prepare("SELECT * FROM collections WHERE id IN (SELECT collection_id FROM documents WHERE id IN (SELECT value FROM json_each(?)))")
      .bind(ids),
  ]);
  return {
    docs: docs.results as DocumentRow[],
    collections: new Map((cols.results as Collection[]).map((c) => [c.id, c])),
  };
}

/**
 * A condition over the `documents` table (columns `id`, `metadata`) with its bound values, from
 * src/retrieval/scope.ts `scopeSql`: what the caller's key may see. Appended to listings as is.
 */
export interface RowScope {
  sql: string;
  params: unknown[];
}

export async function listDocuments(
  db: D1Database,
  collectionId: string,
  q: { cursor?: string; status?: DocumentStatus; limit: number; scope?: RowScope | null },
): Promise<{ rows: DocumentRow[]; counts: Record<string, number> }> {
  // Anonymous parameters only, in order: the scope's own follow the listing's.
  const scoped = q.scope ? ` AND (${q.scope.sql})` : "";
  const scopeParams = q.scope?.params ?? [];
  const status = q.status ?? null;
  const [rows, counts] = await db.batch<DocumentRow | { status: string; n: number }>([
    db
      .prepare(`SELECT * FROM documents WHERE collection_id = ? AND id > ? AND (? IS NULL OR status = ?)${scoped} ORDER BY id LIMIT ?`)
      .bind(collectionId, q.cursor ?? "", status, status, ...scopeParams, q.limit),
    db
      .prepare(`SELECT status, COUNT(*) AS n FROM documents WHERE collection_id = ?${scoped} GROUP BY status`)
      .bind(collectionId, ...scopeParams),
  ]);
  return {
    rows: rows.results as DocumentRow[],
    counts: Object.fromEntries((counts.results as { status: string; n: number }[]).map((r) => [r.status, r.n])),
  };
}

/**
 * Marks a document `ready` at its generation and bumps its collection's version, in one batch.
 * False when the row moved on meanwhile (deleted, or re-queued at a newer generation).
 */
export async function commitReady(
  db: D1Database,
  doc: { id: string; collection_id: string },
  generation: number,
  r: { chunkCount: number; charCount: number; pages: number | null },
): Promise<boolean> {
  const results = await db.batch([
    markReadyStatement(db, doc.id, generation, r),
    // Only a commit that landed changes what readers see (a stale one must not invalidate caches).
    db
      .prepare(
        `UPDATE collections SET version = version + 1, updated_at = ?1 WHERE id = ?2
         AND EXISTS (SELECT 1 FROM documents WHERE id = ?3 AND generation = ?4 AND status = 'ready')`,
      )
      .bind(now(), doc.collection_id, doc.id, generation),
  ]);
  return results[0].meta.changes > 0;
}

/** Removes a document's row and bumps its collection's version, in one batch. */
export async function deleteDocumentAndBump(db: D1Database, doc: { id: string; collection_id: string }): Promise<void> {
  await db.batch([db.prepare("DELETE FROM documents WHERE id = ?").bind(doc.id), bumpVersionStatement(db, doc.collection_id)]);
}

/** The one collection holding every one of these documents, or null (unknown ids, several collections). */
export async function soleCollectionOf(db: D1Database, documentIds: string[]): Promise<string | null> {
  if (documentIds.length === 0) return null;
  const row = await db
    .prepare(
      `SELECT COUNT(*) AS n, COUNT(DISTINCT collection_id) AS collections, MIN(collection_id) AS collection_id
       FROM documents WHERE id IN (SELECT value FROM json_each(?1))`,
    )
    .bind(JSON.stringify(documentIds))
    .first<{ n: number; collections: number; collection_id: string | null }>();
  return row && row.n === documentIds.length && row.collections === 1 ? row.collection_id : null;
}

export interface CollectionUsage {
  documents: number;
  bytes: number;
  chunks: number;
}

/** What a collection holds now: documents, original bytes and indexed chunks (one query). */
export async function collectionUsage(db: D1Database, collectionId: string): Promise<CollectionUsage> {
  const row = await db
    .prepare(
      "SELECT COUNT(*) AS documents, COALESCE(SUM(size), 0) AS bytes, COALESCE(SUM(chunk_count), 0) AS chunks FROM documents WHERE collection_id = ?",
    )
    .bind(collectionId)
    .first<CollectionUsage>();
  return { documents: row?.documents ?? 0, bytes: row?.bytes ?? 0, chunks: row?.chunks ?? 0 };
}

/** The metadata JSON of some documents of a collection, by id. */
export async function documentMetadata(db: D1Database, collectionId: string, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .prepare("SELECT id, metadata FROM documents WHERE collection_id = ? AND id IN (SELECT value FROM json_each(?))")
    .bind(collectionId, JSON.stringify(ids))
    .all<{ id: string; metadata: string }>();
  return new Map(rows.results.map((r) => [r.id, r.metadata]));
}

/** A page of a collection's documents by id (id, name, status, chunk count, metadata JSON). */
export async function documentSummaries(
  db: D1Database,
  collectionId: string,
  after: string,
  limit: number,
  scope?: RowScope | null,
): Promise<{ id: string; name: string; status: string; chunk_count: number; metadata: string }[]> {
  const scoped = scope ? ` AND (${scope.sql})` : "";
  const rows = await db
    .prepare(
      `SELECT id, name, status, chunk_count, metadata FROM documents WHERE collection_id = ? AND id > ?${scoped} ORDER BY id LIMIT ?`,
    )
    .bind(collectionId, after, ...(scope?.params ?? []), limit)
    .all<{ id: string; name: string; status: string; chunk_count: number; metadata: string }>();
  return rows.results;
}

/**
 * Activity on a document whose expiry is anchored on its last activity (`expiry_slide_seconds` set)
 * moves its expiry to `now` + the slide; other documents are untouched. Callers skip the call for
 * documents without a slide, so it costs nothing where expiry does not slide.
 */
export async function touchDocumentExpiry(db: D1Database, id: string, t: number): Promise<void> {
  await db
    .prepare("UPDATE documents SET expires_at = ?1 + expiry_slide_seconds WHERE id = ?2 AND expiry_slide_seconds IS NOT NULL")
    .bind(t, id)
    .run();
}

/**
 * Documents of active collections whose expiry has passed at `t`, oldest expiry first, at most
 * `limit` (a collection being deleted is removed by its own deletion, not here).
 */
export async function expiredDocuments(db: D1Database, t: number, limit: number): Promise<DocumentRow[]> {
  const res = await db
    .prepare(
      `SELECT d.* FROM documents d JOIN collections c ON c.id = d.collection_id
       WHERE d.expires_at IS NOT NULL AND d.expires_at <= ? AND c.status = 'active' ORDER BY d.expires_at, d.id LIMIT ?`,
    )
    .bind(t, limit)
    .all<DocumentRow>();
  return res.results;
}
