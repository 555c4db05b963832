#!/usr/bin/env node
// Writes gold evidence spans into test/qa/qa-set.json: for each question, every place in its
// documents' extracted text where the expected answer string occurs, widened to the enclosing
// sentence or line (the span a reader would check). Offsets index the document's extracted text
// (a chunk's char_start plus the offset inside the chunk), found in the chunks the last
// `npm run eval -- --answers` retrieved (--sources FILE to name another file). Re-run it when the
// extractors or the QA set change; review the diff (each span keeps its text).
//
// The answer is matched as the eval's `norm` compares answers (NFKC, case-folded, curly apostrophes
// straightened, whitespace runs collapsed) through an offset map back to the chunk's own text, so a
// chunk whose NFKC form differs in length, or an answer wrapped across a line break, still yields
// its span. The sentence around a match is found independently of the answerer: a single line
// break is hard wrapping when its line runs close to the block's width or the next line continues
// in lower case; a period ends a sentence unless it follows an abbreviation or an initial, or the
// next word starts in lower case.
import { readFileSync, writeFileSync } from "node:fs";
import { baseName, norm, QA_FILE, SOURCES_FILE } from "./lib/qa.mjs";
import { parseArgs } from "./lib/util.mjs";

const args = parseArgs(process.argv.slice(2));
const data = JSON.parse(readFileSync(typeof args.sources === "string" ? args.sources : SOURCES_FILE, "utf8"));
const qa = JSON.parse(readFileSync(QA_FILE, "utf8"));
const retrieved = new Map(data.questions.map((q) => [q.id, q.sources ?? []]));

/** `norm` of a text, and for each unit of it the index of the original character it came from. */
export function normWithMap(text) {
  let out = "";
  const from = [];
  let space = false;
  for (let i = 0; i < text.length; i++) {
    const cp = text.codePointAt(i);
    const ch = String.fromCodePoint(cp);
    const at = i;
    if (cp > 0xffff) i++;
    if (/\s/u.test(ch)) {
      space = out.length > 0;
      continue;
    }
    if (space) {
      out += " ";
      from.push(at);
      space = false;
    }
    const n = ch
      .normalize("NFKC")
      .toLowerCase()
      .replace(/[\u2018\u2019]/g, "'");
    for (const u of n) {
      // NFKC may expand one character into several (ﬁ → fi, … → ...): each unit maps back to it.
      for (let k = 0; k < u.length; k++) from.push(at);
      out += u;
    }
  }
  return { norm: out, from };
}

const ABBREVIATIONS = new Set(
  "mr mrs ms dr prof sr jr st mt vs etc e.g i.e eg ie al fig no vol pp ca approx inc ltd co corp dept jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k f.c cf".split(
    " ",
  ),
);
const TERMINATOR = /[.!?\u2026]+["'\u201d\u2019)\]]*(?=\s|$)|[\u3002\uff01\uff1f]+/gu;

/** The units a reader reads as one run of prose: blocks split at blank lines, lines joined where wrapped. */
function units(text) {
  const out = [];
  const lines = [];
  for (let at = 0; at <= text.length; ) {
    const nl = text.indexOf("\n", at);
    const end = nl < 0 ? text.length : nl;
    lines.push({ start: at, end, text: text.slice(at, end) });
    if (nl < 0) break;
    at = nl + 1;
  }
  let block = [];
  const flush = () => {
    const width = block.reduce((w, l) => Math.max(w, l.text.trim().length), 0);
    let cur = null;
    block.forEach((l, i) => {
      const t = l.text.trim();
      cur = cur ? { start: cur.start, end: l.end } : { start: l.start, end: l.end };
      const next = block[i + 1]?.text.trim();
      const table = t.includes("|") || next?.includes("|");
      // A list item, markup, or a "Label: value" field starts a line of its own.
      const own = next !== undefined && (/^[-*+\u2022<`#>]/u.test(next) || /^\p{Lu}[\p{L} ]{0,30}:\s/u.test(next));
      const wrapped = !table && !own && next !== undefined && (t.length >= Math.max(40, width * 0.6) || /^\p{Ll}/u.test(next));
      if (!wrapped) {
        out.push(cur);
        cur = null;
      }
    });
    if (cur) out.push(cur);
    block = [];
  };
  for (const l of lines) {
    if (l.text.trim() === "") flush();
    else block.push(l);
  }
  flush();
  return out;
}

function periodEnds(text, dotAt, end) {
  const before = /([\p{L}.]+)$/u.exec(text.slice(Math.max(0, dotAt - 12), dotAt));
  if (before) {
    const word = before[1];
    if (ABBREVIATIONS.has(word.toLowerCase()) || /^\p{Lu}$/u.test(word) || /^(?:\p{L}\.)+\p{L}$/u.test(word)) return false;
  }
  const next = /\S/u.exec(text.slice(end));
  return !next || !/\p{Ll}/u.test(next[0]);
}

/** The sentence (within its unit) around [from, to) in text, trimmed. */
export function widen(text, from, to) {
  const unit = units(text).find((u) => u.start <= from && from <= u.end) ?? { start: 0, end: text.length };
  const body = text.slice(unit.start, unit.end);
  const cuts = [0];
  TERMINATOR.lastIndex = 0;
  for (let m = TERMINATOR.exec(body); m; m = TERMINATOR.exec(body)) {
    const end = m.index + m[0].length;
    if (/^\./.test(m[0]) && !/[\u3002\uff01\uff1f]/.test(m[0]) && !periodEnds(body, m.index, end)) continue;
    cuts.push(end);
  }
  cuts.push(body.length);
  let start = unit.start;
  let end = unit.end;
  for (let i = 0; i + 1 < cuts.length; i++) {
    const s = unit.start + cuts[i];
    const e = unit.start + cuts[i + 1];
    if (s <= from && from < e) start = s;
    if (s < to && to <= e) end = e;
  }
  while (start < end && /\s/.test(text[start])) start++;
  // A list bullet is layout, not part of the sentence.
  const bullet = /^[-*+\u2022]\s+/u.exec(text.slice(start, end));
  if (bullet) start += bullet[0].length;
  while (end > start && /\s/.test(text[end - 1])) end--;
  return [start, end];
}

let withEvidence = 0;
if (import.meta.url === `file://${process.argv[1]}`) {
  for (const q of qa.questions) {
    const docs = new Set(q.documents.map(baseName));
    const spans = new Map();
    for (const s of retrieved.get(q.id) ?? []) {
      if (!docs.has(s.document_name) || s.char_start === null || s.char_start === undefined) continue;
      const hay = normWithMap(s.text);
      for (const a of [q.answer].flat()) {
        const needle = norm(a);
        for (let at = hay.norm.indexOf(needle); at >= 0; at = hay.norm.indexOf(needle, at + 1)) {
          const from = hay.from[at];
          const to = hay.from[at + needle.length - 1] + 1;
          const [start, end] = widen(s.text, from, to);
          const key = `${s.document_name}:${s.char_start + start}`;
          spans.set(key, {
            document: s.document_name,
            start: s.char_start + start,
            end: s.char_start + end,
            text: s.text.slice(start, end),
          });
        }
      }
    }
    // Overlapping chunks cut the same sentence at different places: keep the widest of nested spans.
    const all = [...spans.values()];
    q.evidence = all
      .filter(
        (g) =>
          !all.some(
            (o) => o !== g && o.document === g.document && o.start <= g.start && g.end <= o.end && o.end - o.start > g.end - g.start,
          ),
      )
      .sort((a, b) => a.start - b.start);
    if (q.evidence.length) withEvidence++;
  }
  writeFileSync(QA_FILE, `${JSON.stringify(qa, null, 1)}\n`);
  console.log(`gold evidence spans for ${withEvidence}/${qa.questions.length} questions written to ${QA_FILE}`);
}
