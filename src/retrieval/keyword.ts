import { STOPWORDS, words as wordsOf } from "../text";

/**
 * Builds an FTS5 MATCH expression from free text: every word becomes a quoted term (so user input
 * can never inject FTS5 syntax) joined by OR, which is what BM25 ranking expects.
 */
export function ftsQuery(text: string, maxTerms = 64): string | null {
  // Function words (the shared STOPWORDS) match nearly every chunk: BM25 gives them almost no
  // weight, yet FTS5 must score every chunk they match. A query made only of them keeps them.
  const words = wordsOf(text);
  if (words.length === 0) return null;
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
