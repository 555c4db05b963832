import { newId, sha256Hex } from "../util/crypto";
import { createYielder } from "../util/yield";
import type { Settings } from "../config";
import { ApiError } from "../http/errors";
import { chunkOptionsFor } from "../retrieval/chunker/strategy";
import { embeddingModelOf } from "../retrieval/models";
import { writeDocument } from "../retrieval/collection-index/client";
import { documentIndex, shardStubs } from "../retrieval/shard-routing";
import { activeEmbedderFor, selectRetrieval } from "../retrieval/providers";
import { vectorId } from "../retrieval/types";
import { forgetCollection, publishCollection } from "../storage/collection-cache";
import { type Collection, deleteCollectionRow, getCollectionRow, markCollectionDeleting } from "../storage/collections";
import {
  claimDocuments,
  commitReady,
  type DocumentRow,
  deleteDocumentAndBump,
  deleteDocumentRow,
  deleteDocumentRows,
  documentsPage,
  findDocumentBySha,
  getDocumentById,
  insertQueuedDocument,
  markFailedRow,
  markProcessing,
  markRetrying,
  originalKey,
  requeueDocumentRow,
  setPendingVectors,
  touchDocumentExpiry,
} from "../storage/documents";
import { type DocumentExpiry, resolveExpiry } from "./expiry";
import { emitQuietly } from "../events/emit";
import { deleteCollectionWebhooks } from "../storage/webhooks";

export { activeEmbedderFor } from "../retrieval/providers";

export interface UploadInput {
  name: string;
  bytes: Uint8Array;
  contentType: string | null;
  metadata?: Record<string, unknown>;
  /** The upload's own `expires_at` / `expires_after_seconds` (the collection's default applies otherwise). */
  expiry?: { expires_at?: string; expires_after_seconds?: number };
  /** A chunking strategy for this upload (JSON, validated by the route); absent = the collection's. */
  chunking?: string | null;
}

export interface Accepted {
  document: DocumentRow;
  duplicate: boolean;
}

const now = () => Math.floor(Date.now() / 1000);

// File-type detection, the zip reader, the extractors (HTML entities, CSV, pdf.js and mammoth
// behind them) and the chunker run only when a document is uploaded or indexed: loaded on first
// use, so a cold isolate serving a search or a chat turn never evaluates them (docs/performance.md).
const extraction = () => import("./extract");
const chunker = () => import("../retrieval/chunker");

/**
 * Validates and stores one upload: D1 row first (status `queued`), then the R2 object. If the R2
 * write fails the row is removed again, so no store holds half an upload. Same bytes in the same
 * collection are a duplicate: the existing document is returned.
 */
export async function acceptUpload(env: Env, settings: Settings, collection: Collection, input: UploadInput): Promise<Accepted> {
  if (input.bytes.byteLength > settings.MAX_UPLOAD_BYTES) {
    throw new ApiError("payload_too_large", `File is larger than the limit of ${settings.MAX_UPLOAD_BYTES} bytes`);
  }
  const kind = (await extraction()).detectKind(input.bytes, input.name, input.contentType);
  const sha256 = await sha256Hex(input.bytes);
  const existing = await findDocumentBySha(env.DB, collection.id, sha256);
  if (existing) return { document: await touched(env, existing), duplicate: true };
  const expiry: DocumentExpiry | null = resolveExpiry(now(), input.expiry ?? {}, collection);

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
    chunking: input.chunking ?? null,
    created_at: t,
    updated_at: t,
    expires_at: expiry?.at ?? null,
    expiry_slide_seconds: expiry?.slide ?? null,
  };
  if (!(await insertQueuedDocument(env.DB, doc))) {
    // A concurrent upload of the same bytes won the race.
    const winner = await findDocumentBySha(env.DB, collection.id, sha256);
    if (winner) return { document: winner, duplicate: true };
  }
  try {
    await env.DOCUMENTS.put(doc.r2_key, input.bytes, {
      httpMetadata: { contentType: doc.content_type },
      customMetadata: { name: encodeURIComponent(doc.name), sha256, collection_id: collection.id },
      sha256,
    });
  } catch (err) {
    await deleteDocumentRow(env.DB, id);
    throw new ApiError("unavailable", "Could not store the upload; try again", { cause: err });
  }
  return { document: doc, duplicate: false };
}

/** Removes an accepted upload that could not be queued (the client is told it failed). */
export async function discardUpload(env: Env, doc: DocumentRow): Promise<void> {
  await env.DOCUMENTS.delete(doc.r2_key);
  await deleteDocumentRow(env.DB, doc.id);
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

const idsUpTo = (documentId: string, n: number) => Array.from({ length: n }, (_, k) => vectorId(documentId, k));

/**
 * Extracts, chunks, embeds and indexes one document. With Vectorize, vectors are written first
 * (their count recorded as `pending_vectors`); the chunks, keyword rows and local vectors are then
 * committed atomically inside the collection's index object, and D1 marks the document `ready` at
 * the same generation. Any failure removes what this attempt wrote (never the generation committed
 * before it, which stays searchable until a newer one commits). A permanent error marks the
 * document `failed`; a transient one leaves it `queued` with its last error and is rethrown so the
 * queue retries (only the dead-letter consumer marks it `failed`). A redelivered message for a
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
  const doc = opts.loaded?.doc ?? (await getDocumentById(env.DB, documentId));
  if (!doc || doc.generation !== generation) return { status: "stale", chunkCount: 0 };
  if (doc.status === "ready") return { status: "ready", chunkCount: doc.chunk_count };
  const collection = opts.loaded?.collection ?? (await getCollectionRow(env.DB, doc.collection_id));
  if (collection?.status !== "active") return { status: "stale", chunkCount: 0 };

  const { vectorize } = selectRetrieval(env, embeddingModelOf(collection));
  const index = documentIndex(env, collection, doc.id);
  // A previous attempt may have written vectors (and a previous generation more chunks than now).
  const previous = Math.max(doc.pending_vectors, doc.chunk_count);
  let written = 0;
  try {
    const embedder = activeEmbedderFor(env, collection);
    if (!opts.loaded) await markProcessing(env.DB, doc.id, generation);
    const obj = await env.DOCUMENTS.get(doc.r2_key);
    if (!obj) throw new ApiError("corrupt_document", "The stored original of this document is missing; upload it again");
    const bytes = new Uint8Array(await obj.arrayBuffer());
    // One yielder for both steps: the slice of work between two yields spans the hand-over.
    const yielder = createYielder();
    const [{ extract }, { chunkText }] = await Promise.all([extraction(), chunker()]);
    const extracted = await extract(bytes, { name: doc.name, contentType: doc.content_type, yielder });
    const chunks = await chunkText(extracted, chunkOptionsFor(collection, doc.chunking), yielder);
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

    if (vectorize) {
      const upto = Math.max(previous, chunks.length);
      await setPendingVectors(env.DB, doc.id, upto);
      written = upto;
      await vectorize.upsert(
        collection.id,
        chunks.map((ch, i) => ({ id: vectorId(doc.id, ch.ordinal), values: vectors[i], documentId: doc.id, ordinal: ch.ordinal })),
      );
      if (previous > chunks.length) await vectorize.deleteByIds(collection.id, idsUpTo(doc.id, previous).slice(chunks.length));
    }

    const committed = await writeDocument(
      index,
      { id: doc.id, generation, name: doc.name, metadata: doc.metadata },
      chunks.map((ch) => ({
        ordinal: ch.ordinal,
        text: ch.text,
        start: ch.start,
        end: ch.end,
        page: ch.page,
        heading: ch.heading,
        tokens: ch.tokens,
      })),
      vectorize ? undefined : vectors,
    );
    if (committed.status === "stale") {
      // A newer generation (or a delete) got to the index first: it owns the vectors' ids now.
      if (vectorize && !(await getDocumentById(env.DB, doc.id))) await vectorize.deleteByIds(collection.id, idsUpTo(doc.id, written));
      return { status: "stale", chunkCount: 0 };
    }

    const ready = await commitReady(env.DB, doc, generation, {
      chunkCount: chunks.length,
      charCount: extracted.text.length,
      pages: extracted.pages?.length ?? null,
    });
    if (!ready) {
      // Deleted or re-queued while we worked: undo our commit, the newer request wins.
      await index.remove(doc.id, generation);
      if (vectorize && !(await getDocumentById(env.DB, doc.id))) await vectorize.deleteByIds(collection.id, idsUpTo(doc.id, written));
      return { status: "stale", chunkCount: 0 };
    }
    // --- issue 20: ingestion event at the commit point ---
    await emitQuietly(env, collection.id, "document.ready", documentEvent(doc, generation, { chunk_count: chunks.length }), [
      doc.id,
      generation,
    ]);
    return {
      status: "ready",
      chunkCount: chunks.length,
      documentVector: meanVector(vectors, embedder.dimensions),
      text: opts.keepText ? extracted.text : undefined,
    };
  } catch (err) {
    // Only this attempt's own work goes (its staged pages, and its commit if it got that far): the
    // generation committed before it stays searchable until a newer one commits. Vector ids are
    // per ordinal, shared across generations: those the live generation still uses stay.
    const kept = await index
      .remove(doc.id, generation)
      .then((r) => r.kept)
      .catch((e) => {
        logCleanup(doc.id)(e);
        return 0;
      });
    if (written > kept && vectorize)
      await vectorize.deleteByIds(collection.id, idsUpTo(doc.id, written).slice(kept)).catch(logCleanup(doc.id));
    const apiErr = err instanceof ApiError ? err : new ApiError("internal_error", "Indexing failed", { cause: err });
    if (!isPermanent(err)) {
      await markRetrying(env.DB, doc.id, generation, apiErr.code);
      throw err; // transient: the queue retries with backoff; the row stays `queued` until then
    }
    await markFailedRow(env.DB, doc.id, generation, apiErr.code, apiErr.message);
    // --- issue 20: ingestion event at the (permanent) failure point ---
    await emitQuietly(env, collection.id, "document.failed", failedEvent(doc, generation, apiErr), [doc.id, generation]);
    return { status: "failed", chunkCount: 0, error: apiErr };
  }
}

const logCleanup = (documentId: string) => (err: unknown) =>
  console.error(JSON.stringify({ cleanup: documentId, error: err instanceof Error ? err.message : String(err) }));

/**
 * The dead-letter path: the last retry failed. Deletes what this generation wrote (vectors and any
 * commit of its own), keeping an earlier committed generation searchable, then marks it `failed`.
 */
export async function failDocument(env: Env, documentId: string, generation: number, err: ApiError): Promise<void> {
  const doc = await getDocumentById(env.DB, documentId);
  if (!doc || doc.generation !== generation) return;
  const col = await getCollectionRow(env.DB, doc.collection_id);
  const vectorize = vectorStoreOf(env, col);
  const n = Math.max(doc.chunk_count, doc.pending_vectors);
  // A failed re-index keeps the generation committed before it (and the vector ids it uses).
  const { kept } = await documentIndex(env, { id: doc.collection_id, shards: col?.shards }, doc.id).remove(doc.id, generation);
  if (vectorize && n > kept) await vectorize.deleteByIds(doc.collection_id, idsUpTo(doc.id, n).slice(kept));
  await markFailedRow(env.DB, doc.id, generation, err.code, err.message);
  // --- issue 20: ingestion event at the dead-letter failure point ---
  await emitQuietly(env, doc.collection_id, "document.failed", failedEvent(doc, generation, err), [doc.id, generation]);
}

// --- issue 20: the data of document events (webhook payloads) ---
function documentEvent(doc: DocumentRow, generation: number, extra: Record<string, unknown> = {}) {
  return { document_id: doc.id, name: doc.name, generation, metadata: JSON.parse(doc.metadata) as unknown, ...extra };
}

function failedEvent(doc: DocumentRow, generation: number, err: ApiError) {
  return documentEvent(doc, generation, { error: { code: err.code, message: err.message } });
}

/** The Vectorize store of a collection's model (null offline). */
function vectorStoreOf(env: Env, col: Collection | null) {
  if (!env.VECTORIZE) return null;
  return selectRetrieval(env, embeddingModelOf(col ?? {})).vectorize;
}

/** Re-queues a document: a new generation makes any in-flight message for the old one stale. */
export async function requeueDocument(env: Env, doc: DocumentRow): Promise<number> {
  return (await requeueDocumentRow(env.DB, doc.id)) ?? doc.generation + 1;
}

/**
 * Deletes a document from every store: its rows in the index object (leaving a tombstone so a late
 * commit cannot bring it back), every vector id it may have written, the R2 original, then the row.
 * Each step is idempotent, so a retry after a crash finishes the job. Ends with a
 * `document.deleted` event (`reason`: why it went, e.g. `deleted` or `expired`), whose id is the
 * document's, so a retried delete never notifies twice.
 */
/** Why a document went (the `document.deleted` event says so). */
export type DeletionReason = "deleted" | "expired";

export async function deleteDocument(env: Env, doc: DocumentRow, reason: DeletionReason = "deleted"): Promise<void> {
  // The catalogue row names the document's shard (and, with Vectorize, the model's index).
  const col = await getCollectionRow(env.DB, doc.collection_id);
  await documentIndex(env, { id: doc.collection_id, shards: col?.shards }, doc.id).remove(doc.id);
  const vectorize = vectorStoreOf(env, col);
  const n = Math.max(doc.chunk_count, doc.pending_vectors);
  if (vectorize && n > 0) await vectorize.deleteByIds(doc.collection_id, idsUpTo(doc.id, n));
  await env.DOCUMENTS.delete(doc.r2_key);
  await deleteDocumentAndBump(env.DB, doc);
  await publishCollection(env, doc.collection_id);
  await emitQuietly(env, doc.collection_id, "document.deleted", { document_id: doc.id, name: doc.name, reason }, [doc.id]);
}

/**
 * Activity on a document whose expiry slides (`last_active_at` anchor) moves its expiry; the row
 * is returned as it now is. Costs nothing for other documents.
 */
export async function touched(env: Env, doc: DocumentRow): Promise<DocumentRow> {
  if (doc.expiry_slide_seconds === null || doc.expiry_slide_seconds === undefined) return doc;
  const t = now();
  await touchDocumentExpiry(env.DB, doc.id, t);
  return { ...doc, expires_at: t + doc.expiry_slide_seconds };
}

/** Loads the documents of a queue batch (marking them `processing`) with their collections. */
export async function loadBatch(env: Env, documentIds: string[]): Promise<Map<string, { doc: DocumentRow; collection: Collection }>> {
  const out = new Map<string, { doc: DocumentRow; collection: Collection }>();
  if (documentIds.length === 0) return out;
  const { docs, collections } = await claimDocuments(env.DB, documentIds);
  for (const doc of docs) {
    const collection = collections.get(doc.collection_id);
    if (collection) out.set(doc.id, { doc, collection });
  }
  return out;
}

/** Documents removed per deletion page: a bounded number of R2, Vectorize and D1 calls per message. */
export const DROP_PAGE = 50;

/**
 * One page of a collection's deletion: vectors, originals and rows of up to DROP_PAGE documents.
 * When none is left, the index object is dropped and the catalogue row removed. Returns how many
 * documents this page deleted and whether the collection is gone.
 */
export async function dropCollectionPage(env: Env, collectionId: string): Promise<{ deleted: number; done: boolean }> {
  const col = await getCollectionRow(env.DB, collectionId);
  if (!col) return { deleted: 0, done: true };
  if (col.status !== "deleting") throw new Error(`collection ${collectionId} is not marked deleting`);
  const docs = await documentsPage(env.DB, collectionId, DROP_PAGE);
  if (docs.length > 0) {
    const { vectorize } = selectRetrieval(env, embeddingModelOf(col));
    if (vectorize) {
      const ids = docs.flatMap((d) => idsUpTo(d.id, Math.max(d.chunk_count, d.pending_vectors)));
      if (ids.length) await vectorize.deleteByIds(collectionId, ids);
    }
    await env.DOCUMENTS.delete(docs.map((d) => d.r2_key));
    await deleteDocumentRows(
      env.DB,
      docs.map((d) => d.id),
    );
    return { deleted: docs.length, done: false };
  }
  // Every shard (shard 0 first: the collection's own object, as before shards).
  for (const stub of shardStubs(env, col)) await stub.drop();
  await deleteCollectionWebhooks(env.DB, collectionId); // those awaiting `collection.deleted` go after it
  await deleteCollectionRow(env.DB, collectionId);
  await forgetCollection(env, collectionId);
  return { deleted: 0, done: true };
}

/** Marks a collection `deleting` at once (nothing reads it from then on); the queue does the rest. */
export async function beginCollectionDeletion(env: Env, collectionId: string): Promise<Collection | null> {
  const col = await markCollectionDeleting(env.DB, collectionId);
  // The objects refuse reads at once, even from isolates whose cached catalogue row is older. A row
  // already gone (null) still seals shard 0, the collection's own object, as before shards.
  await Promise.all(shardStubs(env, col ?? { id: collectionId }).map((s) => s.seal()));
  await publishCollection(env, collectionId);
  return col;
}

/** Deletes a small collection in this request (the original API's cleanup of a failed ingestion). */
export async function deleteCollectionEverywhere(env: Env, collection: Collection): Promise<number> {
  await beginCollectionDeletion(env, collection.id);
  let deleted = 0;
  for (;;) {
    const page = await dropCollectionPage(env, collection.id);
    deleted += page.deleted;
    if (page.done) return deleted;
  }
}
