import { newId, sha256Hex } from "../auth/crypto";
import type { Settings } from "../config";
import { ApiError } from "../http/errors";
import { chunkText } from "../retrieval/chunker";
import { selectEmbedder, selectVectorIndex } from "../retrieval/providers";
import { type Embedder, vectorId } from "../retrieval/types";
import { bumpVersionStatement, type Collection } from "../storage/collections";
import { type DocumentRow, originalKey } from "../storage/documents";
import { detectKind, extract } from "./extract";

export interface UploadInput {
  name: string;
  bytes: Uint8Array;
  contentType: string | null;
  metadata?: Record<string, unknown>;
}

export interface Accepted {
  document: DocumentRow;
  duplicate: boolean;
}

const now = () => Math.floor(Date.now() / 1000);

/** Refuses to mix vectors of two models in one collection. */
export function activeEmbedderFor(env: Env, collection: Collection): Embedder {
  const embedder = selectEmbedder(env);
  if (embedder.id !== collection.embedder || embedder.dimensions !== collection.dimensions) {
    throw new ApiError(
      "embedder_mismatch",
      `Collection was indexed with ${collection.embedder} (${collection.dimensions} dimensions) but the active embedder is ${embedder.id} (${embedder.dimensions}); re-create the collection to switch models`,
    );
  }
  return embedder;
}

/**
 * Validates and stores one upload: D1 row first (status `queued`), then the R2 object. If the R2
 * write fails the row is removed again, so no store holds half an upload. Same bytes in the same
 * collection are a duplicate: the existing document is returned.
 */
export async function acceptUpload(env: Env, settings: Settings, collection: Collection, input: UploadInput): Promise<Accepted> {
  if (input.bytes.byteLength > settings.MAX_UPLOAD_BYTES) {
    throw new ApiError("payload_too_large", `File is larger than the limit of ${settings.MAX_UPLOAD_BYTES} bytes`);
  }
  const kind = detectKind(input.bytes, input.name, input.contentType);
  const sha256 = await sha256Hex(input.bytes);
  const existing = await env.DB.prepare("SELECT * FROM documents WHERE collection_id = ? AND sha256 = ?")
    .bind(collection.id, sha256)
    .first<DocumentRow>();
  if (existing) return { document: existing, duplicate: true };

  const id = newId("doc");
  const t = now();
  const doc: DocumentRow = {
    id,
    collection_id: collection.id,
    name: input.name.slice(0, 512),
    content_type: input.contentType || "application/octet-stream",
    kind,
    size: input.bytes.byteLength,
    sha256,
    r2_key: originalKey(collection.id, id),
    status: "queued",
    error_code: null,
    error_message: null,
    chunk_count: 0,
    char_count: 0,
    pages: null,
    metadata: JSON.stringify(input.metadata ?? {}),
    generation: 1,
    pending_vectors: 0,
    created_at: t,
    updated_at: t,
  };
  const inserted = await env.DB.prepare(
    `INSERT INTO documents (id, collection_id, name, content_type, kind, size, sha256, r2_key, status, metadata, generation, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, 1, ?, ?) ON CONFLICT (collection_id, sha256) DO NOTHING`,
  )
    .bind(doc.id, doc.collection_id, doc.name, doc.content_type, kind, doc.size, sha256, doc.r2_key, doc.metadata, t, t)
    .run();
  if (inserted.meta.changes === 0) {
    // A concurrent upload of the same bytes won the race.
    const winner = await env.DB.prepare("SELECT * FROM documents WHERE collection_id = ? AND sha256 = ?")
      .bind(collection.id, sha256)
      .first<DocumentRow>();
    if (winner) return { document: winner, duplicate: true };
  }
  try {
    await env.DOCUMENTS.put(doc.r2_key, input.bytes, {
      httpMetadata: { contentType: doc.content_type },
      customMetadata: { name: encodeURIComponent(doc.name), sha256, collection_id: collection.id },
      sha256,
    });
  } catch (err) {
    await env.DB.prepare("DELETE FROM documents WHERE id = ?").bind(id).run();
    throw new ApiError("unavailable", "Could not store the upload; try again", { cause: err });
  }
  return { document: doc, duplicate: false };
}

/** Removes an accepted upload that could not be queued (the client is told it failed). */
export async function discardUpload(env: Env, doc: DocumentRow): Promise<void> {
  await env.DOCUMENTS.delete(doc.r2_key);
  await env.DB.prepare("DELETE FROM documents WHERE id = ?").bind(doc.id).run();
}

export interface IndexResult {
  status: "ready" | "failed" | "stale";
  chunkCount: number;
  /** Document-level vector (mean of its chunk vectors), for the original's /make_embedding. */
  documentVector?: Float32Array;
  text?: string;
  error?: ApiError;
}

/** Errors of the document itself (bad bytes): retrying cannot help. */
function isPermanent(err: unknown): err is ApiError {
  return err instanceof ApiError && err.status < 500;
}

function meanVector(vectors: Float32Array[], dims: number): Float32Array {
  const out = new Float32Array(dims);
  for (const v of vectors) for (let i = 0; i < dims; i++) out[i] += v[i];
  let norm = 0;
  for (let i = 0; i < dims; i++) norm += out[i] * out[i];
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < dims; i++) out[i] /= norm;
  return out;
}

const CHUNK_COLS = 10;
const ROWS_PER_INSERT = Math.floor(100 / CHUNK_COLS); // D1 allows at most 100 bound parameters a statement

/**
 * Extracts, chunks, embeds and indexes one document. Vectors are written first; the chunks (and
 * with them the keyword index) are committed in one D1 transaction together with `ready`. Any
 * failure removes the vectors again and leaves the document `failed` with no searchable chunk.
 * Transient failures are rethrown so the queue retries with backoff; a redelivered message for a
 * document already `ready` at the same generation is a no-op.
 */
export async function indexDocument(
  env: Env,
  documentId: string,
  generation: number,
  opts: {
    precomputed?: Float32Array[];
    keepText?: boolean;
    /** Row and collection already loaded, and the row already marked `processing` (queue batches do this in bulk). */
    loaded?: { doc: DocumentRow; collection: Collection };
  } = {},
): Promise<IndexResult> {
  const doc = opts.loaded?.doc ?? (await env.DB.prepare("SELECT * FROM documents WHERE id = ?").bind(documentId).first<DocumentRow>());
  if (!doc || doc.generation !== generation) return { status: "stale", chunkCount: 0 };
  if (doc.status === "ready") return { status: "ready", chunkCount: doc.chunk_count };
  const collection =
    opts.loaded?.collection ?? (await env.DB.prepare("SELECT * FROM collections WHERE id = ?").bind(doc.collection_id).first<Collection>());
  if (!collection) return { status: "stale", chunkCount: 0 };

  const index = selectVectorIndex(env);
  // A previous attempt may have written vectors (and a previous generation more chunks than now).
  const previous = Math.max(doc.pending_vectors, doc.chunk_count);
  let written = 0;
  try {
    const embedder = activeEmbedderFor(env, collection);
    if (!opts.loaded) {
      await env.DB.prepare("UPDATE documents SET status = 'processing', updated_at = ? WHERE id = ? AND generation = ?")
        .bind(now(), doc.id, generation)
        .run();
    }
    const obj = await env.DOCUMENTS.get(doc.r2_key);
    if (!obj) throw new ApiError("corrupt_document", "The stored original of this document is missing; upload it again");
    const bytes = new Uint8Array(await obj.arrayBuffer());
    const extracted = await extract(bytes, { name: doc.name, contentType: doc.content_type });
    const chunks = chunkText(extracted, { maxTokens: collection.chunk_tokens, overlapTokens: collection.chunk_overlap });
    if (chunks.length === 0) throw new ApiError("empty_document", "The document contains no text");

    let vectors: Float32Array[];
    if (opts.precomputed && opts.precomputed.length === chunks.length) {
      vectors = opts.precomputed;
    } else {
      vectors = [];
      for (let i = 0; i < chunks.length; i += embedder.maxBatch) {
        vectors.push(
          ...(await embedder.embed(
            chunks.slice(i, i + embedder.maxBatch).map((ch) => ch.text),
            "document",
          )),
        );
      }
    }

    const upto = Math.max(previous, chunks.length);
    await env.DB.prepare("UPDATE documents SET pending_vectors = ? WHERE id = ?").bind(upto, doc.id).run();
    written = upto;
    const records = chunks.map((ch, i) => ({
      id: vectorId(doc.id, ch.ordinal),
      values: vectors[i],
      documentId: doc.id,
      ordinal: ch.ordinal,
    }));
    for (let i = 0; i < records.length; i += 1000) await index.upsert(collection.id, records.slice(i, i + 1000));
    if (previous > chunks.length) {
      await index.deleteByIds(
        collection.id,
        Array.from({ length: previous - chunks.length }, (_, k) => vectorId(doc.id, chunks.length + k)),
      );
    }

    const t = now();
    const statements: D1PreparedStatement[] = [env.DB.prepare("DELETE FROM chunks WHERE document_id = ?").bind(doc.id)];
    for (let i = 0; i < chunks.length; i += ROWS_PER_INSERT) {
      const rows = chunks.slice(i, i + ROWS_PER_INSERT);
      const values: unknown[] = [];
      for (const ch of rows) {
        values.push(collection.id, doc.id, ch.ordinal, ch.text, ch.start, ch.end, ch.page, ch.heading, ch.tokens, null);
      }
      statements.push(
        env.DB.prepare(
          `INSERT INTO chunks (collection_id, document_id, ordinal, text, char_start, char_end, page, heading, token_count, id) VALUES ${rows
            .map(() => "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .join(", ")}`,
        ).bind(...values),
      );
    }
    statements.push(
      env.DB.prepare(
        `UPDATE documents SET status = 'ready', chunk_count = ?, char_count = ?, pages = ?, pending_vectors = 0,
         error_code = NULL, error_message = NULL, updated_at = ? WHERE id = ? AND generation = ?`,
      ).bind(chunks.length, extracted.text.length, extracted.pages?.length ?? null, t, doc.id, generation),
      bumpVersionStatement(env.DB, collection.id),
    );
    const results = await env.DB.batch(statements);
    const updated = results[results.length - 2];
    if (updated.meta.changes === 0) {
      // Deleted or re-queued while we worked: undo our chunks and vectors, the newer request wins.
      await env.DB.prepare(
        "DELETE FROM chunks WHERE document_id = ? AND NOT EXISTS (SELECT 1 FROM documents WHERE id = ? AND generation = ?)",
      )
        .bind(doc.id, doc.id, generation)
        .run();
      const current = await env.DB.prepare("SELECT generation FROM documents WHERE id = ?").bind(doc.id).first<{ generation: number }>();
      if (!current)
        await index.deleteByIds(
          collection.id,
          records.map((r) => r.id),
        );
      return { status: "stale", chunkCount: 0 };
    }
    return {
      status: "ready",
      chunkCount: chunks.length,
      documentVector: meanVector(vectors, embedder.dimensions),
      text: opts.keepText ? extracted.text : undefined,
    };
  } catch (err) {
    if (written > 0) {
      await index.deleteByIds(
        collection.id,
        Array.from({ length: written }, (_, k) => vectorId(doc.id, k)),
      );
    }
    const apiErr = isPermanent(err)
      ? err
      : err instanceof ApiError
        ? err
        : new ApiError("internal_error", "Indexing failed", { cause: err });
    await markFailed(env, doc.id, generation, apiErr);
    if (!isPermanent(err)) throw err; // transient: let the queue retry (the row says failed until then)
    return { status: "failed", chunkCount: 0, error: apiErr };
  }
}

export async function markFailed(env: Env, documentId: string, generation: number, err: ApiError): Promise<void> {
  await env.DB.batch([
    env.DB.prepare("DELETE FROM chunks WHERE document_id = ?").bind(documentId),
    env.DB.prepare(
      `UPDATE documents SET status = 'failed', error_code = ?, error_message = ?, chunk_count = 0, pending_vectors = 0, updated_at = ?
       WHERE id = ? AND generation = ?`,
    ).bind(err.code, err.status >= 500 ? "Indexing failed; it will be retried" : err.message, now(), documentId, generation),
  ]);
}

/** Re-queues a document: a new generation makes any in-flight message for the old one stale. */
export async function requeueDocument(env: Env, doc: DocumentRow): Promise<number> {
  const res = await env.DB.prepare(
    "UPDATE documents SET status = 'queued', generation = generation + 1, error_code = NULL, error_message = NULL, updated_at = ? WHERE id = ? RETURNING generation",
  )
    .bind(now(), doc.id)
    .first<{ generation: number }>();
  return res?.generation ?? doc.generation + 1;
}

/**
 * Deletes a document from every store: vectors (every id it may have written), the R2 original,
 * then the chunks, keyword rows and the row itself in one transaction. Each step is idempotent,
 * so a retry after a crash finishes the job.
 */
export async function deleteDocument(env: Env, doc: DocumentRow): Promise<void> {
  const n = Math.max(doc.chunk_count, doc.pending_vectors);
  if (n > 0) {
    await selectVectorIndex(env).deleteByIds(
      doc.collection_id,
      Array.from({ length: n }, (_, k) => vectorId(doc.id, k)),
    );
  }
  await env.DOCUMENTS.delete(doc.r2_key);
  await env.DB.batch([
    env.DB.prepare("DELETE FROM chunks WHERE document_id = ?").bind(doc.id),
    env.DB.prepare("DELETE FROM documents WHERE id = ?").bind(doc.id),
    bumpVersionStatement(env.DB, doc.collection_id),
  ]);
}

/**
 * Marks the documents of a queue batch `processing` and loads them with their collections in two
 * statements, instead of three round trips per document.
 */
export async function loadBatch(env: Env, documentIds: string[]): Promise<Map<string, { doc: DocumentRow; collection: Collection }>> {
  const out = new Map<string, { doc: DocumentRow; collection: Collection }>();
  if (documentIds.length === 0) return out;
  const ids = JSON.stringify([...new Set(documentIds)]);
  const [docs, cols] = await env.DB.batch<DocumentRow | Collection>([
    env.DB.prepare(
      "UPDATE documents SET status = 'processing', updated_at = ? WHERE id IN (SELECT value FROM json_each(?)) AND status != 'ready' RETURNING *",
    ).bind(now(), ids),
    env.DB.prepare(
      "SELECT * FROM collections WHERE id IN (SELECT collection_id FROM documents WHERE id IN (SELECT value FROM json_each(?)))",
    ).bind(ids),
  ]);
  const collections = new Map((cols.results as Collection[]).map((c) => [c.id, c]));
  for (const doc of docs.results as DocumentRow[]) {
    const collection = collections.get(doc.collection_id);
    if (collection) out.set(doc.id, { doc, collection });
  }
  return out;
}

/** Deletes every document of a collection from every store, then the collection itself. */
export async function deleteCollectionEverywhere(env: Env, collection: Collection): Promise<number> {
  let deleted = 0;
  for (;;) {
    const docs = await env.DB.prepare("SELECT * FROM documents WHERE collection_id = ? LIMIT 100").bind(collection.id).all<DocumentRow>();
    if (docs.results.length === 0) break;
    for (const d of docs.results) await deleteDocument(env, d);
    deleted += docs.results.length;
  }
  await selectVectorIndex(env).dropCollection(collection.id);
  await env.DB.prepare("DELETE FROM collections WHERE id = ?").bind(collection.id).run();
  return deleted;
}
