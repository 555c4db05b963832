/**
 * The hybrid search's default fusion, per embedder: one small pure rule, so whoever fuses (D1 today,
 * the per-collection index tomorrow) applies the same one.
 *
 * - A learned embedder (Workers AI bge) is a strong retriever in its own right: trusted as much
 *   as the keywords (weight 0.5), the usual choice for dense + BM25.
 * - The local hash embedder has no idf and sees the same stemmed words BM25 sees: it adds little
 *   that BM25 lacks. A weight picked as the best point of one SciFact sweep did not carry over to an
 *   unseen BEIR collection (hybrid below keyword there), and on SciFact's tuning half no positive
 *   weight beats keyword alone (figures in docs/performance.md, "Hybrid defaults"). So its weight is 0:
 *   the keyword ranking is kept as it is, and the vector side only adds the chunks keyword search
 *   did not find, after all of those it did (which still helps a query the keyword index cannot
 *   match, such as CJK text). Hybrid then equals keyword on every collection where keyword search
 *   returns enough, and is never below it.
 */
export interface FusionDefaults {
  /** Weight of the vector list in convex fusion (keyword gets 1 - w). */
  vectorWeight: number;
}

export function fusionDefaults(embedderId: string): FusionDefaults {
  return { vectorWeight: embedderId.startsWith("local-") ? 0 : 0.5 };
}

/**
 * Orders fused candidates: higher score first; on equal scores a candidate the keyword side found
 * comes before one only the vector side found (with weight 0 every vector-only candidate scores 0,
 * as does the lowest keyword hit after min-max scaling).
 */
export function compareFused(a: { score: number; keyword: boolean }, b: { score: number; keyword: boolean }): number {
  return b.score - a.score || Number(b.keyword) - Number(a.keyword);
}
