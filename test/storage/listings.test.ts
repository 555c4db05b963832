/** The catalogue's key table and listing queries on their own, against real local D1. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { activeCollectionIds, createCollection, markCollectionDeleting } from "../../src/storage/collections";
import {
  collectionUsage,
  commitReady,
  type DocumentRow,
  documentMetadata,
  documentSummaries,
  insertQueuedDocument,
  soleCollectionOf,
} from "../../src/storage/documents";
import { collectionKeyIds, insertKeyRow, keyHashAndRevocation, keyRowsPage, markKeyRevoked } from "../../src/storage/keys";

import { documentRow } from "./rows";

const db = () => env.DB;
const newCollection = () =>
  createCollection(db(), { name: "listings", embedder: "local-hash-v1", dimensions: 384, embeddingModel: "@cf/baai/bge-base-en-v1.5" });
const now = () => Math.floor(Date.now() / 1000);

// Sizes grow with i (100 bytes each), which the usage test sums.
const doc = (collectionId: string, i: number, patch: Partial<DocumentRow> = {}) =>
  documentRow(collectionId, i, { size: 100 * i, ...patch }, "doc_lst");

describe("api_keys", () => {
  it("insert, page (active only unless asked), revoke once, and a collection's key ids", async () => {
    const col = await newCollection();
    const t = now();
    const ids = ["a", "b", "c"].map((x) => `key_lst_${crypto.randomUUID().slice(0, 6)}_${x}`).sort();
    for (const [i, id] of ids.entries()) {
      await insertKeyRow(db(), {
        id,
        key_hash: `hash-${id}`,
        collection_id: i < 2 ? col.id : null,
        model: null,
        scopes: JSON.stringify(["read"]),
        created_at: t,
        expires_at: i === 2 ? t - 1 : t + 3600, // the third one has expired
      });
    }
    const page = (includeInactive: boolean) =>
      keyRowsPage(db(), { after: ids[0].slice(0, -1), limit: 100, includeInactive, now: t }).then((r) =>
        r.map((k) => k.id).filter((id) => ids.includes(id)),
      );
    expect(await page(false)).toEqual(ids.slice(0, 2));
    expect(await page(true)).toEqual(ids);
    expect(await keyHashAndRevocation(db(), ids[0])).toEqual({ key_hash: `hash-${ids[0]}`, revoked_at: null });
    await markKeyRevoked(db(), ids[0], t + 5);
    await markKeyRevoked(db(), ids[0], t + 99); // the first revocation time stays
    expect(await keyHashAndRevocation(db(), ids[0])).toEqual({ key_hash: `hash-${ids[0]}`, revoked_at: t + 5 });
    expect(await page(false)).toEqual([ids[1]]);
    expect(await keyHashAndRevocation(db(), "key_missing")).toBeNull();
    expect(await collectionKeyIds(db(), col.id, "", 100)).toEqual(ids.slice(0, 2));
    expect(await collectionKeyIds(db(), col.id, ids[0], 100)).toEqual([ids[1]]);
    expect(await collectionKeyIds(db(), col.id, "", 1)).toEqual([ids[0]]);
  });
});

describe("document listings", () => {
  it("usage sums documents, bytes and chunks of one collection only", async () => {
    const [a, b] = [await newCollection(), await newCollection()];
    // Chunk counts come from indexing: each document is committed `ready` with its count.
    for (const [col, i, chunks] of [
      [a.id, 1, 4],
      [a.id, 2, 6],
      [b.id, 3, 50],
    ] as const) {
      const d = doc(col, i);
      await insertQueuedDocument(db(), d);
      expect(await commitReady(db(), d, 1, { chunkCount: chunks, charCount: 10, pages: null })).toBe(true);
    }
    expect(await collectionUsage(db(), a.id)).toEqual({ documents: 2, bytes: 300, chunks: 10 });
    expect(await collectionUsage(db(), "col_none")).toEqual({ documents: 0, bytes: 0, chunks: 0 });
  });

  it("metadata by id stays inside its collection; summaries page by id", async () => {
    const [a, b] = [await newCollection(), await newCollection()];
    const d1 = doc(a.id, 1, { metadata: '{"team":"ops"}' });
    const d2 = doc(a.id, 2);
    const other = doc(b.id, 3, { metadata: '{"secret":true}' });
    for (const d of [d1, d2, other]) await insertQueuedDocument(db(), d);
    const meta = await documentMetadata(db(), a.id, [d1.id, other.id]);
    expect([...meta]).toEqual([[d1.id, '{"team":"ops"}']]);
    expect((await documentMetadata(db(), a.id, [])).size).toBe(0);
    const sorted = [d1, d2].map((d) => d.id).sort();
    expect((await documentSummaries(db(), a.id, "", 10)).map((d) => d.id)).toEqual(sorted);
    expect((await documentSummaries(db(), a.id, sorted[0], 10)).map((d) => d.id)).toEqual([sorted[1]]);
    expect(await soleCollectionOf(db(), [d1.id, d2.id])).toBe(a.id);
    expect(await soleCollectionOf(db(), [d1.id, other.id])).toBeNull(); // two collections
    expect(await soleCollectionOf(db(), [d1.id, "doc_unknown"])).toBeNull();
  });

  it("active collection ids leave out a collection being deleted", async () => {
    const [a, b] = [await newCollection(), await newCollection()];
    await markCollectionDeleting(db(), b.id);
    expect(await activeCollectionIds(db(), { only: a.id, limit: 10 })).toMatchObject([{ id: a.id }]);
    expect(await activeCollectionIds(db(), { only: b.id, limit: 10 })).toEqual([]);
    const all = (await activeCollectionIds(db(), { only: null, limit: 100_000 })).map((r) => r.id);
    expect(all).toContain(a.id);
    expect(all).not.toContain(b.id);
  });
});
