import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { WorkersAiEmbedder } from "../../src/retrieval/cloudflare/embedder";
import { parseVectorId, VectorizeStore } from "../../src/retrieval/cloudflare/vectorize";
import { type VectorRecord, vectorId } from "../../src/retrieval/types";
import { expectApiError } from "./helpers";

const store = new VectorizeStore(env.TEST_VECTORIZE);
const embedder = new WorkersAiEmbedder(env.TEST_AI);
const uid = () => crypto.randomUUID();

async function records(documentId: string, texts: string[]): Promise<VectorRecord[]> {
  const vectors = await embedder.embed(texts, "document");
  return vectors.map((values, ordinal) => ({ id: vectorId(documentId, ordinal), values, documentId, ordinal }));
}

/** Deterministic pseudo-random unit vectors, distinct per ordinal (for volume tests). */
function synthetic(documentId: string, count: number): VectorRecord[] {
  return Array.from({ length: count }, (_, ordinal) => {
    const values = new Float32Array(768);
    let seed = (ordinal + 1) * 2654435761;
    let n = 0;
    for (let i = 0; i < 768; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      values[i] = seed / 2 ** 32 - 0.5;
      n += values[i] * values[i];
    }
    for (let i = 0; i < 768; i++) values[i] /= Math.sqrt(n);
    return { id: vectorId(documentId, ordinal), values, documentId, ordinal };
  });
}

describe("VectorizeStore (against the Vectorize double)", () => {
  it("keeps collections apart: a query in A never returns B's vectors", async () => {
    const [colA, colB, docA, docB] = [uid(), uid(), uid(), uid()];
    const text = ["Refunds are paid within five business days.", "Shipping takes a week."];
    await store.upsert(colA, await records(docA, text));
    await store.upsert(colB, await records(docB, text));
    const [q] = await embedder.embed(["When are refunds paid?"], "query");

    const a = await store.query(colA, q, 10);
    const b = await store.query(colB, q, 10);
    expect(a.map((m) => m.documentId)).toEqual([docA, docA]);
    expect(b.map((m) => m.documentId)).toEqual([docB, docB]);
    expect(a[0]).toMatchObject({ id: vectorId(docA, 0), documentId: docA, ordinal: 0 });
    expect(a[0].score).toBeGreaterThan(a[1].score);
    expect(await store.query(uid(), q, 10)).toEqual([]);
  });

  it("writes namespace and metadata with each vector", async () => {
    const [col, doc] = [uid(), uid()];
    await store.upsert(col, await records(doc, ["one", "two"]));
    const got = await env.TEST_VECTORIZE.getByIds([vectorId(doc, 1)]);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ id: vectorId(doc, 1), namespace: col, metadata: { document_id: doc, ordinal: 1 } });
  });

  it("upserts more than 1000 vectors in calls of at most 1000 (the double rejects bigger ones)", async () => {
    const [col, doc] = [uid(), uid()];
    const many = synthetic(doc, 2500);
    await expect(
      async () => await env.TEST_VECTORIZE.upsert(many.slice(0, 1001).map((r) => ({ id: r.id, values: r.values }))),
    ).rejects.toThrow(/1000/);
    await store.upsert(col, many);
    const got = await env.TEST_VECTORIZE.getByIds([vectorId(doc, 0), vectorId(doc, 1999), vectorId(doc, 2499)]);
    expect(got.map((v) => v.id)).toEqual([vectorId(doc, 0), vectorId(doc, 1999), vectorId(doc, 2499)]);

    // topK is capped at 100 (no values, no metadata), the most Vectorize allows.
    const hits = await store.query(col, many[5].values, 500);
    expect(hits).toHaveLength(100);
    expect(hits[0]).toMatchObject({ documentId: doc, ordinal: 5 });
    expect(hits.every((h, i) => i === 0 || hits[i - 1].score >= h.score)).toBe(true);
    expect(await store.query(col, many[5].values, 0)).toHaveLength(1);

    // Deletes go in batches too, and are idempotent.
    await store.deleteByIds(
      col,
      many.map((r) => r.id),
    );
    await store.deleteByIds(col, [vectorId(doc, 0), "never-written:1"]);
    expect(await store.query(col, many[5].values, 10)).toEqual([]);
  });

  it("the double holds the query limits: topK <= 100, <= 20 with values or all metadata", async () => {
    const [col, doc] = [uid(), uid()];
    const recs = synthetic(doc, 3);
    await store.upsert(col, recs);
    const q = recs[0].values;
    const query = async (opts: VectorizeQueryOptions) => await env.TEST_VECTORIZE.query(q, opts);
    await expect(query({ topK: 101, namespace: col })).rejects.toThrow(/100/);
    await expect(query({ topK: 21, namespace: col, returnMetadata: "all" })).rejects.toThrow(/20/);
    await expect(query({ topK: 21, namespace: col, returnValues: true })).rejects.toThrow(/20/);
    const withMeta = await query({ topK: 20, namespace: col, returnMetadata: "all" });
    expect(withMeta.count).toBe(3);
    expect(withMeta.matches[0]).toMatchObject({ id: vectorId(doc, 0), metadata: { document_id: doc, ordinal: 0 } });
    const bare = await query({ topK: 100, namespace: col });
    expect(bare.matches[0].metadata).toBeUndefined();
    expect(bare.matches[0].values).toBeUndefined();
  });

  it("maps a rejected write (wrong dimensions) to 502 upstream_error", async () => {
    const bad: VectorRecord = { id: vectorId(uid(), 0), values: new Float32Array(384), documentId: "d", ordinal: 0 };
    const e = await expectApiError(store.upsert(uid(), [bad]), "upstream_error", 502);
    expect(e.message).not.toMatch(/VECTOR|dimensions/);
  });

  it("refuses namespaces and ids over Vectorize's 64-byte limits before calling it", async () => {
    const [doc] = [uid()];
    await expect(store.upsert("x".repeat(65), synthetic(doc, 1))).rejects.toThrow(/namespace/);
    await expect(store.query("", new Float32Array(768), 5)).rejects.toThrow(/namespace/);
    const long = synthetic("d".repeat(64), 1);
    await expect(store.upsert(uid(), long)).rejects.toThrow(/64 bytes/);
  });

  it("dropCollection is a no-op: vectors are removed by id, and other collections are untouched", async () => {
    const [colA, colB, docA, docB] = [uid(), uid(), uid(), uid()];
    await store.upsert(colA, synthetic(docA, 2));
    await store.upsert(colB, synthetic(docB, 2));
    await store.deleteByIds(colA, [vectorId(docA, 0), vectorId(docA, 1)]);
    await store.dropCollection(colA);
    expect(await store.query(colA, synthetic(docA, 1)[0].values, 10)).toEqual([]);
    expect(await store.query(colB, synthetic(docB, 1)[0].values, 10)).toHaveLength(2);
  });

  it("describes the index like Vectorize V2", async () => {
    const info = async () => (await env.TEST_VECTORIZE.describe()) as unknown as VectorizeIndexInfo;
    const before = await info();
    expect(before.dimensions).toBe(768);
    // "vectorCount >= 0" could not fail: three new vectors must show in the count.
    await store.upsert(uid(), synthetic(uid(), 3));
    expect((await info()).vectorCount).toBeGreaterThanOrEqual(before.vectorCount + 3);
  });
});

describe("parseVectorId", () => {
  it("reads `<document>:<ordinal>`, allowing colons in the document id", () => {
    expect(parseVectorId("abc:12")).toEqual({ documentId: "abc", ordinal: 12 });
    expect(parseVectorId("urn:doc:7:3")).toEqual({ documentId: "urn:doc:7", ordinal: 3 });
    expect(parseVectorId("noordinal")).toBeNull();
    expect(parseVectorId(":1")).toBeNull();
    expect(parseVectorId("abc:x")).toBeNull();
    expect(parseVectorId("abc:-1")).toBeNull();
  });
});
