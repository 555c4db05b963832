/**
 * The in-memory BM25 index (src/retrieval/collection-index/bm25.ts) on its own, in V8 (Node), warmed:
 * build time from persisted binary postings (varint blobs with term ids, as `chunk_postings` and
 * `term_ids` store them; build = the two-pass decode of every blob), memory, and per query
 * the time and the postings read (a deterministic cost counter), with and without MaxScore pruning
 * (k = 50 vs k = every row). SciFact (../shared/eval/scifact; its 300 test queries) and a synthetic
 * 100,000-chunk collection (fixed seed; BENCH_QUICK=1: 10,000). The whole object (RPC, hydration)
 * is measured in workerd by bench/keyword-index.workerd.ts.
 *
 *   node bench/run.mjs --only keyword-index
 *
 * Writes bench/results/keyword-index.json.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { Bm25Index } from "../src/retrieval/collection-index/bm25";
import { queryTerms } from "../src/retrieval/collection-index/keyword-index";
import { decodePairs, type EncodedPostings, encodeChunk, TermDictionary } from "../src/retrieval/collection-index/postings";
import { keywordQuery } from "../src/retrieval/collection-index/query";

const QUICK = !!process.env.BENCH_QUICK;
const SYNTH = QUICK ? 10_000 : 100_000;

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}
const SYL = ["ka", "lo", "mi", "ne", "ru", "to", "sa", "vi", "en", "or", "ti", "ba", "qu", "ex", "zo", "pa", "de", "gu", "fi", "ho"];
const word = (i: number) => {
  let w = "";
  let x = i + 1;
  while (x > 0) {
    w += SYL[x % 20];
    x = Math.floor(x / 20);
  }
  return w;
};
const VOCAB = 50_000;
const zipf = (r: () => number) => Math.min(VOCAB - 1, Math.floor(Math.exp(r() * Math.log(VOCAB)) - 1));

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

/** A dictionary persisted nowhere (the object's is `term_ids`). */
const newDictionary = () => new TermDictionary({ allTermIds: () => [], insertTermId: () => {} });

function run(name: string, dict: TermDictionary, rows: EncodedPostings[], queries: string[]) {
  // As the object wakes: the rows' blobs as storage returns them (fresh buffers), then the build.
  const blobs = rows.map((r) => r.blob.slice());
  const lengths = rows.map((r) => r.length);
  const t0 = performance.now();
  const index = Bm25Index.build(dict.limit, lengths, blobs, decodePairs);
  const buildMs = performance.now() - t0;
  const storedBytes = blobs.reduce((s, b) => s + b.byteLength + 4, 0);
  const prepared = queries.map((q) =>
    queryTerms(keywordQuery(q).words).flatMap((t) => {
      const id = dict.get(t.term);
      return id === undefined ? [] : [{ id, weight: t.weight }];
    }),
  );
  for (let w = 0; w < 3; w++) for (const t of prepared) index.top(t, 50); // warm up
  const times: number[] = [];
  const costs: number[] = [];
  const full: number[] = [];
  for (const t of prepared) {
    const a = performance.now();
    for (let rep = 0; rep < 5; rep++) index.top(t, 50);
    times.push((performance.now() - a) / 5);
    costs.push(index.lastCost);
    index.top(t, index.rows);
    full.push(index.lastCost);
  }
  const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
  const r = {
    rows: index.rows,
    postings: index.postings,
    terms: index.termCount,
    memoryMB: +(index.memoryBytes / 1e6).toFixed(1),
    bytesPerPosting: +(index.memoryBytes / index.postings).toFixed(1),
    buildMs: Math.round(buildMs),
    storedBytesPerPosting: +(storedBytes / index.postings).toFixed(2),
    queries: queries.length,
    medianQueryMs: +pct(times, 0.5).toFixed(3),
    p95QueryMs: +pct(times, 0.95).toFixed(3),
    medianPostingsRead: pct(costs, 0.5),
    postingsReadWithoutPruning: pct(full, 0.5),
    pruningSaves: `${(100 * (1 - sum(costs) / sum(full))).toFixed(0)}% of postings reads`,
  };
  console.log(name, r);
  return r;
}

const result: Record<string, unknown> = { date: new Date().toISOString() };
const scifact = resolve("../shared/eval/scifact");
if (existsSync(join(scifact, "corpus.jsonl"))) {
  const dict = newDictionary();
  const rows: EncodedPostings[] = [];
  for (const l of readFileSync(join(scifact, "corpus.jsonl"), "utf8").split("\n")) {
    if (!l.trim()) continue;
    const d = JSON.parse(l);
    const text = `${d.title}\n\n${d.text}`;
    const mid = text.indexOf(". ", Math.floor(text.length / 2));
    for (const c of text.length > 1200 && mid > 0 ? [text.slice(0, mid + 1), text.slice(mid + 2)] : [text]) rows.push(encodeChunk(c, dict));
  }
  const queries = readFileSync(join(scifact, "queries.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l).text as string);
  result.scifact = run("SciFact", dict, rows, queries);
}
{
  const dict = newDictionary();
  const rows: EncodedPostings[] = [];
  for (let d = 0; d < SYNTH / 100; d++) {
    const r = rng(1000 + d);
    for (let o = 0; o < 100; o++) {
      const n = 60 + Math.floor(r() * 180);
      const ws: string[] = [];
      for (let i = 0; i < n; i++) ws.push(word(zipf(r)));
      rows.push(encodeChunk(`${ws.join(" ")}.`, dict));
    }
  }
  const queries = Array.from({ length: 200 }, (_, i) => {
    const r = rng(7_000_000 + i);
    return Array.from({ length: 1 + Math.floor(r() * 8) }, () => word(zipf(r))).join(" ");
  });
  result.synthetic = run(`synthetic ${SYNTH}`, dict, rows, queries);
}
result.loadAverage = +loadavg()[0].toFixed(2);
mkdirSync("bench/results", { recursive: true });
writeFileSync(`bench/results/keyword-index${QUICK ? "-quick" : ""}.json`, `${JSON.stringify(result, null, 2)}\n`);
