/**
 * Brute-force top-10 over random unit vectors (384 dims; 10,000 and 100,000 rows): the local
 * index's int8 matrix and wasm SIMD kernel (the code the Durable Object runs) against NumPy's
 * float32 matrix-vector product on the same data, plus plain-JS scans for reference, and the
 * recall@10 of the int8 scan against the exact float ranking.
 *
 *   npx esbuild bench/vector-scan.ts --bundle --platform=node --format=esm --outfile=/tmp/bench-scan.mjs \
 *     && node /tmp/bench-scan.mjs
 *
 * Needs python3 with numpy. Writes bench/results/vector-scan.json.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { QuantizedMatrix } from "../src/retrieval/local/matrix";

const DIMS = 384;
// BENCH_QUICK=1 (bench/run.mjs --quick): a smoke run on 10,000 rows.
const QUICK = process.env.BENCH_QUICK === "1";
const QUERIES = QUICK ? 20 : 200;
const SIZES = QUICK ? [10_000] : [10_000, 100_000];
const K = 10;

// Deterministic normal variates (xorshift32 + Box-Muller).
let seed = 0x9e3779b9;
const uniform = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return ((seed >>> 0) + 0.5) / 4294967296;
};
const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
function unitVectors(n: number): Float32Array {
  const out = new Float32Array(n * DIMS);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let i = 0; i < DIMS; i++) {
      const v = normal();
      out[r * DIMS + i] = v;
      s += v * v;
    }
    const inv = 1 / Math.sqrt(s);
    for (let i = 0; i < DIMS; i++) out[r * DIMS + i] *= inv;
  }
  return out;
}

const loadBefore = loadavg()[0];
const maxN = Math.max(...SIZES);
const base = unitVectors(maxN);
const queries = unitVectors(QUERIES);
const dir = mkdtempSync(join(tmpdir(), "vector-scan-"));
writeFileSync(join(dir, "base.f32"), new Uint8Array(base.buffer));
writeFileSync(join(dir, "queries.f32"), new Uint8Array(queries.buffer));

// NumPy, same data. Its BLAS must not be pinned to another machine's CPU model.
const pyEnv = { ...process.env };
delete pyEnv.OPENBLAS_CORETYPE;
delete pyEnv.OPENBLAS_L2_SIZE;
const numpy: { n: number; msPerQuery: number; numpy: string }[] = JSON.parse(
  execFileSync("python3", ["bench/vector-scan.py", dir, String(DIMS), String(QUERIES), ...SIZES.map(String)], {
    env: pyEnv,
    encoding: "utf8",
  }),
);

// A full collection before and after building, for the heap figure (no --expose-gc needed).
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const kernel = new WebAssembly.Module(readFileSync("src/retrieval/local/kernel/kernel.wasm"));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function timePerQuery(fn: (q: Float32Array) => unknown, count = QUERIES): number {
  for (let i = 0; i < 5; i++) fn(queries.subarray(i * DIMS, (i + 1) * DIMS));
  const rounds: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t = performance.now();
    for (let i = 0; i < count; i++) fn(queries.subarray(i * DIMS, (i + 1) * DIMS));
    rounds.push((performance.now() - t) / count);
  }
  return median(rounds);
}

/** Plain-JS top-k over scores computed by `score(row)`. */
function topK(n: number, score: (r: number) => number): number[] {
  const best: number[] = [];
  const bestS: number[] = [];
  for (let r = 0; r < n; r++) {
    const s = score(r);
    if (best.length === K && s <= bestS[K - 1]) continue;
    let p = best.length < K ? best.length : K - 1;
    while (p > 0 && bestS[p - 1] < s) {
      bestS[p] = bestS[p - 1];
      best[p] = best[p - 1];
      p--;
    }
    bestS[p] = s;
    best[p] = r;
  }
  return best;
}

const rows = [];
for (const n of SIZES) {
  // Ids shaped like the pipeline's (`<uuid>:<chunk>`), as flat strings the way RPC delivers them
  // (Node's randomUUID() strings would each pin a larger buffer), for a fair count of the JS heap.
  // The ordinal carries the row number, for the recall check below.
  const hex = (r: number, salt: number) => ((Math.imul(r + 1, 2654435761) ^ salt) >>> 0).toString(16).padStart(8, "0");
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  let buildMs = 0;
  let m: QuantizedMatrix;
  {
    const docs: string[] = JSON.parse(
      JSON.stringify(
        Array.from(
          { length: n },
          (_, r) =>
            `${hex(r, 1)}-${hex(r, 2).slice(0, 4)}-4${hex(r, 3).slice(0, 3)}-a${hex(r, 4).slice(0, 3)}-${hex(r, 5)}${hex(r, 6).slice(0, 4)}`,
        ),
      ),
    );
    const ids: string[] = JSON.parse(JSON.stringify(docs.map((d, r) => `${d}:${r % 50}`)));
    const t0 = performance.now();
    // Sized up front, as the Durable Object does when it loads its rows.
    m = new QuantizedMatrix(kernel, DIMS, n);
    for (let r = 0; r < n; r++) m.upsert(ids[r], base.subarray(r * DIMS, (r + 1) * DIMS), docs[r], r);
    buildMs = performance.now() - t0;
  }
  gc();
  // Ids, document ids, the id map and per-row arrays; the wasm memory is counted apart.
  const heapMB = (process.memoryUsage().heapUsed - heap0) / 1e6;

  const wasmMs = timePerQuery((q) => m.search(q, K));

  // Plain JS over float32 and over int8, to show what the wasm kernel buys.
  const f32 = base.subarray(0, n * DIMS);
  const jsF32Ms = timePerQuery(
    (q) =>
      topK(n, (r) => {
        let s = 0;
        const o = r * DIMS;
        for (let i = 0; i < DIMS; i++) s += f32[o + i] * q[i];
        return s;
      }),
    20,
  );
  const i8 = new Int8Array(n * DIMS);
  for (let i = 0; i < n * DIMS; i++) i8[i] = Math.round(f32[i] * 127 * 4);
  const jsI8Ms = timePerQuery((q) => {
    const qi = Int32Array.from(q, (v) => Math.round(v * 32767));
    return topK(n, (r) => {
      let s = 0;
      const o = r * DIMS;
      for (let i = 0; i < DIMS; i++) s += i8[o + i] * qi[i];
      return s;
    });
  }, 20);

  // Recall@10 of the int8 scan against NumPy's exact float ranking.
  const raw = readFileSync(join(dir, `exact-${n}.i32`)); // small files may sit inside Node's buffer pool
  const exact = new Int32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  let hits = 0;
  for (let i = 0; i < QUERIES; i++) {
    const truth = new Set(exact.subarray(i * K, (i + 1) * K));
    for (const x of m.search(queries.subarray(i * DIMS, (i + 1) * DIMS), K)) if (truth.has(x.ordinal)) hits++;
  }
  const np = numpy.find((x) => x.n === n)?.msPerQuery ?? Number.NaN;
  rows.push({
    rows: n,
    numpyF32Ms: +np.toFixed(3),
    wasmInt8Ms: +wasmMs.toFixed(3),
    ratioWasmToNumpy: +(wasmMs / np).toFixed(2),
    jsF32Ms: +jsF32Ms.toFixed(2),
    jsInt8Ms: +jsI8Ms.toFixed(2),
    recallAt10: +(hits / (QUERIES * K)).toFixed(4),
    matrixMB: +(m.memoryBytes / 1e6).toFixed(1),
    jsHeapMB: +heapMB.toFixed(1),
    buildMs: Math.round(buildMs),
  });
}
rmSync(dir, { recursive: true, force: true });

const load = { before: +loadBefore.toFixed(2), after: +loadavg()[0].toFixed(2) };
console.log(
  `random unit vectors, ${DIMS} dims, ${QUERIES} queries, top-${K}; ms per query (median of 3 rounds); load average ${load.before} -> ${load.after}`,
);
console.table(rows);
mkdirSync("bench/results", { recursive: true });
writeFileSync(
  QUICK ? "bench/results/vector-scan.quick.json" : "bench/results/vector-scan.json",
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, numpy: numpy[0]?.numpy, loadAverage: load, dims: DIMS, queries: QUERIES, k: K, results: rows }, null, 2)}\n`,
);
