import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type IndexRecord, LocalVectorIndex } from "../../src/retrieval/local/index-do";
import { LocalVectorStore } from "../../src/retrieval/local/store";
import { vectorId } from "../../src/retrieval/types";

const DIMS = 16;

/** Deterministic pseudo-random unit vectors. */
function vectors(n: number, seed: number, dims = DIMS): Float32Array[] {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296 - 0.5;
  };
  return Array.from({ length: n }, () => {
    const v = Float32Array.from({ length: dims }, next);
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  });
}

const records = (vs: Float32Array[], doc = "doc"): IndexRecord[] =>
  vs.map((values, i) => ({ id: vectorId(doc, i), values, documentId: doc, ordinal: i }));

/** The message of an RPC call's rejection (awaited inside, so none goes unhandled). */
async function failure(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("expected the call to fail");
}

let n = 0;
const freshStub = () =>
  env.VECTOR_INDEX.get(env.VECTOR_INDEX.idFromName(`test-${n++}-${crypto.randomUUID()}`)) as DurableObjectStub<LocalVectorIndex>;

describe("LocalVectorIndex", () => {
  it("finds each stored vector as its own best match, with cosine scores", async () => {
    const stub = freshStub();
    const vs = vectors(50, 7);
    expect(await stub.upsert(records(vs))).toBe(50);
    for (const i of [0, 17, 49]) {
      const matches = await stub.query(vs[i], 5);
      expect(matches).toHaveLength(5);
      expect(matches[0]).toMatchObject({ id: `doc:${i}`, documentId: "doc", ordinal: i });
      expect(matches[0].score).toBeCloseTo(1, 2);
      for (let j = 1; j < matches.length; j++) expect(matches[j].score).toBeLessThanOrEqual(matches[j - 1].score);
    }
    // Scores are cosines: a scaled query gives the same ranking and scores.
    const scaled = Array.from(vs[3], (x) => x * 7);
    const a = await stub.query(scaled, 3);
    const b = await stub.query(vs[3], 3);
    expect(a.map((m) => m.id)).toEqual(b.map((m) => m.id));
    expect(a[0].score).toBeCloseTo(b[0].score, 5);
    expect(await stub.stats()).toMatchObject({ count: 50, dims: DIMS, loaded: true });
  });

  it("ranks like exact float cosine on random data", async () => {
    const stub = freshStub();
    const vs = vectors(400, 11, 64);
    for (let i = 0; i < vs.length; i += 100)
      await stub.upsert(records(vs.slice(i, i + 100)).map((r, j) => ({ ...r, id: `doc:${i + j}`, ordinal: i + j })));
    const queries = vectors(20, 99, 64);
    let hits = 0;
    for (const q of queries) {
      const exact = vs
        .map((v, i) => [v.reduce((s, x, k) => s + x * q[k], 0), i] as const)
        .sort((x, y) => y[0] - x[0])
        .slice(0, 10)
        .map(([, i]) => `doc:${i}`);
      const got = (await stub.query(q, 10)).map((m) => m.id);
      hits += got.filter((id) => exact.includes(id)).length;
    }
    expect(hits / 200).toBeGreaterThanOrEqual(0.95);
  });

  it("upserts idempotently by id and deletes by id", async () => {
    const stub = freshStub();
    const vs = vectors(10, 3);
    await stub.upsert(records(vs));
    await stub.query(vs[0], 1); // loaded: later writes must update memory too
    await stub.upsert(records(vs));
    expect((await stub.stats()).count).toBe(10);

    // Replacing doc:0's vector by doc:9's makes doc:0 a best match for it.
    await stub.upsert([{ id: "doc:0", values: Array.from(vs[9]), documentId: "other", ordinal: 5 }]);
    const top = await stub.query(vs[9], 2);
    expect(top.map((m) => m.id).sort()).toEqual(["doc:0", "doc:9"]);
    expect(top.find((m) => m.id === "doc:0")).toMatchObject({ documentId: "other", ordinal: 5 });

    expect(await stub.deleteByIds(["doc:9", "doc:3", "missing"])).toBe(2);
    const ids = (await stub.query(vs[9], 100)).map((m) => m.id);
    expect(ids).toHaveLength(8);
    expect(ids).not.toContain("doc:9");
    expect(ids).not.toContain("doc:3");
    expect(ids[0]).toBe("doc:0");
  });

  it("fixes the dimension at the first upsert and validates input", async () => {
    const stub = freshStub();
    // Called on the instance: a rejected RPC call logs an "uncaught" line in the test pool's
    // Durable Object wrapper (the caller still gets the error, as the store test below shows).
    await runInDurableObject(stub, (index: LocalVectorIndex) => {
      expect(index.query(vectors(1, 1)[0], 3)).toEqual([]); // empty index
      index.upsert(records(vectors(2, 5)));
      const one = vectors(1, 5)[0];
      const row = (patch: Partial<IndexRecord>): IndexRecord[] => [{ id: "ok", values: one, documentId: "d", ordinal: 0, ...patch }];
      expect(() => index.upsert(records(vectors(1, 5, 8)))).toThrow(/^dimension_mismatch:/);
      expect(() => index.query(vectors(1, 5, 32)[0], 3)).toThrow(/^dimension_mismatch:/);
      expect(() => index.query(one, 0)).toThrow(/^invalid_top_k:/);
      expect(() => index.query(one, 101)).toThrow(/^invalid_top_k:/);
      expect(() => index.query(one, 2.5)).toThrow(/^invalid_top_k:/);
      const nan = Array.from(one);
      nan[3] = Number.NaN;
      expect(() => index.query(nan, 3)).toThrow(/^invalid_vector:/);
      expect(() => index.upsert(row({ values: nan }))).toThrow(/^invalid_vector:/);
      expect(() => index.upsert(row({ id: "x".repeat(65) }))).toThrow(/^invalid_id:/);
      expect(() => index.upsert(row({ id: "é".repeat(33) }))).toThrow(/^invalid_id:/); // 66 bytes
      expect(() => index.upsert(row({ id: "" }))).toThrow(/^invalid_id:/);
      expect(() => index.upsert(row({ ordinal: -1 }))).toThrow(/^invalid_vector:/);
      expect(() => index.upsert(row({ documentId: "" }))).toThrow(/^invalid_vector:/);
      expect(() => index.upsert(new Array(1001).fill(row({})[0]))).toThrow(/^invalid_vector:/);
      // A batch with one bad record writes nothing.
      expect(() => index.upsert([...row({ id: "new" }), ...row({ id: "bad", ordinal: 1.5 })])).toThrow();
      expect(index.stats().count).toBe(2);
      index.upsert(row({ id: "x".repeat(64) }));
      expect(index.stats().count).toBe(3);

      index.drop();
      expect(index.stats()).toMatchObject({ count: 0, dims: null });
      index.upsert(records(vectors(2, 5, 8)));
      expect(index.stats().dims).toBe(8);
    });
  });

  it("persists in SQLite and reloads lazily in a fresh instance", async () => {
    const stub = freshStub();
    const vs = vectors(300, 21);
    for (let i = 0; i < 300; i += 100) {
      await stub.upsert(records(vs.slice(i, i + 100)).map((r, j) => ({ ...r, id: `doc:${i + j}`, ordinal: i + j })));
    }
    await stub.deleteByIds(["doc:5"]);
    const before = await stub.query(vs[42], 10);
    await runInDurableObject(stub, async (_instance: LocalVectorIndex, state) => {
      const cold = new LocalVectorIndex(state, env);
      expect(cold.stats()).toMatchObject({ count: 299, dims: DIMS, loaded: false, memoryBytes: 0 });
      expect(cold.query(vs[42], 10)).toEqual(before);
      expect(cold.query(vs[5], 1)[0].id).not.toBe("doc:5");
      const stats = cold.stats();
      expect(stats.loaded).toBe(true);
      expect(stats.memoryBytes).toBeGreaterThan(299 * DIMS);
    });
  });

  it("whitens queries on request without changing an exact match", async () => {
    const stub = freshStub();
    const vs = vectors(30, 8);
    await stub.upsert(records(vs));
    const plain = await stub.query(vs[4], 3);
    const white = await stub.query(vs[4], 3, { whiten: true });
    expect(plain[0].id).toBe("doc:4");
    expect(white).toHaveLength(3);
    expect(white.every((m) => Number.isFinite(m.score))).toBe(true);
  });
});

describe("LocalVectorStore", () => {
  it("keeps collections apart and batches large upserts", async () => {
    const store = new LocalVectorStore(env);
    expect(store.id).toBe("local");
    const a = `col-a-${crypto.randomUUID()}`;
    const b = `col-b-${crypto.randomUUID()}`;
    const vs = vectors(1203, 13);
    await store.upsert(
      a,
      vs.map((values, i) => ({ id: vectorId("d1", i), values, documentId: "d1", ordinal: i })),
    );
    await store.upsert(b, [{ id: vectorId("d2", 0), values: vs[7], documentId: "d2", ordinal: 0 }]);

    const fromA = await store.query(a, vs[7], 3);
    expect(fromA[0]).toMatchObject({ id: "d1:7", documentId: "d1", ordinal: 7 });
    const fromB = await store.query(b, vs[7], 10);
    expect(fromB.map((m) => m.id)).toEqual(["d2:0"]);

    // Errors cross RPC with their message (the pool logs the rejection as "uncaught" once).
    const err = await failure(() => store.query(a, new Float32Array(DIMS + 1), 3));
    expect(err).toMatch(/^dimension_mismatch:/);

    await store.deleteByIds(a, ["d1:7", "nope"]);
    expect((await store.query(a, vs[7], 1))[0].id).not.toBe("d1:7");
    await store.dropCollection(a);
    expect(await store.query(a, vs[7], 1)).toEqual([]);
    expect(await store.query(b, vs[7], 1)).toHaveLength(1);
  });
});
