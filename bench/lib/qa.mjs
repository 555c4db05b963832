// Answer quality on the developers' QA set (test/qa/qa-set.json), through the HTTP API:
//
//   npm run eval -- --answers [--quick] [--url URL --key KEY] [--verbose]
//
// Uploads every valid fixture of ../shared/fixtures/documents (as files, under their own names)
// into one collection, so each question has the whole corpus as distractors; asks each question
// with POST /v1/chat (the server's default answerer; the private server runs the extractive one);
// and reports, per half of the set (tune / held out):
//   - contains: the answer contains the expected string (NFKC, case-folded, whitespace collapsed);
//   - cited:    a source the answer cites with [n] is one of the question's documents;
//   - top1:     source [1] is one of the question's documents (retrieval alone).
// Writes bench/results/eval-answers.json. Exits non-zero only when something fails to run.
import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { apiClient } from "./api.mjs";
import { ROOT, serverFromArgs } from "./server.mjs";
import { waitSettled } from "./scifact.mjs";
import { fmt, machineInfo, mapPool, printTable, writeResult } from "./util.mjs";

export const FIXTURES = process.env.FIXTURES_DIR ?? path.resolve(ROOT, "../shared/fixtures/documents");
export const QA_FILE = path.join(ROOT, "test/qa/qa-set.json");

/** Sidecars describe another file (PDF sources and expected texts, readability metadata): not documents. */
const isSidecar = (f) => f.endsWith(".json") || f.endsWith(".tex") || (f.startsWith("pdf/") && f.endsWith(".txt"));

export const norm = (s) =>
  String(s)
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/\s+/g, " ")
    .trim();
export const baseName = (f) => f.split("/").pop();

export function loadQaSet() {
  return JSON.parse(readFileSync(QA_FILE, "utf8")).questions;
}

export function loadUnanswerable() {
  return JSON.parse(readFileSync(QA_FILE, "utf8")).unanswerable ?? [];
}

/** Where the sources of the last run are kept, so bench/answers-offline.mjs can re-answer them without a server. */
export const SOURCES_FILE = path.join(tmpdir(), "docchat-qa-sources.json");
const NO_ANSWER_PREFIX = "i couldn't find";

/** Every valid fixture (not bad/, not a sidecar), as listed by MANIFEST.tsv. */
export function fixtureFiles() {
  const manifest = readFileSync(path.join(FIXTURES, "MANIFEST.tsv"), "utf8");
  return manifest
    .split("\n")
    .slice(1)
    .map((l) => l.split("\t")[0])
    .filter((f) => f && !f.startsWith("bad/") && !isSidecar(f));
}

async function uploadFile(api, collectionId, file) {
  const form = new FormData();
  form.append("file", new File([readFileSync(path.join(FIXTURES, file))], baseName(file)));
  const res = await fetch(`${api.base}/v1/collections/${collectionId}/documents`, {
    method: "POST",
    headers: { "X-Master-API-Key": api.masterKey },
    body: form,
  });
  const body = await res.json();
  if (res.status !== 202) throw new Error(`upload ${file}: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
  return body.documents[0];
}

/** Scores one answer against its question. */
export function judge(q, res) {
  const docs = new Set(q.documents.map(baseName));
  const sources = res.sources ?? [];
  const cited = (res.citations ?? []).map((n) => sources[n - 1]?.document_name).filter(Boolean);
  return {
    contains: [q.answer].flat().some((a) => norm(res.answer).includes(norm(a))),
    cited: cited.some((d) => docs.has(d)),
    top1: sources.length > 0 && docs.has(sources[0].document_name),
    cited_documents: [...new Set(cited)],
  };
}

/** Length of [a0, a1) ∩ the union of intervals. */
function covered(a0, a1, intervals) {
  const parts = intervals
    .map(([s, e]) => [Math.max(s, a0), Math.min(e, a1)])
    .filter(([s, e]) => e > s)
    .sort((x, y) => x[0] - y[0]);
  let total = 0;
  let upTo = a0;
  for (const [s, e] of parts) {
    if (e <= upTo) continue;
    total += e - Math.max(s, upTo);
    upTo = e;
  }
  return total;
}

/**
 * Citation figures of one answer against its question's gold evidence spans (ALCE's definitions
 * adapted to spans): a citation is precise when it overlaps any gold span of the question; a
 * sentence is recalled when its citations together cover at least half of some gold span; a
 * citation is exact when its quote is its source's text at its stated offsets.
 */
export function claimFigures(q, res) {
  const gold = q.evidence ?? [];
  const sources = res.sources ?? [];
  const f = { sentences: 0, recalled: 0, unsupported: 0, citations: 0, precise: 0, exact: 0 };
  for (const claim of res.claims ?? []) {
    f.sentences++;
    if (!claim.supported) f.unsupported++;
    const byDoc = new Map();
    for (const c of claim.citations) {
      f.citations++;
      const src = sources[c.source - 1];
      if (src && src.text.slice(c.start, c.end) === c.quote) f.exact++;
      if (c.document_start === null || c.document_start === undefined) continue;
      const span = [c.document_start, c.document_end];
      if (gold.some((g) => g.document === c.document_name && covered(g.start, g.end, [span]) > 0)) f.precise++;
      byDoc.set(c.document_name, [...(byDoc.get(c.document_name) ?? []), span]);
    }
    if (gold.some((g) => covered(g.start, g.end, byDoc.get(g.document) ?? []) >= 0.5 * (g.end - g.start))) f.recalled++;
  }
  return f;
}

/** Sums of claimFigures over rows, as shares. */
export function summariseClaims(figures) {
  const sum = (k) => figures.reduce((a, f) => a + f[k], 0);
  const share = (a, b) => (b ? a / b : null);
  return {
    sentences: sum("sentences"),
    citations: sum("citations"),
    precision: share(sum("precise"), sum("citations")),
    recall: share(sum("recalled"), sum("sentences")),
    exactness: share(sum("exact"), sum("citations")),
    unsupported_rate: share(sum("unsupported"), sum("sentences")),
  };
}

function summarise(rows) {
  const n = rows.length;
  const share = (k) => (n ? rows.filter((r) => r[k]).length / n : 0);
  return { questions: n, contains: share("contains"), cited: share("cited"), top1: share("top1"), both: share("both") };
}

export async function runAnswers(args) {
  let questions = loadQaSet();
  if (args.quick) questions = questions.filter((q) => q.split === "tune").slice(0, 8);
  const files = args.quick ? [...new Set(questions.map((q) => q.documents[0]))] : fixtureFiles();
  const server = await serverFromArgs(args, { keepState: !!args.keep });
  let failed = false;
  try {
    console.log(`server ${server.url}`);
    const api = apiClient(server.url, server.masterKey);
    api.masterKey = server.masterKey;
    const collection = await api.createCollection(`qa-${Date.now()}`);
    const t0 = performance.now();
    let accepted = 0;
    for (const f of files) {
      const doc = await uploadFile(api, collection.id, f);
      if (!doc.duplicate) accepted++;
    }
    const wait = await waitSettled(api, collection.id, accepted, { startedAt: t0, stallMs: 120_000 });
    if (!wait.settled) throw new Error("ingestion did not settle");
    console.log(`ingested ${files.length} fixtures (${accepted} distinct, ready ${wait.counts.ready}, failed ${wait.counts.failed})`);

    const rows = await mapPool(questions, 2, async (q) => {
      try {
        const r = await api.chat({ query: q.question, collection_id: collection.id, top_k: 5 });
        const j = judge(q, r.body);
        return {
          ...q,
          ...j,
          figures: claimFigures(q, r.body),
          both: j.contains && j.cited,
          answer_text: r.body.answer,
          model: r.body.model,
          ms: r.ms,
          sources: r.body.sources,
        };
      } catch (err) {
        failed = true;
        return { ...q, contains: false, cited: false, top1: false, both: false, error: err.message };
      }
    });
    const negatives = args.quick
      ? []
      : await mapPool(loadUnanswerable(), 2, async (question) => {
          try {
            const r = await api.chat({ query: question, collection_id: collection.id, top_k: 5 });
            return {
              question,
              answered: !norm(r.body.answer).startsWith(NO_ANSWER_PREFIX),
              answer: r.body.answer,
              sources: r.body.sources,
            };
          } catch (err) {
            failed = true;
            return { question, answered: false, error: err.message };
          }
        });
    writeFileSync(
      SOURCES_FILE,
      JSON.stringify({
        questions: rows.map((r) => ({
          id: r.id,
          split: r.split,
          question: r.question,
          answer: r.answer,
          documents: r.documents,
          sources: r.sources,
          evidence: r.evidence,
        })),
        unanswerable: negatives.map((n) => ({ question: n.question, sources: n.sources })),
      }),
    );
    const bySplit = {
      tune: summarise(rows.filter((r) => r.split === "tune")),
      heldout: summarise(rows.filter((r) => r.split === "heldout")),
    };
    const all = summarise(rows);
    printTable(
      ["QA set", "questions", "answer contains expected", "cites right doc", "source [1] right", "both"],
      [
        [
          "tune half",
          bySplit.tune.questions,
          pct(bySplit.tune.contains),
          pct(bySplit.tune.cited),
          pct(bySplit.tune.top1),
          pct(bySplit.tune.both),
        ],
        [
          "held-out half",
          bySplit.heldout.questions,
          pct(bySplit.heldout.contains),
          pct(bySplit.heldout.cited),
          pct(bySplit.heldout.top1),
          pct(bySplit.heldout.both),
        ],
        ["all", all.questions, pct(all.contains), pct(all.cited), pct(all.top1), pct(all.both)],
      ],
      `Answers (${rows[0]?.model ?? "?"}; targets: ≥ 85% contain the expected string, 100% cite the right document)${args.quick ? " (quick: a smoke run)" : ""}`,
    );
    const claimsBySplit = Object.fromEntries(
      ["tune", "heldout"].map((split) => [
        split,
        summariseClaims(rows.filter((r) => r.split === split && r.figures).map((r) => r.figures)),
      ]),
    );
    printTable(
      ["claims", "sentences", "citations", "citation precision", "citation recall", "span exactness", "unsupported sentences"],
      Object.entries(claimsBySplit).map(([split, c]) => [
        split === "tune" ? "tune half" : "held-out half",
        c.sentences,
        c.citations,
        pct(c.precision),
        pct(c.recall),
        pct(c.exactness),
        pct(c.unsupported_rate),
      ]),
      "Citations against the gold evidence spans (targets, held-out half: precision ≥ 90%, recall ≥ 85%, exactness 100%)",
    );
    if (negatives.length) {
      const wrong = negatives.filter((n) => n.answered);
      console.log(`\nunanswerable questions answered anyway: ${wrong.length}/${negatives.length}`);
      for (const n of wrong) console.log(`  ${n.question}\n      ${String(n.answer).slice(0, 200)}`);
    }
    for (const r of rows) {
      if (r.error) console.log(`  ERROR ${r.id}: ${r.error}`);
      // Only the tuning half's misses are shown unless --verbose: the held-out half stays unseen.
      else if (args.verbose || (r.split === "tune" && !(r.contains && r.cited)))
        console.log(
          `  ${r.contains ? " " : "✗"}${r.cited ? " " : "†"} ${r.id} [${r.split}] ${r.question}\n      expected "${r.answer}" in ${r.documents.map(baseName).join("|")}; cited ${r.cited_documents?.join(", ") || "none"}\n      ${String(r.answer_text).slice(0, 300)}`,
        );
    }
    const file = await writeResult(args.quick ? "eval-answers-quick.json" : "eval-answers.json", {
      benchmark: "eval-answers",
      machine: machineInfo(),
      config: {
        qa_set: "test/qa/qa-set.json",
        fixtures: files.length,
        top_k: 5,
        server: server.external ? "external (--url)" : "private wrangler dev",
      },
      targets: { contains: 0.85, cited: 1 },
      summary: {
        ...bySplit,
        all,
        claims: claimsBySplit,
        unanswerable_answered: negatives.filter((n) => n.answered).length,
        unanswerable: negatives.length,
      },
      questions: rows.map((r) => ({
        id: r.id,
        split: r.split,
        lang: r.lang,
        question: r.question,
        expected: r.answer,
        documents: r.documents,
        contains: r.contains,
        cited: r.cited,
        top1: r.top1,
        cited_documents: r.cited_documents,
        answer: r.answer_text,
        error: r.error,
      })),
      unanswerable: negatives.map((n) => ({ question: n.question, answered: n.answered, answer: n.answer, error: n.error })),
    });
    console.log(
      `\nwrote ${file} (${fmt((performance.now() - t0) / 1000)} s); sources kept in ${SOURCES_FILE} for bench/answers-offline.mjs`,
    );
  } finally {
    if (!args.keep) await server.stop();
  }
  return failed ? 1 : 0;
}

const pct = (v) => `${fmt(v * 100, 1)}%`;
