#!/usr/bin/env node
// Writes gold evidence spans into test/qa/qa-set.json: for each question, every place in its
// documents' extracted text where the expected answer string occurs, widened to the enclosing
// sentence or line (the span a reader would check). Offsets index the document's extracted text
// (a chunk's char_start plus the offset inside the chunk), found in the chunks the last
// `npm run eval -- --answers` retrieved (--sources FILE to name another file). Re-run it when the
// extractors or the QA set change; review the diff (each span keeps its text).
import { readFileSync, writeFileSync } from "node:fs";
import { baseName, norm, QA_FILE, SOURCES_FILE } from "./lib/qa.mjs";
import { parseArgs } from "./lib/util.mjs";

const args = parseArgs(process.argv.slice(2));
const data = JSON.parse(readFileSync(typeof args.sources === "string" ? args.sources : SOURCES_FILE, "utf8"));
const qa = JSON.parse(readFileSync(QA_FILE, "utf8"));
const retrieved = new Map(data.questions.map((q) => [q.id, q.sources ?? []]));

/** The sentence or line around [from, to) in text. */
function widen(text, from, to) {
  let start = from;
  while (start > 0 && !/[\n.!?。！？]/.test(text[start - 1])) start--;
  while (start < from && /\s/.test(text[start])) start++;
  let end = to;
  while (end < text.length && !/[\n]/.test(text[end]) && !(/[.!?。！？]/.test(text[end - 1] ?? "") && /\s/.test(text[end]))) end++;
  while (end > to && /\s/.test(text[end - 1])) end--;
  return [start, end];
}

let withEvidence = 0;
for (const q of qa.questions) {
  const docs = new Set(q.documents.map(baseName));
  const spans = new Map();
  for (const s of retrieved.get(q.id) ?? []) {
    if (!docs.has(s.document_name) || s.char_start === null || s.char_start === undefined) continue;
    const hay = s.text.normalize("NFKC").toLowerCase();
    if (hay.length !== s.text.length) continue; // offsets would not map back
    for (const a of [q.answer].flat()) {
      const needle = norm(a);
      for (let at = hay.indexOf(needle); at >= 0; at = hay.indexOf(needle, at + 1)) {
        const [start, end] = widen(s.text, at, at + needle.length);
        const key = `${s.document_name}:${s.char_start + start}`;
        spans.set(key, { document: s.document_name, start: s.char_start + start, end: s.char_start + end, text: s.text.slice(start, end) });
      }
    }
  }
  q.evidence = [...spans.values()].sort((a, b) => a.start - b.start);
  if (q.evidence.length) withEvidence++;
}
writeFileSync(QA_FILE, `${JSON.stringify(qa, null, 1)}\n`);
console.log(`gold evidence spans for ${withEvidence}/${qa.questions.length} questions written to ${QA_FILE}`);
