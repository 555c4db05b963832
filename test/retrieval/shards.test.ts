/**
 * Document-hash shards (src/retrieval/shards.ts): the same documents written to one object and,
 * routed by `shardOf`, to four, must answer every generated query with the same top-k: keyword,
 * hybrid (convex at two weights, and RRF) and vector, with local vectors (whitened, as offline) and
 * with Vectorize-style candidates. Scores position by position within float tolerance, and the
 * same chunks within each group of equal scores (ties aside, as in keyword-equality.test.ts).
 * On SciFact (../shared, when present; REQUIRE_CORPUS=1 makes it required) the 300 test queries
 * give the same keyword top-50 from one object and from 8 shards (the 500,000-chunk plan's count).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { fetchShared, SKIP_MESSAGE } from "../corpus";
import type { ChunkInput, CollectionIndex, IndexHit, IndexSearchRequest } from "../../src/retrieval/collection-index/object";
import { sumKeywordStats } from "../../src/retrieval/collection-index/types";
import { fanOutSearch, MAX_SHARDS, shardName, shardOf } from "../../src/retrieval/shards";

type Stub = DurableObjectStub<CollectionIndex>;
const stubNamed = (name: string): Stub => env.COLLECTION_INDEX.get(env.COLLECTION_INDEX.idFromName(name));

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

const DIMS = 24;
const SHARDS = 4;

interface Doc {
  id: string;
  name: string;
  chunks: string[];
  vectors: number[][];
}

/** A fixed-seed corpus: Zipf-distributed words, some repeated within a chunk, a few names that queries match. */
function corpus(seed: number, n: number): { docs: Doc[]; vocab: string[] } {
  const r = rng(seed);
  const syll = ["ka", "lo", "mi", "ne", "tor", "van", "qui", "sel", "dra", "pum", "ex", "ol", "ri", "sta", "ber"];
  const vocab: string[] = [];
  const seen = new Set<string>();
  while (vocab.length < 1500) {
    const w = Array.from({ length: 2 + Math.floor(r() * 3) }, () => syll[Math.floor(r() * syll.length)]).join("");
    if (!seen.has(w)) {
      seen.add(w);
      vocab.push(w);
    }
  }
  const zipf = () => vocab[Math.min(vocab.length - 1, Math.floor(Math.exp(r() * Math.log(vocab.length + 1)) - 1))];
  const docs: Doc[] = [];
  for (let d = 0; d < n; d++) {
    const chunks: string[] = [];
    const nChunks = 1 + Math.floor(r() * 3);
    for (let c = 0; c < nChunks; c++) chunks.push(Array.from({ length: 8 + Math.floor(r() * 60) }, zipf).join(" "));
    const vectors = chunks.map(() => Array.from({ length: DIMS }, () => r() * 2 - 1));
    // One document in ten is named by two words of the vocabulary (the name field, BM25F); the rest by a number.
    const name = d % 10 === 0 ? `${vocab[200 + ((d * 7) % 900)]} ${vocab[300 + ((d * 13) % 900)]}.md` : `file-${d}.txt`;
    docs.push({ id: `doc-${seed}-${d}`, name, chunks, vectors });
  }
  return { docs, vocab };
}

async function load(stubs: Stub[], docs: Doc[]): Promise<void> {
  const batch = 32;
  for (let i = 0; i < docs.length; i += batch) {
    await Promise.all(
      docs.slice(i, i + batch).map((d) => {
        const chunks: ChunkInput[] = d.chunks.map((text, ordinal) => ({
          ordinal,
          text,
          start: 0,
          end: text.length,
          page: null,
          heading: null,
          tokens: 1,
        }));
        const stub = stubs[shardOf(d.id, stubs.length)];
        return stub.write({
          document: { id: d.id, generation: 1, name: d.name, metadata: JSON.stringify({ g: d.chunks.length }) },
          chunks,
          vectors: d.vectors,
          commit: { chunkCount: chunks.length },
        });
      }),
    );
  }
}

const close = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));

/** Differences between two best-first hit lists, ties aside (empty when equal). */
function differences(got: IndexHit[], want: IndexHit[], tol: number, cut: number | null): string[] {
  const out: string[] = [];
  if (got.length !== want.length) out.push(`length ${got.length} ≠ ${want.length}`);
  const n = Math.min(got.length, want.length);
  for (let i = 0; i < n; i++) {
    if (!close(got[i].score, want[i].score, tol)) out.push(`#${i}: score ${got[i].score} ≠ ${want[i].score}`);
    const gk = got[i].scores.keyword;
    const wk = want[i].scores.keyword;
    // The one tie that shows in a hit: chunks with the pool's last keyword score, where the pool cut
    // through them, are in one keyword list and not the other (their keyword part normalises to 0).
    const tieAtCut = (gk === null && wk === cut) || (wk === null && gk === cut);
    if (!tieAtCut && ((gk === null) !== (wk === null) || (gk !== null && wk !== null && !close(gk, wk, tol))))
      out.push(`#${i}: keyword ${gk} ≠ ${wk}`);
    const gv = got[i].scores.vector;
    const wv = want[i].scores.vector;
    if ((gv === null) !== (wv === null) || (gv !== null && wv !== null && !close(gv, wv, tol))) out.push(`#${i}: vector ${gv} ≠ ${wv}`);
  }
  if (out.length) return out;
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && close(want[j].score, want[i].score, tol)) j++;
    if (j < n) {
      const ids = (l: IndexHit[]) =>
        l
          .slice(i, j)
          .map((h) => `${h.document_id}:${h.ordinal}`)
          .sort()
          .join();
      if (ids(got) !== ids(want)) out.push(`#${i}-${j - 1}: ${ids(got)} ≠ ${ids(want)}`);
    }
    i = j;
  }
  return out;
}

function queries(vocab: string[], seed: number, n: number): string[] {
  const r = rng(seed);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const terms = 1 + Math.floor(r() * 12);
    const q: string[] = [];
    for (let t = 0; t < terms; t++) {
      // Mix rare (the tail) and common (the head) words, and sometimes repeat one.
      const w = r() < 0.5 ? vocab[Math.floor(r() * 40)] : vocab[Math.floor(r() * vocab.length)];
      q.push(w);
      if (r() < 0.1) q.push(w);
    }
    out.push(q.join(" "));
  }
  return out;
}

describe("document-hash shards", () => {
  it("places documents stably and evenly, shard 0 keeping the collection's own object", () => {
    expect(shardName("c1", 0)).toBe("c1");
    expect(shardName("c1", 3)).toBe("c1:3");
    expect(shardOf("anything", 1)).toBe(0);
    const counts = new Array(8).fill(0);
    for (let i = 0; i < 8000; i++) counts[shardOf(`doc_${i}`, 8)]++;
    for (const c of counts) expect(c).toBeGreaterThan(800);
    expect(shardOf("doc_42", 8)).toBe(shardOf("doc_42", 8));
    expect(MAX_SHARDS).toBeGreaterThanOrEqual(8);
  });

  it("a 4-shard collection ranks every query as the 1-shard one (keyword, hybrid, vector; local and Vectorize candidates)", async () => {
    const { docs, vocab } = corpus(7, 600);
    const tag = crypto.randomUUID();
    const one = [stubNamed(`one-${tag}`)];
    const four = Array.from({ length: SHARDS }, (_, s) => stubNamed(shardName(`four-${tag}`, s)));
    await load(one, docs);
    await load(four, docs);
    // Every shard holds documents (the split is real), and together exactly the collection's.
    const perShard = await Promise.all(four.map((s) => s.stats()));
    for (const st of perShard) expect(st.documents).toBeGreaterThan(100);
    expect(perShard.reduce((a, s) => a + s.chunks, 0)).toBe((await one[0].stats()).chunks);

    const r = rng(99);
    const qs = queries(vocab, 11, 240);
    const failures: string[] = [];
    let nonEmpty = 0;
    let named = 0;
    const compared = new Map<string, number>();
    const nameWords = new Set(docs.filter((d) => !d.name.startsWith("file-")).flatMap((d) => d.name.replace(".md", "").split(" ")));
    for (let i = 0; i < qs.length; i++) {
      const query = qs[i];
      if (query.split(" ").some((w) => nameWords.has(w))) named++;
      const queryVector = Array.from({ length: DIMS }, () => r() * 2 - 1);
      const candidates = Array.from({ length: 60 }, (_, j) => {
        const d = docs[Math.floor(r() * docs.length)];
        return { documentId: d.id, ordinal: Math.floor(r() * d.chunks.length), score: 1 - j / 100 };
      }).filter((c, j, all) => all.findIndex((x) => x.documentId === c.documentId && x.ordinal === c.ordinal) === j);
      const base = { query, topK: 20, pool: 50, hydrate: 20 };
      const variants: [string, IndexSearchRequest, number][] = [
        ["keyword", { ...base, mode: "keyword", vectorWeight: 0 }, 1e-9],
        ["hybrid local w0", { ...base, mode: "hybrid", vectorWeight: 0, queryVector, whiten: true }, 1e-6],
        ["hybrid local w.5", { ...base, mode: "hybrid", vectorWeight: 0.5, queryVector, whiten: true }, 1e-6],
        ["hybrid rrf", { ...base, mode: "hybrid", vectorWeight: 0.5, fusion: "rrf", queryVector, whiten: true }, 1e-6],
        ["vector local", { ...base, mode: "vector", vectorWeight: 1, queryVector, whiten: true }, 1e-6],
        ["hybrid vectorize", { ...base, mode: "hybrid", vectorWeight: 0.5, vectorCandidates: candidates }, 1e-9],
        ["filtered keyword", { ...base, mode: "keyword", vectorWeight: 0, filter: { type: "eq", key: "g", value: 2 } }, 1e-9],
      ];
      // Rank fusion uses keyword ranks, and ranks among equal scores depend on write order (one
      // object) or shard order (shards): RRF is compared where the keyword pool has no equal scores.
      const pool = (await one[0].search({ ...base, topK: 50, hydrate: 50, mode: "keyword", vectorWeight: 0 })).hits;
      const cut = pool.length === 50 ? pool[49].scores.keyword : null;
      const untied = pool.every((h, j) => j === 0 || h.scores.keyword !== pool[j - 1].scores.keyword);
      for (const [label, req, tol] of variants) {
        // Only some variants run per query: every one is exercised on 1/2 of the queries or more.
        if (label !== "keyword" && label !== "hybrid local w.5" && (i + label.length) % 2 === 1) continue;
        if (label === "hybrid rrf" && !untied) continue;
        compared.set(label, (compared.get(label) ?? 0) + 1);
        const want = (await one[0].search(req)).hits;
        const got = (await fanOutSearch(four, req)).hits;
        if (label === "keyword" && want.length > 0) nonEmpty++;
        const d = differences(got, want, tol, cut);
        if (d.length) failures.push(`${label} ${JSON.stringify(query)}: ${d.slice(0, 3).join("; ")}`);
      }
    }
    expect(failures.length, failures.slice(0, 10).join("\n")).toBe(0);
    for (const n of compared.values()) expect(n).toBeGreaterThan(30);
    expect(compared.size).toBe(7);
    // The queries found something and exercised the name field.
    expect(nonEmpty).toBeGreaterThan(qs.length * 0.9);
    expect(named).toBeGreaterThan(20);
  }, 300_000);

  it("SciFact: the 300 test queries rank the same in one object and in 8 shards (keyword top-50)", async (ctx) => {
    const corpusRes = await fetchShared("eval/scifact/corpus.jsonl");
    if (!corpusRes?.ok) {
      if (env.REQUIRE_CORPUS === "1") throw new Error("REQUIRE_CORPUS=1 but ../shared/eval/scifact could not be read");
      console.warn(SKIP_MESSAGE);
      ctx.skip();
      return;
    }
    const docs: Doc[] = (await corpusRes.text())
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => {
        const d = JSON.parse(l) as { _id?: string; id?: string; title: string; text: string };
        const text = `${d.title}\n\n${d.text}`;
        // About two chunks per abstract, as in keyword-equality.test.ts.
        const mid = text.indexOf(". ", Math.floor(text.length / 2));
        const chunks = text.length > 1200 && mid > 0 ? [text.slice(0, mid + 1), text.slice(mid + 2)] : [text];
        return {
          id: String(d._id ?? d.id),
          name: `${d._id ?? d.id}.txt`,
          chunks,
          vectors: chunks.map(() => Array.from({ length: DIMS }, (_, i) => Math.sin(i + text.length))),
        };
      });
    const queriesRes = await fetchShared("eval/scifact/queries.jsonl");
    if (!queriesRes?.ok) throw new Error("../shared/eval/scifact/queries.jsonl could not be read");
    const queries = (await queriesRes.text())
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => (JSON.parse(l) as { text: string }).text);
    expect(queries).toHaveLength(300);
    const tag = crypto.randomUUID();
    const one = [stubNamed(`sf-one-${tag}`)];
    const eight = Array.from({ length: 8 }, (_, s) => stubNamed(shardName(`sf-eight-${tag}`, s)));
    await load(one, docs);
    await load(eight, docs);
    const failures: string[] = [];
    let nonEmpty = 0;
    for (const query of queries) {
      const req: IndexSearchRequest = { query, topK: 50, pool: 50, hydrate: 50, mode: "keyword", vectorWeight: 0 };
      const want = (await one[0].search(req)).hits;
      const got = (await fanOutSearch(eight, req)).hits;
      if (want.length > 0) nonEmpty++;
      const d = differences(got, want, 1e-9, want.length === 50 ? want[49].scores.keyword : null);
      if (d.length) failures.push(`${JSON.stringify(query)}: ${d.slice(0, 3).join("; ")}`);
    }
    expect(failures.length, failures.slice(0, 10).join("\n")).toBe(0);
    expect(nonEmpty).toBe(300);
    // What the split costs in rows moved: each shard returns its whole keyword pool, hydrated.
    let raw = 0;
    for (const query of queries.slice(0, 100)) {
      const all = await Promise.all(eight.map((x) => x.termStats(query)));
      const stats = sumKeywordStats(all.map((r) => r.stats));
      const parts = await Promise.all(
        eight.map((x) => x.search({ query, topK: 50, pool: 50, hydrate: 50, mode: "keyword", vectorWeight: 0, stats, raw: true })),
      );
      raw += parts.reduce((n, p) => n + p.hits.length, 0);
    }
    console.log(JSON.stringify({ scifact_shards: 8, raw_rows_per_search: raw / 100, one_object_rows: 50 }));
  }, 300_000);

  it("a sealed shard seals the whole search", async () => {
    const tag = crypto.randomUUID();
    const stubs = Array.from({ length: 2 }, (_, s) => stubNamed(shardName(`seal-${tag}`, s)));
    const { docs } = corpus(3, 20);
    await load(stubs, docs);
    await stubs[1].seal();
    const res = await fanOutSearch(stubs, { query: docs[0].chunks[0], topK: 5, mode: "keyword", vectorWeight: 0, pool: 10, hydrate: 5 });
    expect(res.sealed).toBe(true);
    expect(res.hits).toEqual([]);
  });
});
