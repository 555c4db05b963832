/**
 * nDCG@10 of the local hash embedder alone on BEIR SciFact (whole documents = title + text,
 * binary gains, the 300 test claims), exact float cosine and through the int8 index; plus the
 * "query-time idf" variant, where each dimension of the query is divided by the root mean square
 * of that dimension over the indexed documents (a diagonal whitening: dimensions that frequent
 * features fall into count less), which needs only per-dimension sums kept by the index.
 *
 *   npx esbuild bench/embedder-quality.ts --bundle --platform=node --format=esm \
 *     --outfile=/tmp/bench-embedder.mjs && node /tmp/bench-embedder.mjs [path/to/scifact] [--sweep]
 *
 * Writes bench/results/embedder-quality.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { LocalHashEmbedder, type LocalHashEmbedderOptions } from "../src/retrieval/local/embedder";
import { QuantizedMatrix } from "../src/retrieval/local/matrix";

const args = process.argv.slice(2);
const dir = args.find((a) => !a.startsWith("--")) ?? process.env.SCIFACT_DIR ?? "../shared/eval/scifact";
const sweep = args.includes("--sweep");

const jsonl = (f: string) =>
  readFileSync(`${dir}/${f}`, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
const corpus: { id: string; title: string; text: string }[] = jsonl("corpus.jsonl");
const queries: { id: string; text: string }[] = jsonl("queries.jsonl");
const qrels = new Map<string, Set<string>>();
for (const line of readFileSync(`${dir}/qrels.tsv`, "utf8").split("\n").slice(1)) {
  const [q, d, rel] = line.split("\t");
  if (!q || Number(rel) <= 0) continue;
  if (!qrels.has(q)) qrels.set(q, new Set());
  qrels.get(q)?.add(d);
}
const judged = queries.filter((q) => qrels.has(q.id));
const docTexts = corpus.map((d) => `${d.title} ${d.text}`);

function ndcgAt10(ranked: string[], relevant: Set<string>): number {
  let dcg = 0;
  for (let i = 0; i < Math.min(10, ranked.length); i++) if (relevant.has(ranked[i])) dcg += 1 / Math.log2(i + 2);
  let idcg = 0;
  for (let i = 0; i < Math.min(10, relevant.size); i++) idcg += 1 / Math.log2(i + 2);
  return dcg / idcg;
}

function top10(docs: Float32Array[], q: Float32Array, dimWeights?: Float64Array): string[] {
  const dims = q.length;
  const qq = dimWeights ? Float32Array.from(q, (v, i) => v * dimWeights[i]) : q;
  const best: [number, number][] = [];
  for (let d = 0; d < docs.length; d++) {
    const v = docs[d];
    let s = 0;
    for (let i = 0; i < dims; i++) s += v[i] * qq[i];
    if (best.length < 10 || s > best[best.length - 1][0]) {
      best.push([s, d]);
      best.sort((a, b) => b[0] - a[0]);
      if (best.length > 10) best.pop();
    }
  }
  return best.map(([, d]) => corpus[d].id);
}

/** 1 / RMS of each dimension over the documents: what an index can keep as running sums. */
function whitening(docs: Float32Array[], power: number): Float64Array {
  const dims = docs[0].length;
  const sq = new Float64Array(dims);
  for (const v of docs) for (let i = 0; i < dims; i++) sq[i] += v[i] * v[i];
  return sq.map((s) => (s / docs.length + 1e-12) ** -power);
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function evaluate(name: string, options: LocalHashEmbedderOptions, withIndex: boolean) {
  const embedder = new LocalHashEmbedder(options);
  const t0 = performance.now();
  const docs: Float32Array[] = [];
  for (let i = 0; i < docTexts.length; i += embedder.maxBatch) {
    docs.push(...(await embedder.embed(docTexts.slice(i, i + embedder.maxBatch), "document")));
  }
  const docSeconds = (performance.now() - t0) / 1000;
  const qv = await embedder.embed(
    judged.map((q) => q.text),
    "query",
  );
  const row: Record<string, number | string> = {
    variant: name,
    dims: embedder.dimensions,
    ndcg10: +mean(judged.map((q, i) => ndcgAt10(top10(docs, qv[i]), qrels.get(q.id) as Set<string>))).toFixed(4),
  };
  for (const power of [0.5, 1]) {
    const w = whitening(docs, power);
    row[`ndcg10_qidf_p${power}`] = +mean(judged.map((q, i) => ndcgAt10(top10(docs, qv[i], w), qrels.get(q.id) as Set<string>))).toFixed(4);
  }
  if (withIndex) {
    const kernel = new WebAssembly.Module(readFileSync("src/retrieval/local/kernel/kernel.wasm"));
    const m = new QuantizedMatrix(kernel, embedder.dimensions, docs.length);
    for (const [i, v] of docs.entries()) m.upsert(corpus[i].id, v, corpus[i].id, 0);
    row.ndcg10_int8_index = +mean(
      judged.map((q, i) =>
        ndcgAt10(
          m.search(qv[i], 10).map((x) => x.id),
          qrels.get(q.id) as Set<string>,
        ),
      ),
    ).toFixed(4);
    // What LocalVectorStore({ whitenQueries: true }) runs: the index's own statistics.
    row.ndcg10_int8_index_whitened = +mean(
      judged.map((q, i) =>
        ndcgAt10(
          m.search(qv[i], 10, true).map((x) => x.id),
          qrels.get(q.id) as Set<string>,
        ),
      ),
    ).toFixed(4);
  }
  row.docsPerSecond = Math.round(docTexts.length / docSeconds);
  // Short texts (the claims, ~90 characters), as queries and short chunks are.
  const short = judged.map((q) => q.text);
  const t1 = performance.now();
  for (let r = 0; r < 10; r++) await embedder.embed(short, "query");
  row.shortTextsPerSecond = Math.round((10 * short.length) / ((performance.now() - t1) / 1000));
  row.mbPerSecond = +(docTexts.reduce((n, t) => n + t.length, 0) / 1e6 / docSeconds).toFixed(2);
  return row;
}

const rows = [await evaluate("default (384 dims)", {}, true)];
if (sweep) {
  const variants: [string, LocalHashEmbedderOptions][] = process.env.VARIANTS
    ? JSON.parse(process.env.VARIANTS)
    : [
        ["words only", { weights: { bigram: 0, chargram: 0 } }],
        ["words + bigrams 0.5", { weights: { bigram: 0.5, chargram: 0 } }],
        ["+ bigrams 0.5", { weights: { bigram: 0.5 } }],
        ["chargram 0.05", { weights: { chargram: 0.05 } }],
        ["chargram 0.2", { weights: { chargram: 0.2 } }],
        ["chargrams 3-5", { chargrams: [3, 5] }],
        ["chargrams 3-4", { chargrams: [3, 4] }],
        ["768 dims", { dimensions: 768 }],
        ["2048 dims", { dimensions: 2048 }],
      ];
  for (const [name, o] of variants) rows.push(await evaluate(name, o, false));
}

console.log(`SciFact: ${corpus.length} documents, ${judged.length} judged queries; nDCG@10, embedder alone`);
console.table(rows);
mkdirSync("bench/results", { recursive: true });
writeFileSync(
  "bench/results/embedder-quality.json",
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, corpus: corpus.length, queries: judged.length, results: rows }, null, 2)}\n`,
);
