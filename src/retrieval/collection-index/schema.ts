/**
 * The collection index's own SQLite schema (Durable Object storage, one database per collection).
 * D1 keeps only the catalogue; everything a search reads lives here.
 *
 * - `docs`: one row per document ever committed here: its generation (a commit with an older one is
 *   stale), name and metadata JSON (so filters run here, before top-k). A deleted document keeps a
 *   tombstone (`deleted = 1`) so that a late commit of an older generation cannot resurrect it.
 * - `chunks` + `chunks_fts` (porter, external content) for keyword search; `chunks_tri` (trigram,
 *   own copy of the text) holds only chunks with CJK text, for CJK query terms.
 * - `names` + `names_fts` (porter, external content): each live document's name as words ("book-war-and-peace.txt" → "book war and
 *   peace"), a second keyword field: a query naming a document finds its chunks (BM25F-style).
 * - `term_ids` + `chunk_postings`: the keyword postings, persisted in binary (postings.ts). Every
 *   distinct porter term (as FTS5's tokenizer makes it) has an integer id; per chunk (same id), its
 *   length in tokens and a blob of varint (term-id delta, tf) pairs, written in the chunk's
 *   transaction and deleted with it by trigger: the in-memory BM25 index (keyword-index.ts) is
 *   built from them without tokenising any text or parsing JSON. (Objects written before kept
 *   `chunk_terms`, JSON per chunk; they are converted once, marked by `meta` `terms_v2`.)
 * - A document written in more than one call is staged under a shadow id (writer.ts): its rows sit
 *   in `chunks` (with their FTS, postings, vector and analysis rows, written once, as a live chunk's
 *   are) under `\u0001s:<id>\u0002<generation>` (never a document id), which no search reads,
 *   until the commit's flip renames them: one UPDATE of `chunks.document_id`, nothing else moves.
 * - `chunk_vectors`: int8 vectors with a scale (local embedder only; with Vectorize they live there)
 *   and `chunk_analysis` (chunk-statements.ts) are keyed by the chunk's row id, so they follow its
 *   rename for free and go with its delete by trigger. (Objects written before kept them keyed by
 *   (document_id, ordinal) in `vectors` and `chunk_statements`, and staged pages in `staged`: they
 *   are converted once when the object wakes, `migrateRowKeys`.)
 */
export const SCHEMA = `
  CREATE TABLE IF NOT EXISTS docs (
    id TEXT PRIMARY KEY,
    generation INTEGER NOT NULL,
    name TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    chunk_count INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    document_id TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    text TEXT NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    page INTEGER,
    heading TEXT,
    token_count INTEGER NOT NULL,
    cjk INTEGER NOT NULL DEFAULT 0,
    UNIQUE (document_id, ordinal)
  );
  CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5 (
    text, content = 'chunks', content_rowid = 'id', tokenize = 'porter unicode61 remove_diacritics 2'
  );
  CREATE VIRTUAL TABLE IF NOT EXISTS chunks_tri USING fts5 (text, tokenize = 'trigram');
  CREATE TABLE IF NOT EXISTS names (id INTEGER PRIMARY KEY, document_id TEXT NOT NULL UNIQUE, name TEXT NOT NULL);
  CREATE VIRTUAL TABLE IF NOT EXISTS names_fts USING fts5 (
    name, content = 'names', content_rowid = 'id', tokenize = 'porter unicode61 remove_diacritics 2'
  );
  CREATE TRIGGER IF NOT EXISTS names_ai AFTER INSERT ON names BEGIN
    INSERT INTO names_fts (rowid, name) VALUES (new.id, new.name);
  END;
  CREATE TRIGGER IF NOT EXISTS names_ad AFTER DELETE ON names BEGIN
    INSERT INTO names_fts (names_fts, rowid, name) VALUES ('delete', old.id, old.name);
  END;
  CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts (rowid, text) VALUES (new.id, new.text);
    INSERT INTO chunks_tri (rowid, text) SELECT new.id, new.text WHERE new.cjk = 1;
  END;
  CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts (chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
    DELETE FROM chunks_tri WHERE rowid = old.id AND old.cjk = 1;
  END;
  CREATE TABLE IF NOT EXISTS term_ids (id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE);
  CREATE TABLE IF NOT EXISTS chunk_postings (id INTEGER PRIMARY KEY, length INTEGER NOT NULL, postings BLOB NOT NULL);
  CREATE TRIGGER IF NOT EXISTS chunks_ad_postings AFTER DELETE ON chunks BEGIN
    DELETE FROM chunk_postings WHERE id = old.id;
  END;
  CREATE TABLE IF NOT EXISTS chunk_vectors (id INTEGER PRIMARY KEY, scale REAL NOT NULL, q BLOB NOT NULL);
  CREATE TRIGGER IF NOT EXISTS chunks_ad_vectors AFTER DELETE ON chunks BEGIN
    DELETE FROM chunk_vectors WHERE id = old.id;
  END;
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

/**
 * Shadow rows (writer.ts) have ids starting with U+0001, which no document id may (checkDocument):
 * every live id compares ≥ ' ' in SQLite's binary order. A document's shadow ids all fall in
 * [`shadowPrefix(id)`, `shadowEnd(id)`): the id is followed by U+0002, which no other document id
 * extending it can hold at that place. The unary `+` keeps the planner from trading the statement's
 * own plan for the (document_id, ordinal) index.
 */
export const SHADOW_PREFIX = "\u0001";
export const LIVE_CHUNK = "+c.document_id >= ' '";
export const shadowPrefix = (documentId: string) => `${SHADOW_PREFIX}s:${documentId}\u0002`;
export const shadowEnd = (documentId: string) => `${SHADOW_PREFIX}s:${documentId}\u0003`;
export const shadowId = (documentId: string, generation: number) => `${shadowPrefix(documentId)}${generation}`;
/** The generation a shadow id of `documentId` stages. */
export const shadowGeneration = (documentId: string, shadow: string) => Number(shadow.slice(shadowPrefix(documentId).length));

/**
 * Trigram candidates (CJK chunks only); `c` is looked up by rowid (one index probe per hit). The
 * porter field is scored in memory (bm25.ts), not here.
 */
export const TRIGRAM_SQL = (filterSql: string) => `
  SELECT c.document_id AS documentId, c.ordinal AS ordinal, bm25(chunks_tri) AS bm25
  FROM chunks_tri JOIN chunks c ON c.id = chunks_tri.rowid
  WHERE chunks_tri MATCH ? AND ${LIVE_CHUNK} ${filterSql ? `AND c.document_id IN (SELECT id FROM docs d WHERE ${filterSql})` : ""}
  ORDER BY bm25 LIMIT ?`;

/** A document's name as words: no extension, separators as spaces ("unstructured__book-war-and-peace-1p.txt" → "unstructured book war and peace 1p"). */
export function nameWords(name: string): string {
  return name
    .replace(/\.[a-z0-9]{1,5}$/i, "")
    .replace(/[_\-.]+/g, " ")
    .trim();
}

/**
 * CJK chunks holding any of `n` substrings, most substrings first. It scans `chunks_tri`'s own copy
 * of the text, which holds only the CJK chunks, never `chunks`.
 */
export const SUBSTRING_SQL = (n: number, filterSql: string) => `
  SELECT c.document_id AS documentId, c.ordinal AS ordinal, t.m AS m FROM (
    SELECT rowid AS id, (${Array.from({ length: n }, () => "(instr(text, ?) > 0)").join(" + ")}) AS m FROM chunks_tri
  ) t JOIN chunks c ON c.id = t.id
  WHERE t.m > 0 AND ${LIVE_CHUNK} ${filterSql ? `AND c.document_id IN (SELECT id FROM docs d WHERE ${filterSql})` : ""}
  ORDER BY t.m DESC LIMIT ?`;

/**
 * Candidate list in, stored rows out; CROSS JOIN keeps the list as the outer loop (one index lookup
 * each). With `statements`, each row's stored analysis (chunk-statements.ts) comes in the same
 * statement (a chat's hits need it; a search's do not carry it).
 */
export const HYDRATE_SQL = (statements: boolean) => `
  SELECT c.id, c.document_id, c.ordinal, c.text, c.char_start, c.page, c.heading, d.name AS document_name
    ${statements ? ", s.data AS statements" : ""}
  FROM json_each(?) j
  CROSS JOIN chunks c ON c.document_id = json_extract(j.value, '$[0]') AND c.ordinal = json_extract(j.value, '$[1]')
  JOIN docs d ON d.id = c.document_id AND d.deleted = 0
  ${statements ? "LEFT JOIN chunk_analysis s ON s.id = c.id" : ""}`;
