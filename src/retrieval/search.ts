import { activeEmbedderFor } from "../ingest/pipeline";
import type { Collection } from "../storage/collections";
import { WorkersAiReranker } from "./cloudflare/reranker";
import { compareFused, fusionDefaults } from "./fusion-defaults";
import { keywordSearch } from "./keyword";
import { selectVectorIndex } from "./providers";

export type SearchMode = "hybrid" | "vector" | "keyword";

export interface SearchOptions {
  query: string;
  topK: number;
  mode: SearchMode;
  documentIds?: string[];
  /** Hybrid fusion: min-max normalised convex combination (default) or reciprocal rank fusion. */
  fusion?: "convex" | "rrf";
  /** Reciprocal-rank-fusion constant (fusion "rrf"). */
  rrfK?: number;
  /** Weight of the vector list in hybrid fusion (keyword gets 1 - w). */
  vectorWeight?: number;
  /** Re-order the fused candidates with Workers AI bge-reranker-base (only when AI is bound). */
  rerank?: boolean;
}

export interface SearchHit {
  chunk_id: number;
  document_id: string;
  document_name: string;
  ordinal: number;
  text: string;
  page: number | null;
  heading: string | null;
  score: number;
  scores: {
    vector: number | null;
    vector_rank: number | null;
    keyword: number | null;
    keyword_rank: number | null;
    fused: number;
    rerank: number | null;
  };
}

/** Candidates the cross-encoder re-scores: enough to fix the order, few enough to stay fast. */
const RERANK_POOL = 30;

/** How much hybrid fusion trusts the vector side, per embedder: the rule lives in fusion-defaults.ts. */
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
      // bm25(): more negative is better; flip so larger is better.
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

/** Candidates fetched per side before fusion. Vectorize caps topK at 100. */
const CANDIDATES = 100;

interface Candidate {
  documentId: string;
  ordinal: number;
  vector?: { score: number; rank: number };
  keyword?: { score: number; rank: number };
}

/** Milliseconds spent per step (I/O-bound steps; workerd's clock advances on I/O), for Server-Timing. */
export type SearchTimings = Partial<Record<"embed" | "vector" | "keyword" | "hydrate" | "rerank", number>>;

export async function search(env: Env, collection: Collection, opts: SearchOptions, timings: SearchTimings = {}): Promise<SearchHit[]> {
  const timed = async <T>(name: keyof SearchTimings, p: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await p();
    } finally {
      timings[name] = performance.now() - t0;
    }
  };
  const wantVector = opts.mode !== "keyword";
  const wantKeyword = opts.mode !== "vector";
  const filter = opts.documentIds?.length ? new Set(opts.documentIds) : null;
  const pool = filter ? CANDIDATES : Math.min(CANDIDATES, Math.max(opts.topK * 2, 50));

  const [vectorHits, keywordHits] = await Promise.all([
    wantVector
      ? (async () => {
          const embedder = activeEmbedderFor(env, collection);
          const [q] = await timed("embed", () => embedder.embed([opts.query], "query"));
          return timed("vector", () => selectVectorIndex(env).query(collection.id, q, pool));
        })()
      : Promise.resolve([]),
    wantKeyword ? timed("keyword", () => keywordSearch(env.DB, collection.id, opts.query, pool)) : Promise.resolve([]),
  ]);

  const byKey = new Map<string, Candidate>();
  const key = (d: string, o: number) => `${d}:${o}`;
  let vr = 0;
  for (const h of vectorHits) {
    if (filter && !filter.has(h.documentId)) continue;
    const k = key(h.documentId, h.ordinal);
    byKey.set(k, { documentId: h.documentId, ordinal: h.ordinal, vector: { score: h.score, rank: ++vr } });
  }
  let kr = 0;
  for (const h of keywordHits) {
    if (filter && !filter.has(h.documentId)) continue;
    const k = key(h.documentId, h.ordinal);
    const c = byKey.get(k) ?? { documentId: h.documentId, ordinal: h.ordinal };
    c.keyword = { score: h.bm25, rank: ++kr };
    byKey.set(k, c);
  }

  const wv = opts.mode === "hybrid" ? (opts.vectorWeight ?? defaultVectorWeight(collection.embedder)) : opts.mode === "vector" ? 1 : 0;
  const candidates = [...byKey.values()];
  let scoreOf: (c: Candidate) => number;
  if (opts.mode === "vector") scoreOf = (c) => c.vector?.score ?? 0;
  else if (opts.mode === "keyword") scoreOf = (c) => -(c.keyword?.score ?? 0);
  else if ((opts.fusion ?? "convex") === "rrf") {
    const k = opts.rrfK ?? 60;
    scoreOf = (c) => (c.vector ? wv / (k + c.vector.rank) : 0) + (c.keyword ? (1 - wv) / (k + c.keyword.rank) : 0);
  } else {
    scoreOf = convexFusion(candidates, wv);
  }
  const fused = candidates.map((c) => ({ c, score: scoreOf(c) }));
  fused.sort((a, b) => compareFused({ score: a.score, keyword: !!a.c.keyword }, { score: b.score, keyword: !!b.c.keyword }));
  const rerank = opts.rerank === true && env.AI !== undefined;
  // A few spare in case some are no longer stored; more when a reranker will re-order them.
  const top = fused.slice(0, rerank ? Math.max(RERANK_POOL, opts.topK * 2) : opts.topK * 2);
  if (top.length === 0) return [];

  // CROSS JOIN keeps the candidate list as the outer loop so each candidate is one lookup in the
  // (document_id, ordinal) index; a plain JOIN let SQLite scan the whole collection per candidate.
  // Hydrate from D1: chunks exist only for committed documents (failure deletes them), so a vector whose
  // document failed or was deleted in the meantime is dropped here.
  const rows = await timed("hydrate", () =>
    env.DB.prepare(
      `SELECT c.id, c.document_id, c.ordinal, c.text, c.page, c.heading, d.name AS document_name
     FROM json_each(?2) j
     CROSS JOIN chunks c ON c.document_id = json_extract(j.value, '$[0]') AND c.ordinal = json_extract(j.value, '$[1]')
     JOIN documents d ON d.id = c.document_id
     WHERE c.collection_id = ?1`,
    )
      .bind(collection.id, JSON.stringify(top.map((t) => [t.c.documentId, t.c.ordinal])))
      .all<{
        id: number;
        document_id: string;
        ordinal: number;
        text: string;
        page: number | null;
        heading: string | null;
        document_name: string;
      }>(),
  );
  const stored = new Map(rows.results.map((r) => [key(r.document_id, r.ordinal), r]));

  let hits: SearchHit[] = [];
  for (const { c, score } of top) {
    const r = stored.get(key(c.documentId, c.ordinal));
    if (!r) continue;
    hits.push({
      chunk_id: r.id,
      document_id: r.document_id,
      document_name: r.document_name,
      ordinal: r.ordinal,
      text: r.text,
      page: r.page,
      heading: r.heading,
      score,
      scores: {
        vector: c.vector?.score ?? null,
        vector_rank: c.vector?.rank ?? null,
        keyword: c.keyword?.score ?? null,
        keyword_rank: c.keyword?.rank ?? null,
        fused: score,
        rerank: null,
      },
    });
    if (!rerank && hits.length === opts.topK) break;
  }
  if (rerank && env.AI && hits.length > 1) {
    const ai = env.AI;
    const scores = await timed("rerank", () =>
      new WorkersAiReranker(ai).rerank(
        opts.query,
        hits.map((h) => h.text),
      ),
    );
    hits = hits.map((h, i) => ({ ...h, score: scores[i], scores: { ...h.scores, rerank: scores[i] } })).sort((a, b) => b.score - a.score);
  }
  return hits.slice(0, opts.topK);
}

export function serverTiming(timings: SearchTimings): string {
  return Object.entries(timings)
    .map(([k, v]) => `${k};dur=${(v ?? 0).toFixed(1)}`)
    .join(", ");
}
