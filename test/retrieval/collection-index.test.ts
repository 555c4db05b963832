import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type ChunkInput, CollectionIndex, type IndexSearchRequest } from "../../src/retrieval/collection-index/object";
import { ApiError } from "../../src/http/errors";
import { indexErrorOf } from "../../src/retrieval/collection-index/errors";
import { decodePairs } from "../../src/retrieval/collection-index/postings";
import { keywordQuery } from "../../src/retrieval/collection-index/query";
import { ftsTermCounts } from "../../src/text";
import type { MetadataFilter } from "../../src/retrieval/filter";
import { search } from "../../src/retrieval/search";
import { getCollectionRow } from "../../src/storage/collections";
import { createCollection } from "../helpers";

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

const chunk = (ordinal: number, text = `chunk number ${ordinal}`): ChunkInput => ({
  ordinal,
  text,
  start: 0,
  end: text.length,
  page: null,
  heading: null,
  tokens: 3,
});

let n = 0;
const freshStub = () => env.COLLECTION_INDEX.get(env.COLLECTION_INDEX.idFromName(`test-${n++}-${crypto.randomUUID()}`));
type Stub = ReturnType<typeof freshStub>;

async function put(
  stub: Stub,
  id: string,
  vs: Float32Array[] | null,
  opts: { generation?: number; texts?: string[]; metadata?: object } = {},
) {
  const count = vs?.length ?? opts.texts?.length ?? 0;
  return stub.write({
    document: { id, generation: opts.generation ?? 1, name: `${id}.txt`, metadata: JSON.stringify(opts.metadata ?? {}) },
    chunks: Array.from({ length: count }, (_, i) => chunk(i, opts.texts?.[i])),
    vectors: vs ?? undefined,
    commit: { chunkCount: count },
  });
}

const vq = (queryVector: Float32Array | number[], topK: number, extra: Partial<IndexSearchRequest> = {}): IndexSearchRequest => ({
  query: "",
  topK,
  mode: "vector",
  vectorWeight: 1,
  pool: topK,
  hydrate: topK,
  queryVector,
  ...extra,
});

const kq = (query: string, topK = 10, extra: Partial<IndexSearchRequest> = {}): IndexSearchRequest => ({
  query,
  topK,
  mode: "keyword",
  vectorWeight: 0,
  pool: 100,
  hydrate: topK,
  ...extra,
});

describe("collection index: local vectors (merged LocalVectorIndex)", () => {
  it("finds each stored vector as its own best match, with cosine scores", async () => {
    const stub = freshStub();
    const vs = vectors(50, 7);
    expect(await put(stub, "doc", vs)).toEqual({ status: "ready", chunkCount: 50 });
    for (const i of [0, 17, 49]) {
      const { hits } = await stub.search(vq(vs[i], 5));
      expect(hits).toHaveLength(5);
      expect(hits[0]).toMatchObject({ document_id: "doc", ordinal: i, text: `chunk number ${i}`, document_name: "doc.txt" });
      expect(hits[0].scores.vector).toBeCloseTo(1, 2);
      for (let j = 1; j < hits.length; j++) expect(hits[j].score).toBeLessThanOrEqual(hits[j - 1].score);
    }
    const scaled = Array.from(vs[3], (x) => x * 7);
    const a = (await stub.search(vq(scaled, 3))).hits;
    const b = (await stub.search(vq(vs[3], 3))).hits;
    expect(a.map((h) => h.ordinal)).toEqual(b.map((h) => h.ordinal));
    expect(a[0].score).toBeCloseTo(b[0].score, 5);
    expect(await stub.stats()).toMatchObject({ documents: 1, chunks: 50, vectors: 50, dims: DIMS, loaded: true });
  });

  it("ranks like exact float cosine on random data", async () => {
    const stub = freshStub();
    const vs = vectors(400, 11, 64);
    for (let d = 0; d < 4; d++) await put(stub, `d${d}`, vs.slice(d * 100, d * 100 + 100));
    let hits = 0;
    for (const q of vectors(20, 99, 64)) {
      const exact = vs
        .map((v, i) => [v.reduce((s, x, k) => s + x * q[k], 0), i] as const)
        .sort((x, y) => y[0] - x[0])
        .slice(0, 10)
        .map(([, i]) => `d${Math.floor(i / 100)}:${i % 100}`);
      const got = (await stub.search(vq(q, 10))).hits.map((h) => `${h.document_id}:${h.ordinal}`);
      hits += got.filter((id) => exact.includes(id)).length;
    }
    expect(hits / 200).toBeGreaterThanOrEqual(0.95);
  });

  it("a failed attempt's cleanup removes only its staged pages and its own generation, never the committed one", async () => {
    const stub = freshStub();
    await put(stub, "doc", null, { texts: ["the committed walrus text", "second committed chunk"] });
    // Generation 2 stages a page, then fails before its commit.
    await stub.write({
      document: { id: "doc", generation: 2, name: "doc.txt", metadata: "{}" },
      chunks: [chunk(0, "the replacement narwhal text")],
    });
    expect(await stub.remove("doc", 2)).toEqual({ removed: false, kept: 2 });
    expect((await stub.search(kq("walrus"))).hits.map((h) => h.text)).toEqual(["the committed walrus text"]);
    expect((await stub.search(kq("narwhal"))).hits).toEqual([]);
    await runInDurableObject(stub, async (_obj, state) => {
      // The attempt's staged rows (chunks under its shadow id, with their vector and analysis rows) are gone.
      expect(state.storage.sql.exec("SELECT COUNT(*) AS n FROM chunks WHERE document_id < ' '").one().n).toBe(0);
      expect(state.storage.sql.exec("SELECT COUNT(*) AS n FROM chunks").one().n).toBe(2);
    });
    // The retry commits generation 2; undoing it (the catalogue moved on) removes exactly that commit.
    expect(await put(stub, "doc", null, { generation: 2, texts: ["the replacement narwhal text"] })).toMatchObject({ status: "ready" });
    expect((await stub.search(kq("walrus"))).hits).toEqual([]);
    expect(await stub.remove("doc", 2)).toEqual({ removed: true, kept: 0 });
    expect(await stub.stats()).toMatchObject({ documents: 0, chunks: 0 });
  });

  it("a newer generation replaces a document in place (also in memory); an older one is stale; remove deletes", async () => {
    const stub = freshStub();
    const vs = vectors(10, 3);
    await put(stub, "doc", vs);
    await stub.search(vq(vs[0], 1)); // loaded: later writes must update memory too
    await put(stub, "doc", vs.slice(0, 6), { generation: 2 });
    expect(await stub.stats()).toMatchObject({ chunks: 6, vectors: 6 });
    expect((await stub.search(vq(vs[8], 10))).hits.map((h) => h.ordinal).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(await put(stub, "doc", vs, { generation: 1 })).toEqual({ status: "stale", chunkCount: 0 });
    expect(await stub.stats()).toMatchObject({ chunks: 6, vectors: 6 });

    await put(stub, "other", vectors(4, 9));
    // Undo of an older generation spares the newer commit; a delete removes it for good.
    expect(await stub.remove("doc", 1)).toEqual({ removed: false, kept: 6 });
    expect(await stub.remove("doc")).toEqual({ removed: true, kept: 0 });
    const ids = (await stub.search(vq(vs[2], 100))).hits.map((h) => h.document_id);
    expect(new Set(ids)).toEqual(new Set(["other"]));
    expect(await put(stub, "doc", vs, { generation: 3 })).toEqual({ status: "stale", chunkCount: 0 });
  });

  it("validates input; an incomplete commit writes nothing; drop forgets the dimension", async () => {
    const stub = freshStub();
    await runInDurableObject(stub, async (index: CollectionIndex) => {
      expect(index.search(vq(vectors(1, 1)[0], 3)).hits).toEqual([]); // empty index
      const doc = { id: "d", generation: 1, name: "d", metadata: "{}" };
      index.write({ document: doc, chunks: [chunk(0), chunk(1)], vectors: vectors(2, 5), commit: { chunkCount: 2 } });
      const one = vectors(1, 5)[0];
      expect(() => index.write({ document: { ...doc, id: "e" }, chunks: [chunk(0)], vectors: vectors(1, 5, 8) })).toThrow(
        /^dimension_mismatch:/,
      );
      expect(() => index.search(vq(vectors(1, 5, 32)[0], 3))).toThrow(/^dimension_mismatch:/);
      expect(() => index.search(vq(one, 0))).toThrow(/^invalid_top_k:/);
      expect(() => index.search(vq(one, 101))).toThrow(/^invalid_top_k:/);
      const nan = Array.from(one);
      nan[3] = Number.NaN;
      expect(() => index.search(vq(nan, 3))).toThrow(/^invalid_vector:/);
      expect(() => index.write({ document: { ...doc, id: "e" }, chunks: [chunk(0)], vectors: [nan] })).toThrow(/^invalid_vector:/);
      expect(() => index.write({ document: { ...doc, id: "e" }, chunks: [chunk(0), chunk(1)], vectors: [one] })).toThrow(/^invalid_page:/);
      expect(() => index.write({ document: { ...doc, id: "e", generation: 0 }, chunks: [] })).toThrow(/^invalid_document:/);
      expect(() => index.write({ document: { ...doc, id: "e" }, chunks: Array.from({ length: 1001 }, (_, i) => chunk(i)) })).toThrow(
        /^invalid_page:/,
      );
      // A commit that does not hold every chunk fails whole: nothing of "e" becomes visible.
      expect(() => index.write({ document: { ...doc, id: "e" }, chunks: [chunk(0)], vectors: [one], commit: { chunkCount: 2 } })).toThrow(
        /^incomplete_document:/,
      );
      expect(index.stats()).toMatchObject({ documents: 1, chunks: 2, vectors: 2 });
      await index.drop();
      expect(index.stats()).toMatchObject({ documents: 0, chunks: 0, vectors: 0, dims: null });
      index.write({ document: doc, chunks: [chunk(0)], vectors: vectors(1, 5, 8), commit: { chunkCount: 1 } });
      expect(index.stats().dims).toBe(8);
    });
  });

  it("writes a large document in staged pages, committed by the last one", async () => {
    const stub = freshStub();
    const vs = vectors(30, 4);
    const doc = { id: "big", generation: 1, name: "big", metadata: "{}" };
    await stub.write({ document: doc, chunks: Array.from({ length: 20 }, (_, i) => chunk(i)), vectors: vs.slice(0, 20) });
    expect((await stub.stats()).chunks).toBe(0); // staged, not visible
    await stub.write({
      document: doc,
      chunks: Array.from({ length: 10 }, (_, i) => chunk(20 + i)),
      vectors: vs.slice(20),
      commit: { chunkCount: 30 },
    });
    expect(await stub.stats()).toMatchObject({ chunks: 30, vectors: 30 });
    expect((await stub.search(vq(vs[25], 1))).hits[0].ordinal).toBe(25);
  });

  it("persists in SQLite and reloads lazily in a fresh instance", async () => {
    const stub = freshStub();
    const vs = vectors(300, 21);
    for (let d = 0; d < 3; d++) await put(stub, `d${d}`, vs.slice(d * 100, d * 100 + 100));
    await stub.remove("d1");
    const before = (await stub.search(vq(vs[42], 10))).hits;
    await runInDurableObject(stub, async (_instance: CollectionIndex, state) => {
      const cold = new CollectionIndex(state, env);
      expect(cold.stats()).toMatchObject({ vectors: 200, dims: DIMS, loaded: false });
      expect(cold.search(vq(vs[42], 10)).hits).toEqual(before);
      expect(cold.search(vq(vs[150], 1)).hits[0].document_id).not.toBe("d1");
      expect(cold.stats().loaded).toBe(true);
    });
  });

  it("whitens queries on request without changing an exact match", async () => {
    const stub = freshStub();
    const vs = vectors(30, 8);
    await put(stub, "doc", vs);
    const plain = (await stub.search(vq(vs[4], 3))).hits;
    const white = (await stub.search(vq(vs[4], 3, { whiten: true }))).hits;
    expect(plain[0].ordinal).toBe(4);
    expect(white).toHaveLength(3);
    expect(white.every((m) => Number.isFinite(m.score))).toBe(true);
  });

  it("keeps collections apart: one object per collection", async () => {
    const a = freshStub();
    const b = freshStub();
    const vs = vectors(20, 13);
    await put(a, "d1", vs);
    await put(b, "d2", [vs[7]]);
    expect((await a.search(vq(vs[7], 3))).hits[0]).toMatchObject({ document_id: "d1", ordinal: 7 });
    expect((await b.search(vq(vs[7], 10))).hits.map((h) => h.document_id)).toEqual(["d2"]);
    expect((await b.search(kq("chunk number"))).hits.map((h) => h.document_id)).toEqual(["d2"]);
    await a.drop();
    expect((await a.search(vq(vs[7], 1))).hits).toEqual([]);
    expect((await b.search(vq(vs[7], 1))).hits).toHaveLength(1);
  });
});

describe("collection index: deletion", () => {
  it("a sealed index (deletion under way) answers no search and refuses writes; drop clears it", async () => {
    const stub = freshStub();
    const vs = vectors(5, 2);
    await put(stub, "doc", vs);
    await stub.seal();
    expect(await stub.search(vq(vs[0], 3))).toMatchObject({ hits: [], sealed: true });
    expect(await stub.search(kq("chunk"))).toMatchObject({ hits: [], sealed: true });
    expect(await put(stub, "late", vectors(2, 3))).toEqual({ status: "stale", chunkCount: 0 });
    // The seal survives a restart of the object.
    await runInDurableObject(stub, async (_o: CollectionIndex, state) => {
      expect(new CollectionIndex(state, env).search(vq(vs[0], 3)).sealed).toBe(true);
    });
    await stub.drop();
    expect((await stub.search(vq(vs[0], 3))).sealed).toBeUndefined();
  });
});

describe("collection index: filters before top-k", () => {
  it("document ids and metadata filters restrict keyword and vector candidates before top-k", async () => {
    const stub = freshStub();
    const vs = vectors(60, 17);
    // Three documents of 20 chunks; every chunk says "lighthouse".
    for (let d = 0; d < 3; d++) {
      await put(stub, `d${d}`, vs.slice(d * 20, d * 20 + 20), {
        texts: Array.from({ length: 20 }, (_, i) => `lighthouse keeper log ${d} entry ${i}`),
        metadata: { team: d === 2 ? "ops" : "dev", year: 2020 + d },
      });
    }
    // Top 5 by vector for a query closest to d0's chunks, restricted to d2: still 5 hits, all d2.
    const onlyD2 = (await stub.search(vq(vs[3], 5, { documentIds: ["d2"], pool: 100 }))).hits;
    expect(onlyD2).toHaveLength(5);
    expect(onlyD2.every((h) => h.document_id === "d2")).toBe(true);
    const ops = (await stub.search(vq(vs[3], 5, { filter: { type: "eq", key: "team", value: "ops" }, pool: 100 }))).hits;
    expect(ops).toHaveLength(5);
    expect(ops.every((h) => h.document_id === "d2")).toBe(true);
    const kw = (await stub.search(kq("lighthouse", 8, { filter: { type: "gte", key: "year", value: 2021 } }))).hits;
    expect(kw).toHaveLength(8);
    expect(kw.every((h) => h.document_id === "d1" || h.document_id === "d2")).toBe(true);
    const compound = (
      await stub.search(
        kq("lighthouse", 50, {
          filter: {
            type: "or",
            filters: [
              { type: "eq", key: "year", value: 2020 },
              { type: "in", key: "team", value: ["ops"] },
            ],
          },
        }),
      )
    ).hits;
    expect(new Set(compound.map((h) => h.document_id))).toEqual(new Set(["d0", "d2"]));
  });

  it("Vectorize candidates are fused with keyword ones, and those of unknown or deleted documents dropped", async () => {
    const stub = freshStub();
    await put(stub, "live", null, { texts: ["alpha beta gamma", "delta epsilon"] });
    await put(stub, "gone", null, { texts: ["alpha alpha alpha"] });
    await stub.remove("gone");
    const { hits } = await stub.search({
      query: "alpha",
      topK: 5,
      mode: "hybrid",
      vectorWeight: 0.5,
      pool: 100,
      hydrate: 5,
      vectorCandidates: [
        { documentId: "gone", ordinal: 0, score: 0.99 },
        { documentId: "nowhere", ordinal: 0, score: 0.98 },
        { documentId: "live", ordinal: 1, score: 0.9 },
        { documentId: "live", ordinal: 0, score: 0.5 },
      ],
    });
    const byKey = Object.fromEntries(hits.map((h) => [`${h.document_id}:${h.ordinal}`, h.scores]));
    expect(Object.keys(byKey).sort()).toEqual(["live:0", "live:1"]);
    expect(byKey["live:0"]).toMatchObject({ vector: 0.5, vector_rank: 2, keyword_rank: 1 });
    expect(byKey["live:1"]).toMatchObject({ vector: 0.9, vector_rank: 1, keyword: null });
  });
});

describe("collection index: keyword search, including CJK", () => {
  const texts = {
    zh: "归档实用程序。通常与压缩方法结合使用，例如 gzip 或 bzip2。创建存档并将其写入文件。",
    ja: "アーカイブを作成し、それをファイルに書き込む。東京の天気は晴れです。",
    ko: "아카이브 유틸리티. 종종 압축 방법과 결합하여 사용됩니다. 아카이브 생성 후 파일로 저장.",
    en: "The archive utility creates archives and writes them to a file; compression is optional.",
  };

  it("splits a query into porter terms, CJK trigrams and short CJK substrings", () => {
    expect(keywordQuery("How do I create archives?").porter).toBe('"create" OR "archives"');
    const q = keywordQuery("创建存档 tar 东京");
    expect(q.porter).toBe('"tar"');
    // In a CJK question the Latin words are also looked up in the CJK chunks (see the next test).
    expect(q.trigram).toBe('"创建存" OR "建存档" OR "tar"');
    expect(q.short).toEqual(["东京"]);
    expect(keywordQuery("DNC是什么 AI").short).toEqual(["ai"]);
    expect(keywordQuery("What is DNC?").trigram).toBeNull();
    expect(q.bigrams).toEqual(["创建", "建存", "存档"]);
    expect(keywordQuery('"); DROP TABLE chunks; --').porter).toBe('"drop" OR "table" OR "chunks"');
  });

  it("a Chinese, Japanese or Korean query finds its document (trigram index), an English one the English document", async () => {
    const stub = freshStub();
    for (const [lang, text] of Object.entries(texts)) await put(stub, lang, null, { texts: [text] });
    const top = async (q: string) => (await stub.search(kq(q, 3))).hits[0]?.document_id;
    expect(await top("如何创建压缩存档")).toBe("zh"); // no trigram in common: bigram fallback
    expect(await top("创建存档的压缩方法")).toBe("zh");
    expect(await top("アーカイブの作成")).toBe("ja");
    expect(await top("아카이브 생성 방법")).toBe("ko");
    expect(await top("東京")).toBe("ja"); // two characters: substring fallback
    expect(await top("compression utility")).toBe("en");
    expect(await top("天")).toBe("ja");
    // Only CJK chunks are copied into the trigram index; both indexes stay consistent through deletes.
    await runInDurableObject(stub, (_o: CollectionIndex, state) => {
      expect(state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM chunks_tri").one().n).toBe(3);
    });
    await stub.remove("ja");
    expect(await top("アーカイブの作成")).not.toBe("ja");
    await runInDurableObject(stub, (_o: CollectionIndex, state) => {
      state.storage.sql.exec("INSERT INTO chunks_fts (chunks_fts) VALUES ('integrity-check')");
      state.storage.sql.exec("INSERT INTO chunks_tri (chunks_tri) VALUES ('integrity-check')");
      expect(
        state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM chunks_tri WHERE chunks_tri MATCH '\"アーカ\"'").one().n,
      ).toBe(0);
    });
  });

  it("a Latin word written inside CJK text is found by a CJK question naming it", async () => {
    const stub = freshStub();
    await put(stub, "dnc", null, {
      texts: ["DeepMind表示，这款名为DNC（可微神经计算机）的AI模型可以接受家谱和伦敦地铁网络地图这样的信息。"],
    });
    await put(stub, "nav", null, { texts: ["华为Mate 8成功的内外因素是什么？"] });
    await put(stub, "faq", null, { texts: ["人工智能是什么？它可以回答问题。"] });
    const ids = async (q: string) => (await stub.search(kq(q, 3))).hits.map((h) => h.document_id);
    // unicode61 keeps "这款名为dnc" as one token: the porter table alone cannot find "DNC" in it.
    const found = await ids("DNC是什么？");
    expect(found[0]).toBe("dnc");
    expect(found).toHaveLength(3);
  });
});

describe("collection index: persisted binary postings", () => {
  const corpus = [
    "Vitamin D deficiency is associated with bone fractures in older adults.",
    "Bone density improves with weight-bearing exercise and calcium intake.",
    "Older adults who exercise fall less often; fractures are rarer.",
    "Calcium and vitamin supplements were compared in a randomised trial.",
  ];
  const count = (sql: SqlStorage, q: string) => sql.exec<{ n: number }>(q).one().n;

  it("stores each chunk's (term id, tf) pairs as FTS5's tokenizer counts them, and wakes from them alone", async () => {
    const stub = freshStub();
    await put(stub, "a", null, { texts: corpus.slice(0, 2) });
    await put(stub, "b", null, { texts: corpus.slice(2) });
    const before = (await stub.search(kq("vitamin bone fractures", 4))).hits;
    expect(before.map((h) => h.document_id)).toContain("a");
    await runInDurableObject(stub, (_o: CollectionIndex, state) => {
      const sql = state.storage.sql;
      const terms = new Map(
        sql
          .exec<{ id: number; term: string }>("SELECT id, term FROM term_ids")
          .toArray()
          .map((r) => [r.id, r.term]),
      );
      for (const r of sql
        .exec<{ text: string; length: number; postings: ArrayBuffer }>(
          "SELECT c.text, p.length, p.postings FROM chunks c JOIN chunk_postings p ON p.id = c.id",
        )
        .toArray()) {
        const stored = new Map<string, number>();
        decodePairs(new Uint8Array(r.postings), (id, tf) => stored.set(terms.get(id) as string, tf));
        const expected = ftsTermCounts(r.text);
        expect(r.length).toBe(expected.length);
        expect(stored).toEqual(expected.terms);
      }
      // The text is never read again: a fresh instance ranks the same with every chunk's text blanked.
      sql.exec("CREATE TABLE saved AS SELECT id, text FROM chunks");
      sql.exec("UPDATE chunks SET text = '' WHERE id > 0");
      const cold = new CollectionIndex(state, env);
      expect(cold.search(kq("vitamin bone fractures", 4)).hits.map((h) => [h.document_id, h.ordinal, h.score])).toEqual(
        before.map((h) => [h.document_id, h.ordinal, h.score]),
      );
      sql.exec("UPDATE chunks SET text = (SELECT text FROM saved WHERE saved.id = chunks.id) WHERE id > 0");
      sql.exec("DROP TABLE saved");
    });
  });

  it("converts an object written with the JSON layout (chunk_terms) once, idempotently, ranking the same", async () => {
    const stub = freshStub();
    await put(stub, "a", null, { texts: corpus.slice(0, 2) });
    await put(stub, "b", null, { texts: corpus.slice(2) });
    const queries = ["vitamin bone fractures", "older adults exercise", "calcium trial"];
    const expected: unknown[] = [];
    for (const q of queries) expected.push((await stub.search(kq(q, 4))).hits.map((h) => [h.document_id, h.ordinal, h.score]));
    await runInDurableObject(stub, (_o: CollectionIndex, state) => {
      const sql = state.storage.sql;
      // Rewrite storage as the previous layout left it: JSON term counts, no binary postings, terms_v1.
      sql.exec("CREATE TABLE chunk_terms (id INTEGER PRIMARY KEY, terms TEXT NOT NULL)");
      sql.exec("CREATE TRIGGER chunks_ad_terms AFTER DELETE ON chunks BEGIN DELETE FROM chunk_terms WHERE id = old.id; END");
      for (const r of sql.exec<{ id: number; text: string }>("SELECT id, text FROM chunks").toArray()) {
        const { length, terms } = ftsTermCounts(r.text);
        sql.exec("INSERT INTO chunk_terms (id, terms) VALUES (?, ?)", r.id, JSON.stringify([length, ...[...terms].flat()]));
      }
      // One chunk predates chunk_terms as well: it is tokenised from its text.
      sql.exec("DELETE FROM chunk_terms WHERE id = (SELECT MIN(id) FROM chunks)");
      sql.exec("DELETE FROM chunk_postings");
      sql.exec("DELETE FROM term_ids");
      sql.exec("DELETE FROM meta WHERE key = 'terms_v2'");
      sql.exec("INSERT INTO meta (key, value) VALUES ('terms_v1', '1')");

      const cold = new CollectionIndex(state, env);
      for (let i = 0; i < queries.length; i++)
        expect(cold.search(kq(queries[i], 4)).hits.map((h) => [h.document_id, h.ordinal, h.score])).toEqual(expected[i]);
      expect(count(sql, "SELECT COUNT(*) AS n FROM meta WHERE key = 'terms_v2'")).toBe(1);
      expect(count(sql, "SELECT COUNT(*) AS n FROM sqlite_master WHERE name IN ('chunk_terms', 'chunks_ad_terms')")).toBe(0);
      const chunks = count(sql, "SELECT COUNT(*) AS n FROM chunks");
      expect(count(sql, "SELECT COUNT(*) AS n FROM chunk_postings")).toBe(chunks);
      const termIds = count(sql, "SELECT COUNT(*) AS n FROM term_ids");

      // Running the conversion again (its mark lost, as after an interruption) changes nothing.
      sql.exec("DELETE FROM meta WHERE key = 'terms_v2'");
      const again = new CollectionIndex(state, env);
      expect(again.search(kq(queries[0], 4)).hits.map((h) => [h.document_id, h.ordinal, h.score])).toEqual(expected[0]);
      expect(count(sql, "SELECT COUNT(*) AS n FROM chunk_postings")).toBe(chunks);
      expect(count(sql, "SELECT COUNT(*) AS n FROM term_ids")).toBe(termIds);
      // Deleting a chunk still works (the old trigger is gone with its table).
      again.remove("b");
      expect(count(sql, "SELECT COUNT(*) AS n FROM chunk_postings")).toBe(2);
    });
  });

  it("a write that fails leaves no term id or postings behind, and the next write's ids are the ones stored", async () => {
    const stub = freshStub();
    await put(stub, "good", null, { texts: corpus.slice(0, 2) });
    await stub.search(kq("vitamin", 2)); // the index is loaded: memory must follow only committed writes
    await runInDurableObject(stub, async (instance: CollectionIndex, state) => {
      const sql = state.storage.sql;
      const terms = count(sql, "SELECT COUNT(*) AS n FROM term_ids");
      const postings = count(sql, "SELECT COUNT(*) AS n FROM chunk_postings");
      // A fault injected into the commit's transaction after its chunks, term ids and postings were written.
      sql.exec("CREATE TRIGGER inject_fault BEFORE INSERT ON docs WHEN new.id = 'boom' BEGIN SELECT RAISE(ABORT, 'injected fault'); END");
      expect(() =>
        instance.write({
          document: { id: "boom", generation: 1, name: "boom.txt", metadata: "{}" },
          chunks: [chunk(0, "zygomorphic quokkas xylophonist"), chunk(1, "vitamin quokkas")],
          commit: { chunkCount: 2 },
        }),
      ).toThrow(/injected fault/);
      expect(count(sql, "SELECT COUNT(*) AS n FROM term_ids")).toBe(terms);
      expect(count(sql, "SELECT COUNT(*) AS n FROM chunk_postings")).toBe(postings);
      expect(count(sql, "SELECT COUNT(*) AS n FROM chunks WHERE document_id = 'boom'")).toBe(0);
      expect(instance.search(kq("quokkas", 2)).hits).toEqual([]);
      sql.exec("DROP TRIGGER inject_fault");
      // The same new terms again, in a write that commits: ids are stored, and a fresh instance finds them.
      instance.write({
        document: { id: "ok", generation: 1, name: "ok.txt", metadata: "{}" },
        chunks: [chunk(0, "xylophonist quokkas")],
        commit: { chunkCount: 1 },
      });
      expect(instance.search(kq("quokkas", 2)).hits.map((h) => h.document_id)).toEqual(["ok"]);
      const cold = new CollectionIndex(state, env);
      expect(cold.search(kq("quokkas xylophonist", 2)).hits.map((h) => h.document_id)).toEqual(["ok"]);
      expect(count(sql, "SELECT COUNT(*) AS n FROM term_ids")).toBe(terms + 2);
      expect(count(sql, "SELECT COUNT(*) AS n FROM term_ids WHERE term = 'zygomorph'")).toBe(0);
    });
  });

  it("writes a page's rows in batches, exactly as chunk by chunk: empty postings, odd text, repeated ordinals, exact vector scales", async () => {
    const stub = freshStub();
    const texts = [
      "[[[[[[ ]]]]]] <!-- -->", // no token at all: an empty postings blob, not NULL
      "broken \uD800 surrogate and vitamin", // a lone surrogate is stored as U+FFFD
      "维生素D缺乏与骨折有关", // CJK: also in the trigram table
      "vitamin vitamin bone",
    ];
    const vs = vectors(5, 77);
    const page = (from: number, to: number, commit: boolean) => ({
      document: { id: "odd", generation: 1, name: "odd.txt", metadata: "{}" },
      chunks: [...Array.from({ length: to - from }, (_, i) => chunk(from + i, texts[from + i]))],
      vectors: vs.slice(from, to),
      commit: commit ? { chunkCount: 4 } : undefined,
    });
    // Staged in two calls, the first with ordinal 1 twice (a retry within a page): the last one wins.
    const first = page(0, 2, false);
    first.chunks.push(chunk(1, texts[1]));
    first.vectors = [vs[0], vs[4], vs[1]];
    expect(await stub.write(first)).toMatchObject({ status: "staged" });
    expect(await stub.write(page(2, 4, true))).toMatchObject({ status: "ready", chunkCount: 4 });
    const warm = (await stub.search(vq(vs[1], 4))).hits.map((h) => [h.ordinal, h.score]);
    await runInDurableObject(stub, (_o: CollectionIndex, state) => {
      const sql = state.storage.sql;
      const rows = sql
        .exec<{ ordinal: number; text: string; length: number; postings: ArrayBuffer | null; v: number; a: number }>(
          `SELECT c.ordinal, c.text, p.length, p.postings,
             (SELECT COUNT(*) FROM chunk_vectors v WHERE v.id = c.id) AS v, (SELECT COUNT(*) FROM chunk_analysis a WHERE a.id = c.id) AS a
           FROM chunks c JOIN chunk_postings p ON p.id = c.id WHERE c.document_id = 'odd' ORDER BY c.ordinal`,
        )
        .toArray();
      expect(rows.map((r) => r.ordinal)).toEqual([0, 1, 2, 3]);
      expect(rows.map((r) => r.text)).toEqual(texts.map((t) => t.toWellFormed()));
      expect(rows[1].text).toContain("\uFFFD");
      expect(rows[0].length).toBe(0);
      expect(rows[0].postings).toBeInstanceOf(ArrayBuffer);
      expect(rows[0].postings?.byteLength).toBe(0);
      for (const r of rows) {
        expect(r.length).toBe(ftsTermCounts(r.text).length);
        expect([r.v, r.a]).toEqual([1, 1]);
      }
      expect(sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM chunks_tri").one().n).toBe(1);
      // The vector stored for ordinal 1 is the last one sent for it, and a cold instance scores exactly as the warm one.
      const cold = new CollectionIndex(state, env);
      expect(cold.search(vq(vs[1], 4)).hits.map((h) => [h.ordinal, h.score])).toEqual(warm);
      expect(warm[0]).toEqual([1, expect.closeTo(1, 2)]);
    });
    // A document committed in one call names each ordinal once: a repeat is refused and nothing is written.
    const twice = { ...page(0, 2, false), document: { id: "twice", generation: 1, name: "twice.txt", metadata: "{}" } };
    twice.chunks.push(chunk(1, "again"));
    twice.vectors = [vs[0], vs[1], vs[2]];
    await runInDurableObject(stub, (instance: CollectionIndex) => {
      expect(() => instance.write({ ...twice, commit: { chunkCount: 3 } })).toThrow(/^invalid_page: an ordinal appears twice/);
      expect(instance.search(kq("again", 5)).hits).toEqual([]);
    });
  });
});

describe("collection index: staged writes of a large document (issue 17.5)", () => {
  const N = 250;
  const bigText = (i: number, word: string) => `${word} section ${i} of the large handbook`;
  const bigPage = (from: number, to: number, word: string, generation: number, vs?: Float32Array[], commit = false) => ({
    document: { id: "big", generation, name: "big.txt", metadata: "{}" },
    chunks: Array.from({ length: to - from }, (_, i) => chunk(from + i, bigText(from + i, word))),
    vectors: vs?.slice(from, to),
    commit: commit ? { chunkCount: N } : undefined,
  });
  const count = (sql: SqlStorage, q: string, ...p: unknown[]) => sql.exec<{ n: number }>(q, ...p).one().n;
  const SHADOW = "SELECT COUNT(*) AS n FROM chunks WHERE document_id >= char(1) AND document_id < ' '";
  const SHADOW_VECTORS =
    "SELECT COUNT(*) AS n FROM chunk_vectors v JOIN chunks c ON c.id = v.id WHERE c.document_id >= char(1) AND c.document_id < ' '";
  // Rows keyed by a chunk id that no chunk holds: a vector, analysis or postings row left behind.
  const ORPHANS = `SELECT (SELECT COUNT(*) FROM chunk_vectors WHERE id NOT IN (SELECT id FROM chunks))
    + (SELECT COUNT(*) FROM chunk_analysis WHERE id NOT IN (SELECT id FROM chunks))
    + (SELECT COUNT(*) FROM chunk_postings WHERE id NOT IN (SELECT id FROM chunks)) AS n`;
  const turn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
  const all = (word: string, generation: number, vs?: Float32Array[]) => [
    bigPage(0, 100, word, generation, vs),
    bigPage(100, 200, word, generation, vs),
    bigPage(200, N, word, generation, vs, true),
  ];

  it("stages each chunk once, under a shadow id no search reads; the flip only renames the rows", async () => {
    const stub = freshStub();
    const vs = vectors(N, 31);
    await put(stub, "small", vectors(2, 32), { texts: ["an unrelated note", "another note"] });
    await runInDurableObject(stub, async (instance: CollectionIndex, state) => {
      const sql = state.storage.sql;
      // Both in-memory indexes are loaded, so the flip must bring them up to date too.
      expect(instance.search(kq("note", 2)).hits).toHaveLength(2);
      expect(instance.search(vq(vs[0], 1)).hits).toHaveLength(1);
      expect(await instance.write(bigPage(0, 100, "ziggurat", 1, vs))).toMatchObject({ status: "staged" });
      expect(await instance.write(bigPage(100, 200, "ziggurat", 1, vs))).toMatchObject({ status: "staged" });
      // Staged rows are complete (postings, vectors, analyses) and invisible.
      expect(count(sql, SHADOW)).toBe(200);
      expect(count(sql, SHADOW_VECTORS)).toBe(200);
      expect(count(sql, "SELECT COUNT(*) AS n FROM chunk_analysis a JOIN chunks c ON c.id = a.id WHERE c.document_id < ' '")).toBe(200);
      const committing = instance.write(bigPage(200, N, "ziggurat", 1, vs, true));
      expect(committing).toBeInstanceOf(Promise);
      // The last page is staged at once; the flip waits for a turn of its own, and meanwhile the object answers.
      expect(count(sql, SHADOW)).toBe(N);
      const staged = sql
        .exec<{ id: number; ordinal: number }>("SELECT id, ordinal FROM chunks WHERE document_id < ' ' ORDER BY ordinal")
        .toArray();
      expect(instance.search(kq("ziggurat handbook", 10)).hits).toEqual([]);
      expect(instance.search(vq(vs[50], 1)).hits[0].document_id).toBe("small");
      expect(instance.stats()).toMatchObject({ chunks: 2, documents: 1, vectors: 2 });
      expect(await committing).toEqual({ status: "ready", chunkCount: N });
      expect(count(sql, SHADOW)).toBe(0);
      // The same rows, renamed: nothing was copied, so vectors and analyses kept their keys.
      expect(
        sql.exec<{ id: number; ordinal: number }>("SELECT id, ordinal FROM chunks WHERE document_id = 'big' ORDER BY ordinal").toArray(),
      ).toEqual(staged);
      expect(count(sql, ORPHANS)).toBe(0);
      expect(instance.stats()).toMatchObject({ chunks: N + 2, documents: 2, vectors: N + 2 });
      const hits = instance.search(kq("ziggurat section 180", 3)).hits;
      expect(hits[0]).toMatchObject({ document_id: "big", ordinal: 180 });
      expect(instance.search(vq(vs[180], 1)).hits[0]).toMatchObject({ document_id: "big", ordinal: 180 });
      // Storage agrees with memory: a fresh instance ranks the same, and the FTS tables are consistent.
      const cold = new CollectionIndex(state, env);
      expect(cold.search(kq("ziggurat section 180", 3)).hits).toEqual(hits);
      expect(cold.search(vq(vs[180], 1)).hits[0]).toMatchObject({ document_id: "big", ordinal: 180 });
      sql.exec("INSERT INTO chunks_fts (chunks_fts) VALUES ('integrity-check')");
      expect(count(sql, "SELECT COUNT(*) AS n FROM chunk_postings")).toBe(N + 2);
    });
  });

  it("stages a call of more than 100 chunks in slices of 100, each its own transaction and turn", async () => {
    const stub = freshStub();
    await runInDurableObject(stub, async (instance: CollectionIndex, state) => {
      const sql = state.storage.sql;
      const doc = { id: "big", generation: 1, name: "big.txt", metadata: "{}" };
      const writing = instance.write({
        document: doc,
        chunks: Array.from({ length: N }, (_, i) => chunk(i, bigText(i, "cairn"))),
        commit: { chunkCount: N },
      });
      expect(count(sql, SHADOW)).toBe(100);
      await turn();
      expect(count(sql, SHADOW)).toBe(200);
      expect(instance.search(kq("cairn", 3)).hits).toEqual([]);
      expect(await writing).toEqual({ status: "ready", chunkCount: N });
      expect(instance.search(kq("cairn section 222", 1)).hits[0]).toMatchObject({ document_id: "big", ordinal: 222 });
    });
  });

  it("staged rows outlive a restart, invisible; a retry sends every page again, replacing them, and commits", async () => {
    const stub = freshStub();
    await put(stub, "big", null, { texts: ["the first edition of the handbook"] });
    await stub.write(bigPage(0, 100, "obelisk", 2));
    await stub.write(bigPage(100, 200, "obelisk", 2));
    await runInDurableObject(stub, (_o: CollectionIndex, state) => {
      const sql = state.storage.sql;
      const woken = new CollectionIndex(state, env);
      expect(count(sql, SHADOW)).toBe(200);
      // Generation 1 is still what search finds.
      expect(woken.search(kq("first edition handbook", 3)).hits.map((h) => h.document_id)).toEqual(["big"]);
      expect(woken.search(kq("obelisk", 3)).hits).toEqual([]);
    });
    // The retry (the queue redelivers): the client sends every page again, the last with the commit.
    for (const page of all("obelisk", 2)) await stub.write(page);
    expect((await stub.search(kq("obelisk section 7", 1))).hits[0]).toMatchObject({ document_id: "big", ordinal: 7 });
    expect((await stub.search(kq("first edition", 3))).hits.map((h) => h.document_id)).not.toContain("big");
    await runInDurableObject(stub, (_o: CollectionIndex, state) => {
      const sql = state.storage.sql;
      expect(count(sql, "SELECT COUNT(*) AS n FROM chunks")).toBe(N);
      expect(count(sql, "SELECT COUNT(*) AS n FROM chunk_postings")).toBe(N);
      expect(count(sql, ORPHANS)).toBe(0);
      sql.exec("INSERT INTO chunks_fts (chunks_fts) VALUES ('integrity-check')");
    });
  });

  it("converts an object of the previous layout once when it wakes: vectors and analyses by row id, staged pages and crashed commits gone", async () => {
    const stub = freshStub();
    const vs = vectors(3, 41);
    await put(stub, "doc", vs, { texts: ["alpha beta", "gamma delta", "epsilon zeta"] });
    await runInDurableObject(stub, (_o: CollectionIndex, state) => {
      const sql = state.storage.sql;
      // What the previous layout held: vectors and analyses keyed by (document_id, ordinal), staged
      // pages in their own table, and a paged commit that crashed after its first page (its journal
      // entry and shadow rows).
      sql.exec(
        "CREATE TABLE vectors (document_id TEXT NOT NULL, ordinal INTEGER NOT NULL, scale REAL NOT NULL, q BLOB NOT NULL, PRIMARY KEY (document_id, ordinal)) WITHOUT ROWID",
      );
      sql.exec("INSERT INTO vectors SELECT c.document_id, c.ordinal, v.scale, v.q FROM chunk_vectors v JOIN chunks c ON c.id = v.id");
      sql.exec(
        "CREATE TABLE chunk_statements (document_id TEXT NOT NULL, ordinal INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (document_id, ordinal)) WITHOUT ROWID",
      );
      sql.exec("INSERT INTO chunk_statements SELECT c.document_id, c.ordinal, a.data FROM chunk_analysis a JOIN chunks c ON c.id = a.id");
      sql.exec("DELETE FROM chunk_vectors");
      sql.exec("DELETE FROM chunk_analysis");
      sql.exec(
        "CREATE TABLE staged (document_id TEXT NOT NULL, generation INTEGER NOT NULL, ordinal INTEGER NOT NULL, text TEXT NOT NULL, PRIMARY KEY (document_id, generation, ordinal)) WITHOUT ROWID",
      );
      sql.exec("INSERT INTO staged VALUES ('doc', 2, 0, 'staged text')");
      sql.exec("INSERT INTO meta (key, value) VALUES ('commit:doc', '{\"generation\":2,\"chunkCount\":300}')");
      sql.exec(
        "INSERT INTO chunks (document_id, ordinal, text, char_start, char_end, token_count) VALUES (?, 0, 'crashed page', 0, 12, 2)",
        "\u0001commit:2:doc",
      );
      const analyses = sql.exec<{ ordinal: number; data: string }>("SELECT ordinal, data FROM chunk_statements ORDER BY ordinal").toArray();

      const woken = new CollectionIndex(state, env);
      const tables = sql
        .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('vectors', 'chunk_statements', 'staged')")
        .toArray();
      expect(tables).toEqual([]);
      expect(count(sql, SHADOW)).toBe(0);
      expect(count(sql, "SELECT COUNT(*) AS n FROM meta WHERE key = 'commit:doc'")).toBe(0);
      expect(count(sql, ORPHANS)).toBe(0);
      expect(count(sql, "SELECT COUNT(*) AS n FROM chunk_vectors")).toBe(3);
      expect(
        sql
          .exec<{ ordinal: number; data: string }>(
            "SELECT c.ordinal, a.data FROM chunk_analysis a JOIN chunks c ON c.id = a.id ORDER BY c.ordinal",
          )
          .toArray(),
      ).toEqual(analyses);
      expect(woken.search(vq(vs[1], 1)).hits[0]).toMatchObject({ document_id: "doc", ordinal: 1 });
      // Idempotent: the next wake finds nothing to convert.
      const again = new CollectionIndex(state, env);
      expect(again.search(vq(vs[2], 1)).hits[0]).toMatchObject({ document_id: "doc", ordinal: 2 });
    });
  });

  it("a failure mid-way or at the flip removes only the attempt's staged rows: the previous generation stays searchable", async () => {
    const stub = freshStub();
    await put(stub, "big", null, { texts: ["the first edition of the handbook"] });
    await runInDurableObject(stub, async (instance: CollectionIndex, state) => {
      const sql = state.storage.sql;
      const previous = () => instance.search(kq("first edition handbook", 3)).hits.map((h) => [h.document_id, h.ordinal]);
      expect(previous()).toEqual([["big", 0]]);

      // Mid-way: the attempt's own cleanup (pipeline.ts, after a failure elsewhere) removes its staged rows.
      await instance.write(bigPage(0, 100, "monolith", 2));
      await instance.write(bigPage(100, 200, "monolith", 2));
      const first = instance.write(bigPage(200, N, "monolith", 2, undefined, true));
      expect(count(sql, SHADOW)).toBe(N);
      expect(instance.remove("big", 2)).toEqual({ removed: false, kept: 1 });
      await expect(first).rejects.toThrow(/incomplete_document/);
      expect(count(sql, SHADOW)).toBe(0);
      expect(previous()).toEqual([["big", 0]]);
      expect(instance.search(kq("monolith", 3)).hits).toEqual([]);

      // A call of several slices stops at the removal: no slice after it leaves orphans.
      const sliced = instance.write({
        document: { id: "big", generation: 3, name: "big.txt", metadata: "{}" },
        chunks: Array.from({ length: N }, (_, i) => chunk(i, bigText(i, "monolith"))),
        commit: { chunkCount: N },
      });
      expect(count(sql, SHADOW)).toBe(100);
      instance.remove("big", 3);
      await expect(sliced).rejects.toThrow(/incomplete_document/);
      expect(count(sql, SHADOW)).toBe(0);

      // At the flip: a fault injected into its transaction rolls the flip back; the staged rows go.
      sql.exec(
        "CREATE TRIGGER inject_fault BEFORE INSERT ON names WHEN new.document_id = 'big' BEGIN SELECT RAISE(ABORT, 'injected fault'); END",
      );
      await instance.write(bigPage(0, 100, "monolith", 4));
      await instance.write(bigPage(100, 200, "monolith", 4));
      await expect(instance.write(bigPage(200, N, "monolith", 4, undefined, true))).rejects.toThrow(/injected fault/);
      expect(count(sql, SHADOW)).toBe(0);
      expect(count(sql, "SELECT COUNT(*) AS n FROM chunks")).toBe(1);
      expect(count(sql, ORPHANS)).toBe(0);
      expect(previous()).toEqual([["big", 0]]);
      expect(instance.search(kq("monolith", 3)).hits).toEqual([]);
      const cold = new CollectionIndex(state, env);
      expect(cold.search(kq("first edition handbook", 3)).hits.map((h) => [h.document_id, h.ordinal])).toEqual([["big", 0]]);
      sql.exec("DROP TRIGGER inject_fault");

      // A deletion during a commit wins: the commit ends stale and leaves nothing behind.
      await instance.write(bigPage(0, 100, "monolith", 5));
      await instance.write(bigPage(100, 200, "monolith", 5));
      const third = instance.write(bigPage(200, N, "monolith", 5, undefined, true));
      instance.remove("big");
      expect(await third).toEqual({ status: "stale", chunkCount: 0 });
      expect(count(sql, SHADOW)).toBe(0);
      expect(count(sql, "SELECT COUNT(*) AS n FROM chunks")).toBe(0);
      expect(count(sql, ORPHANS)).toBe(0);
    });
  });

  it("a newer generation staged during a commit keeps its rows, and commits after it", async () => {
    const stub = freshStub();
    await runInDurableObject(stub, async (instance: CollectionIndex, state) => {
      const sql = state.storage.sql;
      await instance.write(bigPage(0, 100, "pyramid", 1));
      await instance.write(bigPage(100, 200, "pyramid", 1));
      const older = instance.write(bigPage(200, N, "pyramid", 1, undefined, true));
      // A re-index of the same document stages its first page while generation 1 waits for its flip.
      expect(await instance.write(bigPage(0, 100, "sphinx", 2))).toMatchObject({ status: "staged" });
      expect(await older).toEqual({ status: "ready", chunkCount: N });
      expect(count(sql, SHADOW)).toBe(100);
      expect(instance.search(kq("pyramid section 3", 1)).hits[0]).toMatchObject({ document_id: "big", ordinal: 3 });
      await instance.write(bigPage(100, 200, "sphinx", 2));
      expect(await instance.write(bigPage(200, N, "sphinx", 2, undefined, true))).toEqual({ status: "ready", chunkCount: N });
      expect(instance.search(kq("sphinx section 3", 1)).hits[0]).toMatchObject({ document_id: "big", ordinal: 3 });
      expect(instance.search(kq("pyramid", 1)).hits).toEqual([]);
      expect(count(sql, SHADOW)).toBe(0);
      expect(count(sql, ORPHANS)).toBe(0);
    });
  });

  it("reserves ids starting with a control character for shadow rows", async () => {
    const stub = freshStub();
    await runInDurableObject(stub, (instance: CollectionIndex) => {
      for (const id of ["\u0001s:x\u00021", "\u0001commit:1:x"]) {
        expect(() =>
          instance.write({ document: { id, generation: 1, name: "x", metadata: "{}" }, chunks: [], commit: { chunkCount: 0 } }),
        ).toThrow(/invalid_document/);
        expect(() => instance.remove(id)).toThrow(/invalid_id/);
      }
    });
  });
});

describe("collection index: the document name as a keyword field", () => {
  it("a query naming a document finds it, though its text never names itself; the name goes with the document", async () => {
    const stub = freshStub();
    await put(stub, "book-war-and-peace", null, { texts: ["CHAPTER I. It was in July, 1805, and the speaker was Anna Pavlovna."] });
    await put(stub, "essay", null, { texts: ["The war ended in the spring, and the soldiers went home."] });
    await put(stub, "notes", null, { texts: ["The first chapter of the report covers the budget."] });
    const ids = async (q: string) => (await stub.search(kq(q, 3))).hits.map((h) => h.document_id);
    // "war" and "peace" appear only in the name: the book comes first, by its first chunk.
    expect((await ids("War and Peace"))[0]).toBe("book-war-and-peace");
    // The name adds to the text's own score: the book's chunk also matches "chapter".
    expect((await ids("first chapter of War and Peace"))[0]).toBe("book-war-and-peace");
    // A query that does not name it ranks by the text alone.
    expect((await ids("budget report"))[0]).toBe("notes");
    await runInDurableObject(stub, (_o: CollectionIndex, state) => {
      expect(state.storage.sql.exec<{ name: string }>("SELECT name FROM names WHERE document_id = 'book-war-and-peace'").one().name).toBe(
        "book war and peace",
      );
    });
    await stub.remove("book-war-and-peace");
    expect(await ids("War and Peace")).toEqual(["essay"]);
    await runInDurableObject(stub, (_o: CollectionIndex, state) => {
      expect(state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM names").one().n).toBe(2);
      state.storage.sql.exec("INSERT INTO names_fts (names_fts) VALUES ('integrity-check')");
    });
  });
});

describe("collection index: errors, caches and segment merges", () => {
  // A filter too large for one statement (the keys' filter AND the request's can get there): the
  // object's typed error reaches the Worker as 400 invalid_filter, never a 500.
  const huge: MetadataFilter = {
    type: "and",
    filters: Array.from({ length: 60 }, (_, i) => ({ type: "in" as const, key: `k${i}`, value: ["a", 1] })),
  };

  it("a filter too large for the index is a typed IndexError, and the Worker answers 400 invalid_filter", async () => {
    const stub = freshStub();
    await put(stub, "doc", null, { texts: ["alpha beta"] });
    const err = await stub.search(kq("alpha", 5, { filter: huge })).catch((e: unknown) => e);
    expect(indexErrorOf(err)).toMatchObject({ code: "invalid_filter" });
    const col = await createCollection();
    const collection = await getCollectionRow(env.DB, col);
    if (!collection) throw new Error("collection row missing");
    const apiErr = await search(env, collection, { query: "alpha", topK: 5, mode: "keyword", filter: huge }).catch((e: unknown) => e);
    expect(apiErr).toBeInstanceOf(ApiError);
    expect(apiErr).toMatchObject({ code: "invalid_filter", status: 400 });
  });

  it("results and allowed sets are cached per write counter: a commit is seen at once", async () => {
    const stub = freshStub();
    await put(stub, "a", null, { texts: ["the walrus sleeps"], metadata: { team: "x" } });
    const filter: MetadataFilter = { type: "eq", key: "team", value: "x" };
    expect((await stub.search(kq("walrus", 5, { filter }))).hits.map((h) => h.document_id)).toEqual(["a"]);
    const again = await stub.search(kq("  WALRUS ", 5, { filter }));
    expect(again.timings).toEqual({ cached: 0 });
    expect(again.hits.map((h) => h.document_id)).toEqual(["a"]);
    await put(stub, "b", null, { texts: ["a walrus swims"], metadata: { team: "x" } });
    const after = await stub.search(kq("walrus", 5, { filter }));
    expect(after.timings).not.toEqual({ cached: 0 });
    expect(after.hits.map((h) => h.document_id).sort()).toEqual(["a", "b"]);
    await stub.remove("a");
    expect((await stub.search(kq("walrus", 5, { filter }))).hits.map((h) => h.document_id)).toEqual(["b"]);
  });

  it("the result cache tells query vectors apart: the same text with another vector is a miss", async () => {
    const stub = freshStub();
    const vs = vectors(3, 11);
    await put(stub, "d", vs, { texts: ["red fox", "red fox jumps", "blue whale"] });
    const req = (queryVector: Float32Array | number[]): IndexSearchRequest => ({
      ...kq("red fox", 3),
      mode: "hybrid",
      vectorWeight: 0.5,
      queryVector,
    });
    const first = await stub.search(req(vs[0]));
    expect(first.timings).not.toEqual({ cached: 0 });
    // The same vector as a plain array (what JSON-shaped callers send) is the same key.
    expect((await stub.search(req(Array.from(vs[0])))).timings).toEqual({ cached: 0 });
    const other = await stub.search(req(vs[2]));
    expect(other.timings).not.toEqual({ cached: 0 });
    // One float's last bit differs: a different vector, a different key.
    const nudged = Float32Array.from(vs[0]);
    const bits = new Uint32Array(nudged.buffer);
    bits[5] ^= 1;
    expect((await stub.search(req(nudged))).timings).not.toEqual({ cached: 0 });
  });

  it("hybrid with vector weight 0 skips the vector scan when keyword search fills the hits, and ranks the same", async () => {
    const stub = freshStub();
    const vs = vectors(3, 5);
    await put(stub, "d", vs, { texts: ["red fox", "red fox jumps", "blue whale"] });
    const req = (extra: Partial<IndexSearchRequest>): IndexSearchRequest => ({
      ...kq("red fox", 2),
      mode: "hybrid",
      queryVector: vs[2],
      ...extra,
    });
    const skipped = await stub.search(req({ vectorWeight: 0 }));
    expect(skipped.timings.vector).toBeUndefined();
    expect(skipped.hits.map((h) => h.ordinal)).toEqual((await stub.search(kq("red fox", 2))).hits.map((h) => h.ordinal));
    // Not enough keyword hits: the vector side adds the rest.
    const filled = await stub.search(req({ vectorWeight: 0, topK: 3, hydrate: 3, query: "whale" }));
    expect(filled.timings.vector).toBeDefined();
    expect(filled.hits).toHaveLength(3);
  });

  it("commits schedule an alarm that merges the FTS segments they added, only where a query reads them", async () => {
    const stub = freshStub();
    for (let i = 0; i < 12; i++) await put(stub, `d${i}`, null, { texts: [`segment number ${i} 東京の天気 ${i}`] });
    const segments = (table: string) =>
      runInDurableObject(
        stub,
        (_o, state) => state.storage.sql.exec<{ n: number }>(`SELECT COUNT(DISTINCT segid) AS n FROM ${table}_idx`).one().n,
      );
    const before = await segments("chunks_tri");
    const porterBefore = await segments("chunks_fts");
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    while (await runDurableObjectAlarm(stub)) {} // re-armed while work remains
    expect(await segments("chunks_tri")).toBeLessThan(before);
    // No query reads chunks_fts (porter terms are scored in memory): its segments are left as they are.
    expect(porterBefore).toBeGreaterThan(1);
    expect(await segments("chunks_fts")).toBe(porterBefore);
    expect((await stub.search(kq("東京の天気", 20))).hits).toHaveLength(12);
    await runInDurableObject(stub, (_o, state) => {
      state.storage.sql.exec("INSERT INTO chunks_tri (chunks_tri) VALUES ('integrity-check')");
    });
  });
});
