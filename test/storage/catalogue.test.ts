/** The D1 catalogue's SQL on its own, against real local D1 (no routes, no queue). */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  countDocuments,
  createCollection,
  deleteCollectionRow,
  getCollection,
  getCollectionRow,
  listCollections,
  markCollectionDeleting,
  requireCollection,
  stuckDeletions,
} from "../../src/storage/collections";
import {
  claimDocuments,
  commitReady,
  type DocumentRow,
  deleteDocumentAndBump,
  deleteDocumentRows,
  documentsPage,
  findDocumentBySha,
  getDocument,
  getDocumentById,
  insertQueuedDocument,
  listDocuments,
  markFailedRow,
  markRetrying,
  requeueCollectionPage,
  requeueDocumentRow,
  requeueStuck,
} from "../../src/storage/documents";

import { documentRow } from "./rows";

const db = () => env.DB;
const newCollection = () =>
  createCollection(db(), { name: "catalogue", embedder: "local-hash-v1", dimensions: 384, embeddingModel: "@cf/baai/bge-base-en-v1.5" });

const row = (collectionId: string, i: number, patch: Partial<DocumentRow> = {}) => documentRow(collectionId, i, patch, "doc_cat");

describe("collections", () => {
  it("create, get, list and count; a collection marked deleting reads as gone but keeps its row", async () => {
    const col = await newCollection();
    expect(await getCollection(db(), col.id)).toMatchObject({ id: col.id, status: "active", version: 0 });
    expect(await insertQueuedDocument(db(), row(col.id, 1))).toBe(true);
    expect(await countDocuments(db(), col.id)).toBe(1);
    expect(await listCollections(db(), { after: "", only: col.id, limit: 10 })).toMatchObject([{ id: col.id, document_count: 1 }]);

    const doc = (await listDocuments(db(), col.id, { limit: 1 })).rows[0];
    expect((await getDocument(db(), col.id, doc.id))?.id).toBe(doc.id);
    const marked = await markCollectionDeleting(db(), col.id);
    expect(await getDocument(db(), col.id, doc.id)).toBeNull(); // its documents read as gone too
    expect(marked).toMatchObject({ status: "deleting", version: 1 });
    expect(await markCollectionDeleting(db(), col.id)).toBeNull(); // only once
    expect(await getCollection(db(), col.id)).toBeNull();
    await expect(requireCollection(db(), col.id)).rejects.toMatchObject({ code: "not_found" });
    expect(await getCollectionRow(db(), col.id)).toMatchObject({ status: "deleting" });
    expect(await listCollections(db(), { after: "", only: col.id, limit: 10 })).toEqual([]);

    // A deletion whose message was lost is found again by the sweeper (and touched, so once).
    const later = Math.floor(Date.now() / 1000) + 3600;
    expect(await stuckDeletions(db(), later, later - 60, 1000)).toContain(col.id);
    expect(await stuckDeletions(db(), later, later - 60, 1000)).not.toContain(col.id);
    await deleteCollectionRow(db(), col.id);
    expect(await getCollectionRow(db(), col.id)).toBeNull();
  });
});

describe("documents", () => {
  it("the same bytes twice in one collection insert once", async () => {
    const col = await newCollection();
    const a = row(col.id, 1);
    expect(await insertQueuedDocument(db(), a)).toBe(true);
    expect(await insertQueuedDocument(db(), { ...row(col.id, 2), sha256: a.sha256 })).toBe(false);
    expect((await findDocumentBySha(db(), col.id, a.sha256))?.id).toBe(a.id);
  });

  it("claim, commit at the right generation only, retry keeps the last error, failure is final", async () => {
    const col = await newCollection();
    const a = row(col.id, 1);
    await insertQueuedDocument(db(), a);
    const claimed = await claimDocuments(db(), [a.id, a.id, "doc_missing"]);
    expect(claimed.docs.map((d) => [d.id, d.status])).toEqual([[a.id, "processing"]]);
    expect(claimed.collections.get(col.id)?.id).toBe(col.id);

    await markRetrying(db(), a.id, 1, "upstream_error");
    expect(await getDocumentById(db(), a.id)).toMatchObject({ status: "queued", error_code: "upstream_error" });

    expect(await commitReady(db(), a, 2, { chunkCount: 3, charCount: 30, pages: null })).toBe(false); // wrong generation
    expect(await commitReady(db(), a, 1, { chunkCount: 3, charCount: 30, pages: null })).toBe(true);
    expect(await getDocumentById(db(), a.id)).toMatchObject({ status: "ready", chunk_count: 3, error_code: null });
    expect((await getCollectionRow(db(), col.id))?.version).toBe(1);
    expect((await claimDocuments(db(), [a.id])).docs).toEqual([]); // ready documents are not claimed again

    expect(await requeueDocumentRow(db(), a.id)).toBe(2);
    await markFailedRow(db(), a.id, 1, "internal_error", "old generation");
    expect((await getDocumentById(db(), a.id))?.status).toBe("queued"); // a stale failure changes nothing
    await markFailedRow(db(), a.id, 2, "internal_error", "Indexing failed after several attempts");
    // A failed re-index keeps generation 1 searchable (issue 17): the row keeps its live chunk count.
    expect(await getDocumentById(db(), a.id)).toMatchObject({ status: "failed", error_code: "internal_error", chunk_count: 3 });

    await deleteDocumentAndBump(db(), a);
    expect(await getDocumentById(db(), a.id)).toBeNull();
    expect((await getCollectionRow(db(), col.id))?.version).toBe(2);
  });

  it("pages: reindex re-queues in id order with new generations; list, counts and bulk delete", async () => {
    const col = await newCollection();
    const docs = Array.from({ length: 7 }, (_, i) => row(col.id, i, { status: "ready" }));
    for (const d of docs) await insertQueuedDocument(db(), d);
    const ids = docs.map((d) => d.id).sort();
    const first = await requeueCollectionPage(db(), col.id, "", 3);
    expect(first.map((d) => d.id)).toEqual(ids.slice(0, 3));
    expect(first.every((d) => d.generation === 2)).toBe(true);
    const second = await requeueCollectionPage(db(), col.id, first[2].id, 3);
    expect(second.map((d) => d.id)).toEqual(ids.slice(3, 6));
    const third = await requeueCollectionPage(db(), col.id, second[2].id, 3);
    expect(third.map((d) => d.id)).toEqual(ids.slice(6));

    const listed = await listDocuments(db(), col.id, { limit: 4 });
    expect(listed.rows).toHaveLength(4);
    expect(listed.counts).toEqual({ queued: 7 });
    expect((await documentsPage(db(), col.id, 5)).map((d) => d.id)).toEqual(ids.slice(0, 5));
    await deleteDocumentRows(db(), ids.slice(0, 5));
    expect(await countDocuments(db(), col.id)).toBe(2);
  });

  it("the sweeper's query picks only documents stuck since before the cutoff", async () => {
    const col = await newCollection();
    const old = row(col.id, 1, { updated_at: 1000, created_at: 1000 });
    const fresh = row(col.id, 2);
    await insertQueuedDocument(db(), old);
    await insertQueuedDocument(db(), fresh);
    const now = Math.floor(Date.now() / 1000);
    const picked = await requeueStuck(db(), now, now - 900, 1000);
    expect(picked.map((p) => p.id)).toContain(old.id);
    expect(picked.map((p) => p.id)).not.toContain(fresh.id);
    expect(await getDocumentById(db(), old.id)).toMatchObject({ generation: 2, status: "queued", updated_at: now });
  });
});
