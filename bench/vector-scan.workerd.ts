/**
 * The collection index Durable Object's vector side inside workerd (Miniflare, SQLite storage on
 * disk): time to write 100,000 vectors of 384 dims (as documents of 1,000 chunks), the cold start (first query after a restart loads
 * every row from SQLite), and steady query latency. Times are round trips measured from Node
 * (workerd's clocks do not advance during execution), less the round trip of an empty request.
 *
 *   npx esbuild bench/vector-scan.workerd.ts --bundle --platform=node --format=esm --packages=external \
 *     --outfile=bench/.vector-scan.workerd.mjs && node bench/.vector-scan.workerd.mjs; rm bench/.vector-scan.workerd.mjs
 *
 * Writes bench/results/vector-scan-workerd.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Miniflare } from "miniflare";
import { bundleForWorkerd, indexMiniflare } from "./lib/index-miniflare";

const N = Number(process.env.ROWS ?? (process.env.BENCH_QUICK ? 5_000 : 100_000));
const DIMS = 384;
const BATCH = 1000;
const QUERIES = 50;

const work = mkdtempSync(join(tmpdir(), "vector-scan-workerd-"));
const entry = join(work, "entry.ts");
writeFileSync(
  entry,
  `
import { CollectionIndex } from ${JSON.stringify(resolve("src/retrieval/collection-index/object.ts"))};
export { CollectionIndex };
const DIMS = ${DIMS};
function vec(seed: number): Float32Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  const v = new Float32Array(DIMS);
  let n = 0;
  for (let i = 0; i < DIMS; i++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    const x = (s >>> 0) / 4294967296 - 0.5;
    v[i] = x; n += x * x;
  }
  n = Math.sqrt(n);
  for (let i = 0; i < DIMS; i++) v[i] /= n;
  return v;
}
export default {
  async fetch(req: Request, env: { COLLECTION_INDEX: DurableObjectNamespace<CollectionIndex> }) {
    const url = new URL(req.url);
    const p = (k: string) => Number(url.searchParams.get(k));
    const stub = env.COLLECTION_INDEX.get(env.COLLECTION_INDEX.idFromName("bench"));
    if (url.pathname === "/fill") {
      const chunks = [];
      const vectors = [];
      for (let i = p("from"); i < p("from") + p("count"); i++) {
        chunks.push({ ordinal: i - p("from"), text: "row " + i, start: 0, end: 1, page: null, heading: null, tokens: 2 });
        vectors.push(vec(i));
      }
      const document = { id: "doc" + p("from"), generation: 1, name: "bench", metadata: "{}" };
      return Response.json(await stub.write({ document, chunks, vectors, commit: { chunkCount: chunks.length } }));
    }
    if (url.pathname === "/query") {
      const q = vec(1e9 + p("i"));
      const r = await stub.search({ query: "", topK: 10, mode: "vector", vectorWeight: 1, pool: 10, hydrate: 10, queryVector: q });
      return Response.json(r.hits.length);
    }
    if (url.pathname === "/stats") return Response.json(await stub.stats());
    return new Response("ok");
  },
};
`,
);
await bundleForWorkerd(entry, join(work, "out"));

const persist = join(work, "state");
const start = () => indexMiniflare(join(work, "out"), persist);

async function roundTrip(mf: Miniflare, path: string): Promise<number> {
  const t = performance.now();
  const res = await mf.dispatchFetch(`http://bench${path}`);
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
  return performance.now() - t;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

let mf = start();
await roundTrip(mf, "/noop");
const t = performance.now();
for (let from = 0; from < N; from += BATCH) await roundTrip(mf, `/fill?from=${from}&count=${Math.min(BATCH, N - from)}`);
const fillSeconds = (performance.now() - t) / 1000;
await mf.dispose();

// Cold start: a fresh runtime on the same storage; the first query loads every row.
mf = start();
const warm: number[] = [];
for (let i = 0; i < 20; i++) warm.push(await roundTrip(mf, "/noop")); // starts the runtime, not the object
const noop = median(warm.slice(5));
const coldQueryMs = (await roundTrip(mf, "/query?i=0")) - noop;
const steady: number[] = [];
for (let i = 1; i <= QUERIES; i++) steady.push((await roundTrip(mf, `/query?i=${i}`)) - noop);
const stats = await (await mf.dispatchFetch("http://bench/stats")).json();
await mf.dispose();
rmSync(work, { recursive: true, force: true });

const steadyMs = median(steady);
const result = {
  rows: N,
  dims: DIMS,
  upsertSeconds: +fillSeconds.toFixed(2),
  upsertRowsPerSecond: Math.round(N / fillSeconds),
  coldFirstQueryMs: Math.round(coldQueryMs),
  loadFromSqliteMs: Math.round(coldQueryMs - steadyMs),
  steadyQueryMs: +steadyMs.toFixed(2),
  emptyRoundTripMs: +noop.toFixed(2),
  memoryMB: +((stats as { memoryBytes: number }).memoryBytes / 1e6).toFixed(1),
  count: (stats as { vectors: number }).vectors,
};
console.log(`CollectionIndex (vectors) in workerd (Miniflare), load average ${loadavg()[0].toFixed(2)}`);
console.table([result]);
mkdirSync("bench/results", { recursive: true });
writeFileSync(
  "bench/results/vector-scan-workerd.json",
  `${JSON.stringify({ date: new Date().toISOString(), loadAverage: +loadavg()[0].toFixed(2), ...result }, null, 2)}\n`,
);
