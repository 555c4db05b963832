import { ApiError } from "../http/errors";
import type { Collection } from "../storage/collections";
import { collectionIndex } from "./collection-index/client";
import { MAX_TOP_K } from "./collection-index/types";
import { CLIENT_INDEX_ERRORS, indexErrorOf } from "./collection-index/errors";
import type { IndexHit, IndexSearchRequest } from "./collection-index/object";
import type { SearchResult } from "./collection-index/searcher";
import type { VectorizeStore } from "./cloudflare/vectorize";
import type { MetadataFilter } from "./filter";
import { type Candidate, defaultVectorWeight, fuse, type SearchMode } from "./fusion";
import { embeddingModelOf } from "./models";
import { activeEmbedderFor, selectRetrieval } from "./providers";
import { fanOutSearch, shardCount, shardStubs, type VectorSide } from "./shards";

export { defaultVectorWeight, type SearchMode } from "./fusion";

export interface SearchOptions {
  query: string;
  topK: number;
  mode: SearchMode;
  documentIds?: string[];
  /** Metadata filter (OpenAI grammar), applied inside the index before top-k. */
  filter?: MetadataFilter;
  /** Hybrid fusion: min-max normalised convex combination (default) or reciprocal rank fusion. */
  fusion?: "convex" | "rrf";
  /** Reciprocal-rank-fusion constant (fusion "rrf"). */
  rrfK?: number;
  /** Weight of the vector list in hybrid fusion (keyword gets 1 - w). */
  vectorWeight?: number;
  /** Re-order the fused candidates with Workers AI bge-reranker-base (only when AI is bound). */
  rerank?: boolean;
  /** Chat: each hit with the answerer's statements stored at ingest (never part of a search response). */
  statements?: boolean;
}

export interface SearchHit extends Omit<IndexHit, "scores"> {
  scores: IndexHit["scores"] & { rerank: number | null };
}

/** Candidates the cross-encoder re-scores: enough to fix the order, few enough to stay fast. */
const RERANK_POOL = 30;
/** Candidates fetched per side before fusion. Vectorize caps topK at 100. */
const CANDIDATES = 100;

/** Milliseconds spent per step (I/O-bound steps; workerd's clock advances on I/O), for Server-Timing. */
export type SearchTimings = Partial<Record<"embed" | "vectorize" | "index" | "vector" | "keyword" | "hydrate" | "rerank", number>>;

/**
 * One search: the Worker embeds the query (and, with Vectorize, asks Vectorize for candidates),
 * then makes one RPC to the collection's index object, which gathers keyword and local-vector
 * candidates, applies the filters before top-k, fuses and hydrates. Reranking, when asked for,
 * runs here on the finished hits.
 */
export async function search(env: Env, collection: Collection, opts: SearchOptions, timings: SearchTimings = {}): Promise<SearchHit[]> {
  const timed = async <T>(name: keyof SearchTimings, p: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await p();
    } finally {
      timings[name] = performance.now() - t0;
    }
  };
  const providers = selectRetrieval(env, embeddingModelOf(collection));
  const filtered = (opts.documentIds?.length ?? 0) > 0 || opts.filter !== undefined;
  const pool = filtered ? CANDIDATES : Math.min(CANDIDATES, Math.max(opts.topK * 2, 50));
  const rerank = opts.rerank === true && providers.reranker !== null;

  const request: IndexSearchRequest = {
    query: opts.query,
    topK: opts.topK,
    mode: opts.mode,
    fusion: opts.fusion,
    rrfK: opts.rrfK,
    vectorWeight: opts.vectorWeight ?? defaultVectorWeight(collection.embedder),
    pool,
    documentIds: opts.documentIds,
    filter: opts.filter,
    whiten: providers.whitenQueries,
    hydrate: rerank ? Math.max(RERANK_POOL, opts.topK * 2) : opts.topK,
    statements: opts.statements,
  };
  let result: SearchResult;
  if (shardCount(collection) > 1) {
    // A sharded collection (docs/scaling.md, "Shards"): two parallel rounds over its shards, the
    // first (each shard's BM25 statistics) alongside the query's embedding and Vectorize query.
    let vector: (() => Promise<VectorSide>) | undefined;
    if (opts.mode !== "keyword") {
      // The mismatch check throws before anything starts, as on the single-object paths.
      const embedder = activeEmbedderFor(env, collection);
      const store = providers.vectorize;
      vector = async () => {
        const [queryVector] = await timed("embed", () => embedder.embed([opts.query], "query"));
        if (!store) return { queryVector };
        const matches = await timed("vectorize", () => store.query(collection.id, queryVector, CANDIDATES));
        return { vectorCandidates: matches.map((m) => ({ documentId: m.documentId, ordinal: m.ordinal, score: m.score })) };
      };
    }
    result = await fanOutSearch(shardStubs(env, collection), request, vector).catch(toApiError);
  } else if (opts.mode === "hybrid" && providers.vectorize) {
    result = await overlapped(env, collection, request, providers.vectorize, timed);
  } else {
    if (opts.mode !== "keyword") {
      const embedder = activeEmbedderFor(env, collection);
      const [queryVector] = await timed("embed", () => embedder.embed([opts.query], "query"));
      if (providers.vectorize) {
        const store = providers.vectorize;
        const matches = await timed("vectorize", () => store.query(collection.id, queryVector, CANDIDATES));
        request.vectorCandidates = matches.map((m) => ({ documentId: m.documentId, ordinal: m.ordinal, score: m.score }));
      } else {
        request.queryVector = queryVector;
      }
    }
    result = await timed("index", () => collectionIndex(env, collection.id).search(request).catch(toApiError));
  }
  const { hits, timings: inner, sealed } = result;
  // Deletion began after this isolate cached the collection: it is gone.
  if (sealed) throw new ApiError("not_found", "Collection not found");
  Object.assign(timings, inner);
  let out: SearchHit[] = hits.map((h) => ({ ...h, scores: { ...h.scores, rerank: null } }));
  if (rerank && providers.reranker && out.length > 1) {
    const reranker = providers.reranker;
    const scores = await timed("rerank", () =>
      reranker.rerank(
        opts.query,
        out.map((h) => h.text),
      ),
    );
    out = out.map((h, i) => ({ ...h, score: scores[i], scores: { ...h.scores, rerank: scores[i] } })).sort((a, b) => b.score - a.score);
  }
  return out.slice(0, opts.topK);
}

type Timed = <T>(name: keyof SearchTimings, p: () => Promise<T>) => Promise<T>;

/**
 * Hybrid search with Workers AI and Vectorize, its two halves overlapped: the keyword half (one
 * keyword-mode call to the index object) starts at once and runs while Workers AI embeds the query;
 * the vector half (Vectorize, then one vector-mode call that drops candidates the collection does
 * not hold or the filter excludes, and hydrates them) starts as soon as the embedding is ready.
 * Both calls return every candidate of their side (hydrate = pool) with its score and rank, so the
 * fusion here is the object's own `fuse` over the same lists, in the same order, as the single
 * hybrid call makes. Errors keep the sequential order: a failed embedding or Vectorize query is the
 * request's error even if the keyword call failed too (that rejection is handled, never left loose).
 */
async function overlapped(
  env: Env,
  collection: Collection,
  req: IndexSearchRequest,
  store: VectorizeStore,
  timed: Timed,
): Promise<SearchResult> {
  // The mismatch check throws before anything starts, as on the sequential path.
  const embedder = activeEmbedderFor(env, collection);
  const stub = collectionIndex(env, collection.id);
  const keywordHalf = stub.search({ ...req, mode: "keyword", hydrate: req.pool }).catch(toApiError);
  // Handled here so that a failing vector half (awaited first) leaves no unhandled rejection behind.
  keywordHalf.catch(() => {});
  const [queryVector] = await timed("embed", () => embedder.embed([req.query], "query"));
  const matches = await timed("vectorize", () => store.query(collection.id, queryVector, CANDIDATES));
  const keyword = await keywordHalf;
  if (keyword.sealed) return keyword;
  const hydrate = Math.max(req.topK, Math.min(MAX_TOP_K, req.hydrate));
  // As in the object: at weight 0 with keyword hits filling the page, the vector side cannot change it.
  const vectorsNeeded = !(req.vectorWeight === 0 && keyword.hits.length >= hydrate && (req.fusion ?? "convex") === "convex");
  let vector: SearchResult = { hits: [], timings: {} };
  if (vectorsNeeded) {
    const vectorCandidates = matches.map((m) => ({ documentId: m.documentId, ordinal: m.ordinal, score: m.score }));
    vector = await timed("index", () => stub.search({ ...req, mode: "vector", vectorCandidates, hydrate: req.pool }).catch(toApiError));
    if (vector.sealed) return vector;
  }
  // The object's candidate order: vector list first (by rank), keyword-only chunks appended by rank.
  type Row = Candidate & { hit: IndexHit };
  const byKey = new Map<string, Row>();
  const key = (h: IndexHit) => `${h.document_id}:${h.ordinal}`;
  const byRank = (side: "vector_rank" | "keyword_rank") => (a: IndexHit, b: IndexHit) => (a.scores[side] ?? 0) - (b.scores[side] ?? 0);
  for (const h of [...vector.hits].sort(byRank("vector_rank")))
    byKey.set(key(h), {
      documentId: h.document_id,
      ordinal: h.ordinal,
      vector: { score: h.scores.vector ?? 0, rank: h.scores.vector_rank ?? 0 },
      hit: h,
    });
  for (const h of [...keyword.hits].sort(byRank("keyword_rank"))) {
    const row = byKey.get(key(h)) ?? { documentId: h.document_id, ordinal: h.ordinal, hit: h };
    row.keyword = { score: h.scores.keyword ?? 0, rank: h.scores.keyword_rank ?? 0 };
    byKey.set(key(h), row);
  }
  const top = fuse([...byKey.values()], req).slice(0, hydrate);
  const hits = top.map(({ c, score }) => {
    const { hit, vector: v, keyword: k } = c as Row;
    return {
      ...hit,
      score,
      scores: {
        vector: v?.score ?? null,
        vector_rank: v?.rank ?? null,
        keyword: k?.score ?? null,
        keyword_rank: k?.rank ?? null,
        fused: score,
      },
    };
  });
  const timings: Record<string, number> = { ...keyword.timings };
  for (const [name, ms] of Object.entries(vector.timings)) timings[name] = (timings[name] ?? 0) + ms;
  return { hits, timings };
}

/** The object's typed errors a request can cause become 400s in the envelope; anything else stays internal. */
function toApiError(err: unknown): never {
  const e = indexErrorOf(err);
  if (e && CLIENT_INDEX_ERRORS.has(e.code))
    throw new ApiError(e.code === "invalid_filter" ? "invalid_filter" : "validation_error", e.message, { cause: err });
  throw err;
}

export function serverTiming(timings: SearchTimings): string {
  return Object.entries(timings)
    .map(([k, v]) => `${k};dur=${(v ?? 0).toFixed(1)}`)
    .join(", ");
}
