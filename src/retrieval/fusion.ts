/** Hybrid fusion of keyword and vector candidates (runs inside the collection index object). */
import { compareFused, fusionDefaults } from "./fusion-defaults";

export type SearchMode = "hybrid" | "vector" | "keyword";

export interface Candidate {
  documentId: string;
  ordinal: number;
  vector?: { score: number; rank: number };
  /** FTS5 bm25(): smaller (more negative) is better. */
  keyword?: { score: number; rank: number };
}

export interface FusionOptions {
  mode: SearchMode;
  fusion?: "convex" | "rrf";
  rrfK?: number;
  /** Weight of the vector list (keyword gets 1 - w); the caller resolves the embedder's default. */
  vectorWeight: number;
}

/** How much hybrid fusion trusts the vector side, per embedder: the rule and its reasons are in fusion-defaults.ts. */
export function defaultVectorWeight(embedderId: string): number {
  return fusionDefaults(embedderId).vectorWeight;
}

/**
 * Min-max normalised convex fusion: each side's scores are scaled to [0, 1] over its own candidate
 * list, then mixed as w·vector + (1 − w)·keyword (a side that did not return the chunk adds 0).
 * Unlike rank fusion it keeps score gaps: a weak vector side can only reorder chunks whose keyword
 * scores are close, which is what lets hybrid stay at or above keyword alone with the local embedder.
 */
function convexFusion(candidates: Candidate[], wv: number): (c: Candidate) => number {
  let kMin = Number.POSITIVE_INFINITY;
  let kMax = Number.NEGATIVE_INFINITY;
  let vMin = Number.POSITIVE_INFINITY;
  let vMax = Number.NEGATIVE_INFINITY;
  for (const c of candidates) {
    if (c.keyword) {
      kMin = Math.min(kMin, -c.keyword.score);
      kMax = Math.max(kMax, -c.keyword.score);
    }
    if (c.vector) {
      vMin = Math.min(vMin, c.vector.score);
      vMax = Math.max(vMax, c.vector.score);
    }
  }
  const norm = (x: number, lo: number, hi: number) => (hi > lo ? (x - lo) / (hi - lo) : 1);
  return (c) => (c.keyword ? (1 - wv) * norm(-c.keyword.score, kMin, kMax) : 0) + (c.vector ? wv * norm(c.vector.score, vMin, vMax) : 0);
}

/** Candidates with their fused score, best first. */
export function fuse(candidates: Candidate[], opts: FusionOptions): { c: Candidate; score: number }[] {
  const wv = opts.mode === "hybrid" ? opts.vectorWeight : opts.mode === "vector" ? 1 : 0;
  let scoreOf: (c: Candidate) => number;
  if (opts.mode === "vector") scoreOf = (c) => c.vector?.score ?? 0;
  else if (opts.mode === "keyword") scoreOf = (c) => -(c.keyword?.score ?? 0);
  else if ((opts.fusion ?? "convex") === "rrf") {
    const k = opts.rrfK ?? 60;
    scoreOf = (c) => (c.vector ? wv / (k + c.vector.rank) : 0) + (c.keyword ? (1 - wv) / (k + c.keyword.rank) : 0);
  } else {
    scoreOf = convexFusion(candidates, wv);
  }
  const fused = candidates.map((c) => ({ c, score: scoreOf(c), keyword: c.keyword !== undefined }));
  fused.sort(compareFused);
  return fused.map(({ c, score }) => ({ c, score }));
}
