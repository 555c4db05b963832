import { CHUNK_DEFAULTS, type ChunkingStrategy } from "../../storage/collections";

export { type ChunkingStrategy, collectionStrategy, STATIC_CHUNK_LIMITS } from "../../storage/collections";
import type { ChunkOptions } from "./index";

/**
 * The chunker's sizes for a document: its own strategy when the upload gave one (`auto` then means
 * the default sizes), else its collection's. The chunker needs overlap < max, which ≤ half implies.
 */
export function chunkOptionsFor(
  collection: { chunk_tokens: number; chunk_overlap: number },
  documentChunking: string | null | undefined,
): ChunkOptions {
  if (documentChunking) {
    const s = JSON.parse(documentChunking) as ChunkingStrategy;
    if (s.type === "static") return { maxTokens: s.static.max_chunk_size_tokens, overlapTokens: s.static.chunk_overlap_tokens };
    return { maxTokens: CHUNK_DEFAULTS.tokens, overlapTokens: CHUNK_DEFAULTS.overlap };
  }
  return { maxTokens: collection.chunk_tokens, overlapTokens: collection.chunk_overlap };
}
