/**
 * Provider interfaces. Each has a Cloudflare implementation (chosen when its binding exists) and a
 * local one that needs no network and no model weights (chosen otherwise), so the same pipeline
 * runs in production, under `wrangler dev` and in tests.
 */

export type EmbedKind = "document" | "query";

export interface Embedder {
  /** Stable id recorded per collection, e.g. `local-hash-v1` or `@cf/baai/bge-base-en-v1.5`. */
  readonly id: string;
  readonly dimensions: number;
  /** Most texts one call may take (Workers AI: 100). Callers batch accordingly. */
  readonly maxBatch: number;
  /** One L2-normalised vector per text, in order. */
  embed(texts: string[], kind: EmbedKind): Promise<Float32Array[]>;
}

export interface VectorRecord {
  /** `<document_id>:<ordinal>`; at most 64 bytes (Vectorize's id limit). */
  id: string;
  values: Float32Array;
  documentId: string;
  ordinal: number;
}

export interface VectorMatch {
  id: string;
  score: number;
  documentId: string;
  ordinal: number;
}

export interface VectorIndex {
  readonly id: "local" | "vectorize";
  /** Idempotent: re-upserting an id replaces it. */
  upsert(collectionId: string, vectors: VectorRecord[]): Promise<void>;
  /** Cosine similarity, best first, only within `collectionId`. */
  query(collectionId: string, vector: Float32Array, topK: number): Promise<VectorMatch[]>;
  /** Idempotent: unknown ids are ignored. */
  deleteByIds(collectionId: string, ids: string[]): Promise<void>;
  /** Drops every vector of a collection. */
  dropCollection(collectionId: string): Promise<void>;
}

export function vectorId(documentId: string, ordinal: number): string {
  return `${documentId}:${ordinal}`;
}
