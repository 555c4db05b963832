import { ApiError } from "../http/errors";
import type { Collection } from "../storage/collections";
import { collectionIndex } from "./collection-index/client";
import { CLIENT_INDEX_ERRORS, indexErrorOf } from "./collection-index/errors";
import type { IndexHit } from "./collection-index/object";
import type { MetadataFilter } from "./filter";
import { defaultVectorWeight, type SearchMode } from "./fusion";
import { embeddingModelOf } from "./models";
import { activeEmbedderFor, selectRetrieval } from "./providers";

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

  let queryVector: Float32Array | undefined;
  let vectorCandidates: { documentId: string; ordinal: number; score: number }[] | undefined;
  if (opts.mode !== "keyword") {
    const embedder = activeEmbedderFor(env, collection);
    [queryVector] = await timed("embed", () => embedder.embed([opts.query], "query"));
    if (providers.vectorize) {
      const store = providers.vectorize;
      const q = queryVector;
      const matches = await timed("vectorize", () => store.query(collection.id, q, CANDIDATES));
      vectorCandidates = matches.map((m) => ({ documentId: m.documentId, ordinal: m.ordinal, score: m.score }));
      queryVector = undefined;
    }
  }
  const {
    hits,
    timings: inner,
    sealed,
  } = await timed("index", () =>
    collectionIndex(env, collection.id)
      .search({
        query: opts.query,
        topK: opts.topK,
        mode: opts.mode,
        fusion: opts.fusion,
        rrfK: opts.rrfK,
        vectorWeight: opts.vectorWeight ?? defaultVectorWeight(collection.embedder),
        pool,
        documentIds: opts.documentIds,
        filter: opts.filter,
        queryVector,
        whiten: providers.whitenQueries,
        vectorCandidates,
        hydrate: rerank ? Math.max(RERANK_POOL, opts.topK * 2) : opts.topK,
        statements: opts.statements,
      })
      .catch(toApiError),
  );
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
