// BEIR-style retrieval metrics (trec_eval / pytrec_eval conventions), pure JS so the same file runs in
// Node (bench/eval.mjs) and inside workerd (test/scorer/scorer.test.ts).
//
// Conventions, chosen to match the published SciFact baselines:
// - gains are graded as trec_eval's ndcg_cut: gain = the judged relevance (linear, not 2^rel - 1);
//   unjudged, 0 or negative judgments gain 0. SciFact's judgments are all 1, so its figures are the
//   binary ones; a graded collection (relevance 1 and 2) weighs its "highly relevant" documents double;
// - the ideal DCG is built from the query's judged relevant documents only, best gains first
//   (trec_eval's ndcg_cut), not from the retrieved list;
// - recall and MRR count a document as relevant when its judged relevance is > 0;
// - each document counts once, at its best rank (a document's score is its best chunk's score);
// - a query that has judgments but no results scores 0 on every metric and stays in the mean
//   (pytrec_eval would drop it silently, which inflates the mean when the server fails on a query);
// - queries without any relevant judgment are skipped, as in trec_eval.

/**
 * Collapses ranked chunk hits to ranked documents: a document's score is the best score of its
 * chunks; ties keep the order of first appearance (the server's own order).
 * @param {Array<{doc: string, score: number}>} hits
 * @returns {string[]} document ids, best first
 */
export function rankDocuments(hits) {
  const best = new Map();
  hits.forEach((h, i) => {
    const prev = best.get(h.doc);
    if (!prev) best.set(h.doc, { doc: h.doc, score: h.score, first: i });
    else if (h.score > prev.score) prev.score = h.score;
  });
  return [...best.values()].sort((a, b) => b.score - a.score || a.first - b.first).map((d) => d.doc);
}

/** Judged relevant documents of one query (relevance > 0). */
function relevantSet(judgments) {
  const rel = new Set();
  for (const [doc, r] of Object.entries(judgments ?? {})) if (r > 0) rel.add(doc);
  return rel;
}

/** Deduplicates a ranking, keeping each document at its first (best) position. */
function unique(ranking) {
  return [...new Set(ranking)];
}

/**
 * nDCG@k with graded gains (gain = judged relevance, as trec_eval); ideal DCG over the judged
 * relevant documents sorted by gain. With binary judgments this is the usual binary nDCG.
 * @param {string[]} ranking document ids, best first
 * @param {Record<string, number>} judgments doc id -> relevance
 */
export function ndcgAt(ranking, judgments, k) {
  const rel = relevantSet(judgments);
  if (rel.size === 0) return null;
  const gain = (doc) => (rel.has(doc) ? Number(judgments[doc]) : 0);
  let dcg = 0;
  unique(ranking)
    .slice(0, k)
    .forEach((doc, i) => {
      dcg += gain(doc) / Math.log2(i + 2);
    });
  const ideal = [...rel].map(gain).sort((a, b) => b - a);
  let idcg = 0;
  for (let i = 0; i < Math.min(k, ideal.length); i++) idcg += ideal[i] / Math.log2(i + 2);
  return dcg / idcg;
}

/** Recall@k: share of the judged relevant documents found in the first k. */
export function recallAt(ranking, judgments, k) {
  const rel = relevantSet(judgments);
  if (rel.size === 0) return null;
  let found = 0;
  for (const doc of unique(ranking).slice(0, k)) if (rel.has(doc)) found++;
  return found / rel.size;
}

/** MRR@k: reciprocal rank of the first relevant document within the first k, else 0. */
export function mrrAt(ranking, judgments, k) {
  const rel = relevantSet(judgments);
  if (rel.size === 0) return null;
  const top = unique(ranking).slice(0, k);
  for (let i = 0; i < top.length; i++) if (rel.has(top[i])) return 1 / (i + 1);
  return 0;
}

/**
 * Scores a whole run.
 * @param {Record<string, string[]>} run query id -> ranked document ids
 * @param {Record<string, Record<string, number>>} qrels query id -> (doc id -> relevance)
 * @returns {{queries: number, missing: number, ndcg10: number, recall10: number, recall100: number, mrr10: number,
 *   perQuery: Record<string, {ndcg10: number, recall10: number, recall100: number, mrr10: number}>}}
 */
export function evaluate(run, qrels) {
  const perQuery = {};
  const sum = { ndcg10: 0, recall10: 0, recall100: 0, mrr10: 0 };
  let n = 0;
  let missing = 0;
  for (const [qid, judgments] of Object.entries(qrels)) {
    if (relevantSet(judgments).size === 0) continue;
    const ranking = run[qid];
    if (!ranking) missing++;
    const r = ranking ?? [];
    const m = {
      ndcg10: ndcgAt(r, judgments, 10),
      recall10: recallAt(r, judgments, 10),
      recall100: recallAt(r, judgments, 100),
      mrr10: mrrAt(r, judgments, 10),
    };
    perQuery[qid] = m;
    for (const key of Object.keys(sum)) sum[key] += m[key];
    n++;
  }
  const mean = (v) => (n === 0 ? 0 : v / n);
  return {
    queries: n,
    missing,
    ndcg10: mean(sum.ndcg10),
    recall10: mean(sum.recall10),
    recall100: mean(sum.recall100),
    mrr10: mean(sum.mrr10),
    perQuery,
  };
}

/**
 * Parses a BEIR qrels TSV (`query-id<TAB>corpus-id<TAB>score`, with a header line).
 * @param {string} text
 * @returns {Record<string, Record<string, number>>}
 */
export function parseQrels(text) {
  const qrels = {};
  const lines = text.split(/\r?\n/);
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    const [q, d, r] = line.split("\t");
    if (i === 0 && Number.isNaN(Number(r))) continue; // header
    const qid = q.trim();
    if (!qrels[qid]) qrels[qid] = {};
    qrels[qid][d.trim()] = Number(r);
  }
  return qrels;
}
