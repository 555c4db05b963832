/**
 * The embedding models a collection may be created with, declared once: their dimension, the
 * Vectorize binding whose index has that dimension, and how long an input the model reads.
 * A collection's model is fixed at creation (its vectors live in that model's index).
 */
export const EMBEDDING_MODELS = {
  "@cf/baai/bge-base-en-v1.5": {
    dimensions: 768,
    binding: "VECTORIZE",
    /** Input tokens the model reads; longer chunks are embedded from their start only. */
    maxInputTokens: 512,
    description: "English (default)",
  },
  "@cf/baai/bge-m3": {
    dimensions: 1024,
    binding: "VECTORIZE_M3",
    maxInputTokens: 8192,
    description: "multilingual (100+ languages), 1024 dimensions",
  },
} as const;

export type EmbeddingModel = keyof typeof EMBEDDING_MODELS;
export const DEFAULT_EMBEDDING_MODEL: EmbeddingModel = "@cf/baai/bge-base-en-v1.5";
export const EMBEDDING_MODEL_IDS = Object.keys(EMBEDDING_MODELS) as [EmbeddingModel, ...EmbeddingModel[]];

/** A stored model name as a known model (rows written before migration 0004 carry the default). */
export function embeddingModelOf(row: { embedding_model?: string | null }): EmbeddingModel {
  const m = row.embedding_model;
  return m && m in EMBEDDING_MODELS ? (m as EmbeddingModel) : DEFAULT_EMBEDDING_MODEL;
}
