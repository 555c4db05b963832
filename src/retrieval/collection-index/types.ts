/** The collection object's RPC shapes (object.ts is the RPC surface; the modules share these). */
import type { MetadataFilter } from "../filter";
import type { SearchMode } from "../fusion";

export const MAX_TOP_K = 100;
/** Chunks per write call; the client also cuts pages by bytes (RPC messages stay well under 32 MiB). */
export const MAX_PAGE = 1000;
/**
 * Rows per transaction of a paged commit, and chunks per staging call from the client: a page is a
 * few ms of work, so a large document never holds the object (or its isolate) for long (issue 17.5).
 */
export const COMMIT_PAGE = 100;

export interface ChunkInput {
  ordinal: number;
  text: string;
  start: number;
  end: number;
  page: number | null;
  heading: string | null;
  tokens: number;
}

export interface DocumentInput {
  id: string;
  generation: number;
  name: string;
  /** The document's metadata JSON (filters run on it). */
  metadata: string;
}

export interface WritePage {
  document: DocumentInput;
  chunks: ChunkInput[];
  /** Local embedder only: one vector per chunk, in order. With Vectorize there are none here. */
  vectors?: (Float32Array | number[])[];
  /** Set on the last page: the total number of chunks, and the page is committed atomically. */
  commit?: { chunkCount: number };
}

export type WriteResult = { status: "staged" | "ready"; chunkCount: number } | { status: "stale"; chunkCount: 0 };

export interface VectorCandidate {
  documentId: string;
  ordinal: number;
  score: number;
}

export interface IndexSearchRequest {
  query: string;
  topK: number;
  mode: SearchMode;
  fusion?: "convex" | "rrf";
  rrfK?: number;
  vectorWeight: number;
  /** Candidates per side before fusion. */
  pool: number;
  documentIds?: string[];
  filter?: MetadataFilter;
  /** Local vectors: the query embedding, scanned here. */
  queryVector?: Float32Array | number[];
  whiten?: boolean;
  /** Vectorize: candidates the Worker got from Vectorize, post-filtered and fused here. */
  vectorCandidates?: VectorCandidate[];
  /** How many fused candidates to hydrate (a reranker wants more than topK). */
  hydrate: number;
  /** Chat: return each hit's statements precomputed at ingest (chunk-statements.ts). */
  statements?: boolean;
  /**
   * One shard of a sharded collection (docs/scaling.md, "Shards"): the collection-wide keyword
   * statistics (every shard's `termStats` summed) to score with instead of this object's own.
   */
  stats?: KeywordStats;
  /**
   * A shard's part of a fan-out: every candidate of both sides (keyword up to `pool`, vector up to
   * `pool`), hydrated, unfused (`score` and `fused` are 0), so the Worker can merge the shards'
   * lists and fuse them as one object would. `hydrate` is ignored.
   */
  raw?: boolean;
}

/** One field's BM25 statistics: live rows, their token total, and document frequency per query term. */
export interface FieldStats {
  rows: number;
  tokens: number;
  df: Record<string, number>;
}

/** A query's BM25 statistics for the text and the name field (one shard's, or summed over a collection's shards). */
export interface KeywordStats {
  text: FieldStats;
  names: FieldStats;
}

/** One shard's answer to a sharded search's first round (object.ts `termStats`). */
export interface ShardStats {
  stats: KeywordStats;
  /** Local vectors' whitening statistics, when asked for and held. */
  whitening: { rows: number; sumSq: number[] } | null;
  sealed?: true;
}

/** No rows, no terms: a shard (or query) that holds nothing adds nothing to the sums. */
export function emptyKeywordStats(): KeywordStats {
  return { text: { rows: 0, tokens: 0, df: {} }, names: { rows: 0, tokens: 0, df: {} } };
}

/** The collection's statistics: every shard's counts summed (integers, so the order does not matter). */
export function sumKeywordStats(all: KeywordStats[]): KeywordStats {
  const out = emptyKeywordStats();
  for (const s of all)
    for (const f of ["text", "names"] as const) {
      out[f].rows += s[f].rows;
      out[f].tokens += s[f].tokens;
      for (const [t, n] of Object.entries(s[f].df)) out[f].df[t] = (out[f].df[t] ?? 0) + n;
    }
  return out;
}

export interface IndexHit {
  chunk_id: number;
  document_id: string;
  document_name: string;
  ordinal: number;
  text: string;
  /** Where the chunk starts in the document's extracted text. */
  char_start: number;
  page: number | null;
  heading: string | null;
  score: number;
  scores: { vector: number | null; vector_rank: number | null; keyword: number | null; keyword_rank: number | null; fused: number };
  /** With `statements: true`: the answerer's analysis stored at ingest, or null (older rows). */
  statements?: string | null;
}

export interface IndexStats {
  documents: number;
  chunks: number;
  vectors: number;
  dims: number | null;
  loaded: boolean;
  /** Bytes of the in-memory vector matrix; 0 until the first vector query loads it. */
  memoryBytes: number;
  /** Size of the object's SQLite database (chunks, keyword indexes, vectors). */
  storageBytes: number;
  /** The in-memory keyword index: loaded, postings, distinct terms, bytes (0 until a keyword query loads it). */
  keyword: { loaded: boolean; postings: number; terms: number; memoryBytes: number };
}
