#!/usr/bin/env node
// Warmed micro-benchmark of the extractive answerer and of claim verification (no server): the
// answerer is bundled from src/ with esbuild and re-answers the QA set's questions over the passages
// the last `npm run eval -- --answers` retrieved (kept in the temp dir; --sources FILE to name one).
//
//   node bench/answerer.mjs [--iterations N] [--sources FILE]      (run by `npm run bench`)
//
// Reports per turn: the whole answer with each passage seen for the first time ("cold passages":
// the isolate's per-chunk statement cache cleared before every turn) and with the passages already
// prepared ("warm": the same chunks asked about again), and with each passage new but its statements
// stored at ingest ("stored": decoded from the index's chunk_statements, not computed), the phases (prepare: split + tokenise the
// passages; score: rank the statements; select: pick and cite; claims: locate, verify and score the
// spans), and the verification of a 5-source LLM-style answer (quotes located by the server).
// Writes bench/results/answerer.json.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { SOURCES_FILE } from "./lib/qa.mjs";
import { ROOT } from "./lib/server.mjs";
import { fmt, machineInfo, parseArgs, percentile, printTable, writeResult } from "./lib/util.mjs";

const args = parseArgs(process.argv.slice(2));
const quick = process.env.BENCH_QUICK === "1";
const iterations = Number(args.iterations ?? (quick ? 3 : 20));
const sourcesFile = typeof args.sources === "string" ? args.sources : SOURCES_FILE;
if (!existsSync(sourcesFile)) {
  console.log(`answerer: no retrieved passages at ${sourcesFile}; run \`npm run eval -- --answers\` first (skipped)`);
  process.exit(0);
}

const dir = mkdtempSync(path.join(tmpdir(), "answerer-bench-"));
const entry = path.join(dir, "entry.ts");
const out = path.join(dir, "bundle.mjs");
const claimsPath = path.join(ROOT, "src/chat/claims/index.ts");
const hasClaims = existsSync(claimsPath);
// Written as a file so the bench also runs on a tree without the claims module (the "before" figure).
const { writeFileSync } = await import("node:fs");
writeFileSync(
  entry,
  `export * from ${JSON.stringify(path.join(ROOT, "src/chat/answer/extractive.ts"))};\n` +
    (hasClaims ? `export * as claims from ${JSON.stringify(claimsPath)};\n` : ""),
);
await build({ entryPoints: [entry], bundle: true, format: "esm", platform: "neutral", outfile: out, logLevel: "error" });
const mod = await import(pathToFileURL(out).href);
rmSync(dir, { recursive: true, force: true });

const data = JSON.parse(readFileSync(sourcesFile, "utf8"));
const turns = [...data.questions, ...data.unanswerable].map((q) => ({ query: q.question, sources: q.sources ?? [] }));
const answerer = new mod.ExtractiveAnswerer();
const clear = () => mod.clearPreparedPassages?.();

function run(label, before, list = turns) {
  const perTurn = [];
  const phases = {};
  for (let it = 0; it < iterations; it++) {
    for (const t of list) {
      before?.();
      const timings = {};
      const t0 = performance.now();
      answerer.answerSync({ ...t, timings });
      perTurn.push(performance.now() - t0);
      for (const [k, v] of Object.entries(timings)) {
        phases[k] = phases[k] ?? [];
        phases[k].push(v);
      }
    }
  }
  return {
    label,
    turns: perTurn.length,
    median_ms: percentile(perTurn, 50),
    p95_ms: percentile(perTurn, 95),
    mean_ms: perTurn.reduce((a, b) => a + b, 0) / perTurn.length,
    phases_mean_ms: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, v.reduce((a, b) => a + b, 0) / v.length])),
  };
}

// Warm-up: JIT and the stem cache (both persist in a real isolate too).
for (let i = 0; i < 3; i++) for (const t of turns) answerer.answerSync(t);
const cold = run("cold passages", clear);
const warm = run("warm passages");
// Statements stored at ingest (src/retrieval/collection-index/chunk-statements.ts): every passage is
// new to the isolate, as in "cold", but its analysis comes with the hit (decoded, not computed).
const storedTurns = mod.encodeAnalysis
  ? turns.map((t) => ({ ...t, sources: t.sources.map((s) => ({ ...s, statements: mod.encodeAnalysis(s.text) })) }))
  : null;
const stored = storedTurns ? run("cold, statements stored at ingest", clear, storedTurns) : null;

// Verification of an LLM-style answer: five sentences, each quoting a different source (one quote
// slightly off, as a model writes it), located and scored by the server.
let verify = null;
if (hasClaims) {
  const samples = [];
  for (const q of data.questions) {
    const srcs = (q.sources ?? []).slice(0, 5);
    if (srcs.length < 5) continue;
    const sentences = srcs.map((s, i) => {
      const words = s.text.split(/\s+/).filter(Boolean);
      const quote = words.slice(5, 17).join(" ");
      return { text: `${words.slice(5, 20).join(" ")} [${s.n}].`, quote: i === 2 ? quote.toUpperCase() : quote, n: s.n };
    });
    const answer = sentences.map((s) => s.text).join(" ");
    samples.push({ answer, sources: srcs, quotes: sentences.map((s) => ({ n: s.n, quote: s.quote })) });
  }
  const times = [];
  for (let it = 0; it < iterations; it++)
    for (const s of samples) {
      const t0 = performance.now();
      mod.claims.buildClaims(s.answer, s.sources, { quotes: s.quotes });
      times.push(performance.now() - t0);
    }
  verify = { answers: samples.length * iterations, median_ms: percentile(times, 50), p95_ms: percentile(times, 95) };
}

const rows = [cold, warm, ...(stored ? [stored] : [])];
const phaseNames = [...new Set(rows.flatMap((r) => Object.keys(r.phases_mean_ms)))];
printTable(
  ["extractive answer", "turns", "median ms", "p95 ms", "mean ms", ...phaseNames.map((p) => `${p} ms`)],
  rows.map((r) => [
    r.label,
    r.turns,
    fmt(r.median_ms, 3),
    fmt(r.p95_ms, 3),
    fmt(r.mean_ms, 3),
    ...phaseNames.map((p) => fmt(r.phases_mean_ms[p], 3)),
  ]),
  `Extractive answerer (${answerer.model}), ${turns.length} QA turns × ${iterations}, warmed`,
);
if (verify)
  console.log(
    `claim verification of a 5-source answer (quotes located + support scored): median ${fmt(verify.median_ms, 3)} ms, p95 ${fmt(verify.p95_ms, 3)} ms (target ≤ 2 ms)`,
  );
const file = await writeResult(quick ? "answerer.quick.json" : "answerer.json", {
  benchmark: "answerer",
  machine: machineInfo(),
  model: answerer.model,
  iterations,
  cold,
  warm,
  stored,
  verify,
});
console.log(`wrote ${file}`);
