/**
 * Builds an FTS5 MATCH expression from free text: every word becomes a quoted term (so user input
 * can never inject FTS5 syntax) joined by OR, which is what BM25 ranking expects.
 */
export function ftsQuery(text: string, maxTerms = 64): string | null {
  const words = text
    .normalize("NFKC")
    .toLowerCase()
    .match(/[\p{L}\p{N}]+/gu);
  if (!words) return null;
  const unique = [...new Set(words)].slice(0, maxTerms);
  return unique.map((w) => `"${w}"`).join(" OR ");
}

export interface KeywordHit {
  chunkId: number;
  documentId: string;
  ordinal: number;
  /** FTS5 bm25(): smaller (more negative) is better. */
  bm25: number;
}

/** Keyword search, always filtered by collection. */
export async function keywordSearch(db: D1Database, collectionId: string, query: string, limit: number): Promise<KeywordHit[]> {
  const match = ftsQuery(query);
  if (!match) return [];
  const rows = await db
    .prepare(
      `SELECT c.id AS chunkId, c.document_id AS documentId, c.ordinal AS ordinal, bm25(chunks_fts) AS bm25
       FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid
       WHERE chunks_fts MATCH ?1 AND c.collection_id = ?2
       ORDER BY bm25 LIMIT ?3`,
    )
    .bind(match, collectionId, limit)
    .all<KeywordHit>();
  return rows.results;
}
