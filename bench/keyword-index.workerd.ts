/**
 * The collection index's keyword side inside workerd (Miniflare, SQLite storage on disk), issue 18:
 * - SciFact (../shared/eval/scifact, 5,183 abstracts as ~2 chunks each): the cold start (first
 *   query after a restart builds the in-memory BM25 index from `chunk_postings`), then the object time
 *   per keyword search over the 300 test queries (unique; each answered once), its memory;
 * - a synthetic collection of 100,000 chunks (fixed seed, generated here: Zipf-distributed words of a
 *   50,000-word vocabulary, 60-240 tokens per chunk, documents of 100 chunks): the same figures.
 * - one large document (BIGDOC chunks, default 5,000) committed while trivial RPCs to the same
 *   object run back to back: the longest round trip is the longest stall (issue 17.5).
 * Object time = round trip of a search RPC less the round trip of a trivial RPC to the same object
 * (workerd's clocks do not advance during execution, so the object cannot time itself), median
 * over the queries. Searches use mode keyword, top_k 10, pool 50 (what hybrid runs with the local
 * embedder: weight 0 skips the vector scan when keyword search fills the hits).
 *
 *   node bench/run.mjs --only keyword-index        (or BENCH_QUICK=1 for a 10,000-chunk synthetic run)
 *
 * Writes bench/results/keyword-index-workerd.json.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Miniflare } from "miniflare";
import { bundleForWorkerd, indexMiniflare } from "./lib/index-miniflare";

const QUICK = !!process.env.BENCH_QUICK;
const SYNTH = Number(process.env.ROWS ?? (QUICK ? 10_000 : 100_000));
const SCIFACT = resolve("../shared/eval/scifact");

const work = mkdtempSync(join(tmpdir(), "keyword-index-workerd-"));
const entry = join(work, "entry.ts");
writeFileSync(
  entry,
  `
import { CollectionIndex } from ${JSON.stringify(resolve("src/retrieval/collection-index/object.ts"))};
export { CollectionIndex };
const VOCAB = 50_000;
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; return (s >>> 0) / 4294967296; };
}
const SYL = ["ka","lo","mi","ne","ru","to","sa","vi","en","or","ti","ba","qu","ex","zo","pa","de","gu","fi","ho"];
const word = (i: number) => { let w = ""; let x = i + 1; while (x > 0) { w += SYL[x % 20]; x = Math.floor(x / 20); } return w; };
/** Zipf(1)-like rank: most mass on the first words, a long tail up to VOCAB. */
const zipf = (r: () => number) => Math.min(VOCAB - 1, Math.floor(Math.exp(r() * Math.log(VOCAB)) - 1));
export default {
  async fetch(req: Request, env: { COLLECTION_INDEX: DurableObjectNamespace<CollectionIndex> }) {
    const url = new URL(req.url);
    const stub = env.COLLECTION_INDEX.get(env.COLLECTION_INDEX.idFromName(url.searchParams.get("c") ?? "bench"));
    if (url.pathname === "/docs") {
      const docs = (await req.json()) as { id: string; name: string; chunks: string[] }[];
      await Promise.all(docs.map((d) => stub.write({
        document: { id: d.id, generation: 1, name: d.name, metadata: "{}" },
        chunks: d.chunks.map((text, ordinal) => ({ ordinal, text, start: 0, end: text.length, page: null, heading: null, tokens: 1 })),
        commit: { chunkCount: d.chunks.length },
      })));
      return new Response("ok");
    }
    if (url.pathname === "/synth") {
      const doc = Number(url.searchParams.get("doc"));
      const r = rng(1000 + doc);
      const chunks = [];
      for (let o = 0; o < 100; o++) {
        const n = 60 + Math.floor(r() * 180);
        const ws = [];
        for (let i = 0; i < n; i++) ws.push(word(zipf(r)));
        const text = ws.join(" ") + ".";
        chunks.push({ ordinal: o, text, start: 0, end: text.length, page: null, heading: null, tokens: n });
      }
      await stub.write({ document: { id: "d" + doc, generation: 1, name: "synthetic-" + doc + ".txt", metadata: "{}" }, chunks, commit: { chunkCount: 100 } });
      return new Response("ok");
    }
    if (url.pathname === "/bigdoc") {
      // One large document (synthetic text as above), staged in calls of 100 chunks, the last one committing.
      const n = Number(url.searchParams.get("n"));
      const document = { id: "bigdoc", generation: 1, name: "bigdoc.txt", metadata: "{}" };
      const r = rng(99);
      for (let from = 0; from < n; from += 100) {
        const chunks = [];
        for (let o = from; o < Math.min(n, from + 100); o++) {
          const k = 60 + Math.floor(r() * 180);
          const ws = [];
          for (let i = 0; i < k; i++) ws.push(word(zipf(r)));
          const text = ws.join(" ") + ".";
          chunks.push({ ordinal: o, text, start: 0, end: text.length, page: null, heading: null, tokens: k });
        }
        await stub.write({ document, chunks, commit: from + 100 >= n ? { chunkCount: n } : undefined });
      }
      return new Response("ok");
    }
    if (url.pathname === "/synthquery") {
      const r = rng(7_000_000 + Number(url.searchParams.get("i")));
      const n = 1 + Math.floor(r() * 8);
      const q = Array.from({ length: n }, () => word(zipf(r))).join(" ");
      const res = await stub.search({ query: q, topK: 10, mode: "keyword", vectorWeight: 0, pool: 50, hydrate: 10 });
      return Response.json(res.hits.length);
    }
    if (url.pathname === "/query") {
      const q = url.searchParams.get("q") ?? "";
      const res = await stub.search({ query: q, topK: 10, mode: "keyword", vectorWeight: 0, pool: 50, hydrate: 10 });
      return Response.json(res.hits.length);
    }
    if (url.pathname === "/ping") return Response.json((await stub.readChunks("-", 0, 0)).length);
    if (url.pathname === "/stats") return Response.json(await stub.stats());
    return new Response("ok");
  },
};
`,
);
await bundleForWorkerd(entry, join(work, "out"));

const persist = join(work, "state");
const start = () => indexMiniflare(join(work, "out"), persist);

async function roundTrip(mf: Miniflare, path: string, body?: unknown): Promise<number> {
  const t = performance.now();
  const res = await mf.dispatchFetch(`http://bench${path}`, body ? { method: "POST", body: JSON.stringify(body) } : undefined);
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
  return performance.now() - t;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)];

interface Figures {
  chunks: number;
  fillSeconds: number;
  coldFirstQueryMs: number;
  medianObjectMs: number;
  p95ObjectMs: number;
  pingMs: number;
  keyword: { postings: number; terms: number; memoryBytes: number };
  bytesPerPosting: number;
  storageMB: number;
}

/** Fills collection `c`, restarts the runtime, and times the first and then steady queries. */
async function measure(c: string, fill: (mf: Miniflare) => Promise<void>, queries: string[]): Promise<Figures> {
  let mf = start();
  const t = performance.now();
  await fill(mf);
  const fillSeconds = (performance.now() - t) / 1000;
  await mf.dispose();
  mf = start();
  for (let i = 0; i < 5; i++) await roundTrip(mf, `/ping?c=${c}`); // starts the runtime and the object (not the index)
  const pings: number[] = [];
  for (let i = 0; i < 30; i++) pings.push(await roundTrip(mf, `/ping?c=${c}`));
  const ping = median(pings);
  const cold = (await roundTrip(mf, `${queries[0]}&c=${c}`)) - ping;
  const steady: number[] = [];
  for (const q of queries.slice(1)) steady.push((await roundTrip(mf, `${q}&c=${c}`)) - ping);
  const stats = (await (await mf.dispatchFetch(`http://bench/stats?c=${c}`)).json()) as {
    chunks: number;
    storageBytes: number;
    keyword: Figures["keyword"] & { loaded: boolean };
  };
  await mf.dispose();
  return {
    chunks: stats.chunks,
    fillSeconds: +fillSeconds.toFixed(1),
    coldFirstQueryMs: Math.round(cold),
    medianObjectMs: +median(steady).toFixed(3),
    p95ObjectMs: +p95(steady).toFixed(3),
    pingMs: +ping.toFixed(3),
    keyword: { postings: stats.keyword.postings, terms: stats.keyword.terms, memoryBytes: stats.keyword.memoryBytes },
    bytesPerPosting: +(stats.keyword.memoryBytes / stats.keyword.postings).toFixed(1),
    storageMB: +(stats.storageBytes / 1e6).toFixed(1),
  };
}

const result: Record<string, unknown> = { date: new Date().toISOString() };
if (existsSync(join(SCIFACT, "corpus.jsonl"))) {
  const docs = readFileSync(join(SCIFACT, "corpus.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => {
      const d = JSON.parse(l);
      const text = `${d.title}\n\n${d.text}`;
      const mid = text.indexOf(". ", Math.floor(text.length / 2));
      const chunks = text.length > 1200 && mid > 0 ? [text.slice(0, mid + 1), text.slice(mid + 2)] : [text];
      return { id: String(d._id ?? d.id), name: `${d._id ?? d.id}.txt`, chunks };
    });
  const queries = readFileSync(join(SCIFACT, "queries.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => `/query?q=${encodeURIComponent(JSON.parse(l).text)}`);
  result.scifact = await measure(
    "scifact",
    async (mf) => {
      for (let i = 0; i < docs.length; i += 200) await roundTrip(mf, "/docs?c=scifact", docs.slice(i, i + 200));
    },
    queries,
  );
  console.log("SciFact", result.scifact);
} else console.log("../shared/eval/scifact not found: SciFact part skipped");

result.synthetic = await measure(
  "synth",
  async (mf) => {
    for (let d = 0; d < SYNTH / 100; d++) await roundTrip(mf, `/synth?c=synth&doc=${d}`);
  },
  Array.from({ length: 201 }, (_, i) => `/synthquery?i=${i}`),
);
console.log(`synthetic ${SYNTH}`, result.synthetic);

/**
 * Issue 17.5: how long the object stops answering while one large document commits. A
 * BIGDOC-chunk document is written (staging calls of 100 chunks, then the commit) while trivial
 * RPCs to the same object run back to back; their round trips while the write runs show the
 * longest stall (one transaction of the whole document before paged commits; one page after).
 */
{
  const BIGDOC = Number(process.env.BIGDOC ?? (QUICK ? 1000 : 5000));
  const mf = start();
  for (let i = 0; i < 5; i++) await roundTrip(mf, "/ping?c=stall");
  const t = performance.now();
  let done = false;
  const writing = roundTrip(mf, `/bigdoc?c=stall&n=${BIGDOC}`).then((ms) => {
    done = true;
    return ms;
  });
  const pings: number[] = [];
  while (!done) pings.push(await roundTrip(mf, "/ping?c=stall"));
  const writeMs = await writing;
  await mf.dispose();
  result.largeDocumentStall = {
    chunks: BIGDOC,
    writeMs: Math.round(writeMs),
    pingsDuringWrite: pings.length,
    maxPingMs: Math.round(Math.max(...pings)),
    p95PingMs: Math.round(p95(pings)),
    medianPingMs: +median(pings).toFixed(1),
    wallMs: Math.round(performance.now() - t),
  };
  console.log("large-document stall", result.largeDocumentStall);
}
rmSync(work, { recursive: true, force: true });
result.loadAverage = +loadavg()[0].toFixed(2);
console.log(`CollectionIndex keyword search in workerd (Miniflare), load average ${result.loadAverage}`);
mkdirSync("bench/results", { recursive: true });
writeFileSync(`bench/results/keyword-index-workerd${QUICK ? "-quick" : ""}.json`, `${JSON.stringify(result, null, 2)}\n`);
