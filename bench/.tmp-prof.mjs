import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
const ROOT = process.cwd();
const out = `/tmp/claims2-prof-${process.pid}.mjs`;
await build({ entryPoints: [`${ROOT}/src/chat/answer/extractive.ts`], bundle: true, format: "esm", platform: "neutral", outfile: out, logLevel: "error" });
const mod = await import(pathToFileURL(out).href);
const data = JSON.parse(readFileSync("/tmp/docchat-qa-sources.json", "utf8"));
const turns = [...data.questions, ...data.unanswerable].map((q) => ({ query: q.question, sources: (q.sources ?? []).map((s) => ({ ...s, statements: mod.encodeAnalysis(s.text) })) }));
const a = new mod.ExtractiveAnswerer();
for (let i = 0; i < 5; i++) for (const t of turns) { mod.clearPreparedPassages(); a.answerSync(t); }
const iters = Number(process.argv[2] ?? 20);
const times = [];
for (let i = 0; i < iters; i++) for (const t of turns) { mod.clearPreparedPassages(); const t0 = performance.now(); a.answerSync(t); times.push(performance.now() - t0); }
times.sort((x, y) => x - y);
console.log(`stored: median ${times[Math.floor(times.length / 2)].toFixed(3)} ms, mean ${(times.reduce((s, x) => s + x, 0) / times.length).toFixed(3)} ms, n ${times.length}`);
if (process.argv[3] === "dump") for (const t of turns) console.log(JSON.stringify(a.answerSync(t)));
