/**
 * English function words. BM25 gives them almost no weight (FTS5 floors a negative idf), yet each
 * one matches nearly every chunk and makes the engine score them all; dropping them keeps the
 * ranking and cuts the work. A query made only of such words keeps them.
 */
const STOPWORDS = new Set(
  "a an and are as at be been but by can could did do does for from had has have how i if in into is it its may might must no not of on or our should so than that the their them then there these they this those to was we were what when where which while who whom why will with would you your".split(
    " ",
  ),
);

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
  const all = [...new Set(words)];
  const content = all.filter((w) => !STOPWORDS.has(w));
  const unique = (content.length > 0 ? content : all).slice(0, maxTerms);
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
