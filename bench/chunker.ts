/**
 * Our chunker against LangChain's RecursiveCharacterTextSplitter on all of SciFact (title + text),
 * same run, equivalent sizes: 400 tokens / 60 overlap against 1,600 / 240 characters.
 *
 *   npx esbuild bench/chunker.ts --bundle --platform=node --format=esm --outfile=/tmp/bench-chunker.mjs \
 *     && node /tmp/bench-chunker.mjs [path/to/scifact]
 *
 * Prints a table and writes bench/results/chunker.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { RecursiveCharacterTextSplitter } from "@langchain/textsplitters";
import { chunkText, countTokens } from "../src/retrieval/chunker/index";

const dir = process.argv[2] ?? process.env.SCIFACT_DIR ?? "../shared/eval/scifact";
// BENCH_QUICK=1 (bench/run.mjs --quick): a smoke run on 500 documents.
const QUICK = process.env.BENCH_QUICK === "1";
const ROUNDS = QUICK ? 3 : 9;
const MAX_TOKENS = 400;
const OVERLAP_TOKENS = 60;
const CHUNK_CHARS = 1600;
const OVERLAP_CHARS = 240;

const docs = readFileSync(`${dir}/corpus.jsonl`, "utf8")
  .split("\n")
  .filter((l) => l.trim())
  .slice(0, QUICK ? 500 : undefined)
  .map((l) => {
    const d = JSON.parse(l) as { title: string; text: string };
    return d.title ? `${d.title}\n\n${d.text}` : d.text;
  });
const bytes = docs.reduce((n, d) => n + Buffer.byteLength(d, "utf8"), 0);
const mb = bytes / 1e6;

const wordChar = /[\p{L}\p{N}]/u;
const cjk = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
/** A cut between two letters or digits of a space-separated script is a cut inside a word. */
function insideWord(text: string, pos: number): boolean {
  if (pos <= 0 || pos >= text.length) return false;
  const a = text[pos - 1];
  const b = text[pos];
  return wordChar.test(a) && wordChar.test(b) && !cjk.test(a) && !cjk.test(b);
}

interface Run {
  name: string;
  seconds: { wall: number; cpu: number }[];
  chunks: number;
  chunkChars: number;
  maxTokens: number;
  insideWord: number;
  offsetErrors: number;
}

/** Wall-clock and CPU seconds of one run; CPU time is the steadier of the two on a shared machine. */
async function timeIt(fn: () => Promise<void> | void): Promise<{ wall: number; cpu: number }> {
  const c = process.cpuUsage();
  const t = performance.now();
  await fn();
  const u = process.cpuUsage(c);
  return { wall: (performance.now() - t) / 1000, cpu: (u.user + u.system) / 1e6 };
}

async function main() {
  const splitter = new RecursiveCharacterTextSplitter({ chunkSize: CHUNK_CHARS, chunkOverlap: OVERLAP_CHARS });
  const opts = { maxTokens: MAX_TOKENS, overlapTokens: OVERLAP_TOKENS };
  const ours = async () => {
    for (const d of docs) await chunkText({ text: d }, opts);
  };
  const theirs = async () => {
    for (const d of docs) await splitter.splitText(d);
  };

  // Warm up both, then alternate so that both see the same machine state.
  await ours();
  await theirs();
  const tOurs: { wall: number; cpu: number }[] = [];
  const tTheirs: { wall: number; cpu: number }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    tOurs.push(await timeIt(ours));
    tTheirs.push(await timeIt(theirs));
  }

  // Quality checks, outside the timed runs.
  const a: Run = { name: "chunkText", seconds: tOurs, chunks: 0, chunkChars: 0, maxTokens: 0, insideWord: 0, offsetErrors: 0 };
  const b: Run = {
    name: "langchain RecursiveCharacterTextSplitter",
    seconds: tTheirs,
    chunks: 0,
    chunkChars: 0,
    maxTokens: 0,
    insideWord: 0,
    offsetErrors: 0,
  };
  for (const d of docs) {
    for (const c of await chunkText({ text: d }, opts)) {
      a.chunks++;
      a.chunkChars += c.text.length;
      a.maxTokens = Math.max(a.maxTokens, countTokens(c.text));
      if (d.slice(c.start, c.end) !== c.text) a.offsetErrors++;
      if (insideWord(d, c.start) || insideWord(d, c.end)) a.insideWord++;
    }
    let from = 0;
    for (const c of await splitter.splitText(d)) {
      b.chunks++;
      b.chunkChars += c.length;
      b.maxTokens = Math.max(b.maxTokens, countTokens(c));
      const at = d.indexOf(c, from);
      if (at < 0) {
        b.offsetErrors++;
        continue;
      }
      from = at + 1;
      if (insideWord(d, at) || insideWord(d, at + c.length)) b.insideWord++;
    }
  }

  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const rows = [a, b].map((r) => ({
    splitter: r.name,
    mbPerSecond: +(mb / median(r.seconds.map((x) => x.wall))).toFixed(1),
    mbPerCpuSecond: +(mb / median(r.seconds.map((x) => x.cpu))).toFixed(1),
    chunks: r.chunks,
    meanChunkChars: Math.round(r.chunkChars / r.chunks),
    maxEstimatedTokens: r.maxTokens,
    boundariesInsideWords: r.insideWord,
    offsetErrors: r.offsetErrors,
  }));
  const ratio = rows[0].mbPerSecond / rows[1].mbPerSecond;
  const cpuRatio = rows[0].mbPerCpuSecond / rows[1].mbPerCpuSecond;

  console.log(
    `SciFact: ${docs.length} documents, ${mb.toFixed(2)} MB UTF-8; median of ${ROUNDS} rounds; load average ${loadavg()[0].toFixed(2)}`,
  );
  console.table(rows);
  console.log(`speed ratio chunkText / langchain: ${ratio.toFixed(2)}x wall-clock, ${cpuRatio.toFixed(2)}x CPU time`);
  console.log(
    `estimated tokens per char over the corpus: ${(docs.reduce((n, d) => n + countTokens(d), 0) / docs.reduce((n, d) => n + d.length, 0)).toFixed(3)}`,
  );

  mkdirSync("bench/results", { recursive: true });
  writeFileSync(
    QUICK ? "bench/results/chunker.quick.json" : "bench/results/chunker.json",
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        loadAverage: +loadavg()[0].toFixed(2),
        quick: QUICK,
        corpus: { documents: docs.length, megabytes: +mb.toFixed(3) },
        settings: {
          maxTokens: MAX_TOKENS,
          overlapTokens: OVERLAP_TOKENS,
          chunkChars: CHUNK_CHARS,
          overlapChars: OVERLAP_CHARS,
          rounds: ROUNDS,
        },
        results: rows,
        speedRatio: +ratio.toFixed(2),
        speedRatioCpu: +cpuRatio.toFixed(2),
      },
      null,
      2,
    )}\n`,
  );
}

await main();
