/**
 * Every statement the collection object runs, beside its schema (schema.ts): the writer, the
 * keyword index, the vectors and the searcher go through this one class and never build SQL.
 */
import { compileFilter, type MetadataFilter } from "../filter";
import { IndexError } from "./errors";
import { CHUNK_STATEMENTS_SCHEMA, writeChunkStatementsBatch } from "./chunk-statements";
import type { EncodedPostings } from "./postings";
import {
  HYDRATE_SQL,
  LIVE_CHUNK,
  nameWords,
  SCHEMA,
  SHADOW_PREFIX,
  SUBSTRING_SQL,
  shadowEnd,
  shadowGeneration,
  shadowPrefix,
  TRIGRAM_SQL,
} from "./schema";

/** A compiled document scope (ids and/or metadata filter) over `docs d`. */
export interface Scope {
  sql: string;
  params: unknown[];
}

export type StagedRow = {
  ordinal: number;
  text: string;
  char_start: number;
  char_end: number;
  page: number | null;
  heading: string | null;
  token_count: number;
};

export type HydratedRow = {
  id: number;
  document_id: string;
  ordinal: number;
  text: string;
  char_start: number;
  page: number | null;
  heading: string | null;
  document_name: string;
  /** The chunk's stored analysis (only when asked for; null when none is stored). */
  statements?: string | null;
};

/** Statements bind at most 100 parameters. */
const MAX_PARAMS = 100;

export class Statements {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  get databaseSize(): number {
    return this.#sql.databaseSize;
  }

  createSchema(): void {
    this.#sql.exec(SCHEMA);
    this.#sql.exec(CHUNK_STATEMENTS_SCHEMA);
  }

  meta(key: string): string | null {
    return this.#sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0]?.value ?? null;
  }

  setMeta(key: string, value: string): void {
    this.#sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", key, value);
  }

  // --- documents ---------------------------------------------------------------------------

  docRow(id: string): { generation: number; chunk_count: number; deleted: number } | null {
    return (
      this.#sql
        .exec<{ generation: number; chunk_count: number; deleted: number }>(
          "SELECT generation, chunk_count, deleted FROM docs WHERE id = ?",
          id,
        )
        .toArray()[0] ?? null
    );
  }

  upsertDoc(d: { id: string; generation: number; name: string; metadata: string }, chunkCount: number): void {
    this.#sql.exec(
      `INSERT INTO docs (id, generation, name, metadata, chunk_count, deleted) VALUES (?, ?, ?, ?, ?, 0)
       ON CONFLICT (id) DO UPDATE SET generation = excluded.generation, name = excluded.name, metadata = excluded.metadata,
         chunk_count = excluded.chunk_count, deleted = 0`,
      d.id,
      d.generation,
      d.name,
      d.metadata,
      chunkCount,
    );
    this.#sql.exec("INSERT INTO names (document_id, name) VALUES (?, ?)", d.id, nameWords(d.name));
  }

  tombstone(id: string, generation: number): void {
    this.#sql.exec(
      `INSERT INTO docs (id, generation, name, metadata, chunk_count, deleted) VALUES (?, ?, '', '{}', 0, 1)
       ON CONFLICT (id) DO UPDATE SET generation = excluded.generation, chunk_count = 0, deleted = 1, metadata = '{}'`,
      id,
      generation,
    );
  }

  deleteDoc(id: string): void {
    this.#sql.exec("DELETE FROM docs WHERE id = ?", id);
  }

  /**
   * Deletes a document's live rows (chunks and, by trigger, their FTS, postings, vector and analysis
   * rows; its name); returns how many ordinals its vectors may have used.
   */
  deleteLiveRows(documentId: string): number {
    const max =
      this.#sql.exec<{ n: number | null }>("SELECT MAX(ordinal) + 1 AS n FROM chunks WHERE document_id = ?", documentId).one().n ?? 0;
    this.#sql.exec("DELETE FROM chunks WHERE document_id = ?", documentId);
    this.#sql.exec("DELETE FROM names WHERE document_id = ?", documentId);
    return max;
  }

  /** Objects created before `names` existed: index the live documents' names once. */
  backfillNames(transaction: (f: () => void) => void): void {
    if (this.meta("names_v1") !== null) return;
    transaction(() => {
      this.#sql.exec("DELETE FROM names");
      for (const d of this.#sql.exec<{ id: string; name: string }>("SELECT id, name FROM docs WHERE deleted = 0").toArray())
        this.#sql.exec("INSERT INTO names (document_id, name) VALUES (?, ?)", d.id, nameWords(d.name));
      this.setMeta("names_v1", "1");
    });
  }

  // --- staging and commit --------------------------------------------------------------------

  /** A document's shadow ids (staged attempts) with their generations. */
  shadowsOf(documentId: string): { shadow: string; generation: number }[] {
    return this.#sql
      .exec<{ id: string }>(
        "SELECT DISTINCT document_id AS id FROM chunks WHERE document_id >= ? AND document_id < ?",
        shadowPrefix(documentId),
        shadowEnd(documentId),
      )
      .toArray()
      .map((r) => ({ shadow: r.id, generation: shadowGeneration(documentId, r.id) }));
  }

  /** Staged rows of a document (all, or those of generations up to `upToGeneration`). */
  deleteStaged(documentId: string, upToGeneration?: number): void {
    for (const s of this.shadowsOf(documentId))
      if (upToGeneration === undefined || s.generation <= upToGeneration) this.deleteShadowRows(s.shadow);
  }

  /**
   * Inserts a batch of chunks under one id (a live document, or an attempt's shadow id) with their
   * postings, in two statements whatever the batch's size (rows travel as one JSON array and one
   * blob): a statement per row cost more in the runtime's per-call overhead than in SQLite itself.
   * Returns the row ids by ordinal. Ordinals must be distinct within the batch.
   */
  insertChunks(documentId: string, rows: { r: StagedRow; cjk: boolean; postings: EncodedPostings }[]): Map<number, number> {
    const ids = new Map<number, number>();
    if (rows.length === 0) return ids;
    const json = JSON.stringify(
      rows.map(({ r, cjk }) => [r.ordinal, r.text, r.char_start, r.char_end, r.page, r.heading, r.token_count, cjk ? 1 : 0]),
    );
    for (const { id, ordinal } of this.#sql.exec<{ id: number; ordinal: number }>(
      `INSERT INTO chunks (document_id, ordinal, text, char_start, char_end, page, heading, token_count, cjk)
       SELECT ?, j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, j.value ->> 5, j.value ->> 6, j.value ->> 7
       FROM json_each(?) j RETURNING id, ordinal`,
      documentId,
      json,
    ))
      ids.set(ordinal, id);
    // All postings in one blob, each row its byte range (substr counts bytes on a blob).
    const { blob, ranges } = concatBlobs(rows.map((x) => x.postings.blob));
    this.#sql.exec(
      `INSERT INTO chunk_postings (id, length, postings)
       SELECT j.value ->> 0, j.value ->> 1, CASE WHEN j.value ->> 3 = 0 THEN x'' ELSE substr(?, j.value ->> 2, j.value ->> 3) END
       FROM json_each(?) j`,
      blob,
      JSON.stringify(rows.map((x, i) => [ids.get(x.r.ordinal), x.postings.length, ranges[2 * i] + 1, ranges[2 * i + 1]])),
    );
    return ids;
  }

  /**
   * Deletes the chunks of `documentId` at the given ordinals (and, by trigger, everything stored
   * with them) in one statement: staged chunks that a retry sends again are replaced.
   */
  deleteChunksAt(documentId: string, ordinals: number[]): void {
    if (ordinals.length === 0) return;
    this.#sql.exec(
      "DELETE FROM chunks WHERE document_id = ? AND ordinal IN (SELECT value FROM json_each(?))",
      documentId,
      JSON.stringify(ordinals),
    );
  }

  insertTermId(id: number, term: string): void {
    this.#sql.exec("INSERT INTO term_ids (id, term) VALUES (?, ?)", id, term);
  }

  allTermIds(): Iterable<SqlStorageValue[]> {
    return this.#sql.exec("SELECT id, term FROM term_ids").raw();
  }

  /**
   * A batch of int8 vectors in one statement: the quantised bytes as one blob cut by substr, the
   * scales bound as parameters (a REAL through JSON text could come back an ulp off).
   */
  insertVectors(rows: { id: number; scale: number; q: Int8Array }[]): void {
    // Three parameters per row beside the blob, inside the 100-parameter limit.
    const per = Math.floor((MAX_PARAMS - 1) / 3);
    for (let from = 0; from < rows.length; from += per) {
      const part = rows.slice(from, from + per);
      const { blob, ranges } = concatBlobs(part.map((r) => r.q));
      const params: unknown[] = [blob];
      for (const [i, r] of part.entries()) params.push(r.id, r.scale, ranges[2 * i] + 1);
      // Every vector has the collection's width: vectors.ts quantises each to its one dimension.
      const width = part[0].q.byteLength;
      this.#sql.exec(
        `WITH b(v) AS (SELECT ?) INSERT INTO chunk_vectors (id, scale, q) SELECT r.column1, r.column2, substr(b.v, r.column3, ${width})
         FROM (VALUES ${part.map(() => "(?, ?, ?)").join(", ")}) r, b`,
        ...params,
      );
    }
  }

  // --- keyword index --------------------------------------------------------------------------

  /** Whether this object still holds the JSON term counts of the layout before `chunk_postings`. */
  hasLegacyTerms(): boolean {
    return this.#sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'chunk_terms'").toArray().length > 0;
  }

  /** Chunks with no postings row yet (old layouts), with their legacy JSON term counts when there are any. */
  chunksWithoutPostings(legacy: boolean): { id: number; text: string; terms: string | null }[] {
    return this.#sql
      .exec<{ id: number; text: string; terms: string | null }>(
        legacy
          ? "SELECT c.id, c.text, t.terms FROM chunks c LEFT JOIN chunk_postings p ON p.id = c.id LEFT JOIN chunk_terms t ON t.id = c.id WHERE p.id IS NULL"
          : "SELECT c.id, c.text, NULL AS terms FROM chunks c LEFT JOIN chunk_postings p ON p.id = c.id WHERE p.id IS NULL",
      )
      .toArray();
  }

  insertPostings(id: number, p: EncodedPostings): void {
    this.#sql.exec("INSERT INTO chunk_postings (id, length, postings) VALUES (?, ?, ?)", id, p.length, p.blob);
  }

  dropLegacyTerms(): void {
    this.#sql.exec("DROP TRIGGER IF EXISTS chunks_ad_terms");
    this.#sql.exec("DROP TABLE IF EXISTS chunk_terms");
  }

  /** Every live chunk's (id, document, ordinal, length, postings blob), in id order (raw rows: the fastest read). */
  allChunkPostings(): Iterable<SqlStorageValue[]> {
    return this.#sql
      .exec(
        `SELECT c.id, c.document_id, c.ordinal, p.length, p.postings FROM chunk_postings p JOIN chunks c ON c.id = p.id
         WHERE ${LIVE_CHUNK} ORDER BY p.id`,
      )
      .raw();
  }

  /** A document's chunks with their postings (live rows, or a shadow id's). */
  chunkPostingsOf(documentId: string): { id: number; ordinal: number; length: number; postings: ArrayBuffer }[] {
    return this.#sql
      .exec<{ id: number; ordinal: number; length: number; postings: ArrayBuffer }>(
        "SELECT c.id, c.ordinal, p.length, p.postings FROM chunks c JOIN chunk_postings p ON p.id = c.id WHERE c.document_id = ? ORDER BY c.id",
        documentId,
      )
      .toArray();
  }

  // --- the flip and recovery -------------------------------------------------------------------

  countChunks(documentId: string): number {
    return this.#sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM chunks WHERE document_id = ?", documentId).one().n;
  }

  /** The flip: a shadow id's chunks become the document's (their vector and analysis rows are keyed by row id: nothing else moves). */
  renameRows(from: string, to: string): void {
    this.#sql.exec("UPDATE chunks SET document_id = ? WHERE document_id = ?", to, from);
  }

  /** A shadow id's rows (chunks and, by trigger, their FTS, postings, vector and analysis rows). */
  deleteShadowRows(shadow: string): void {
    this.#sql.exec("DELETE FROM chunks WHERE document_id = ?", shadow);
  }

  /** Journal entries of the paged commits of objects written before staging went straight to shadow rows (`meta` keys `commit:<document id>`). */
  commitJournal(): { key: string; value: string }[] {
    return this.#sql
      .exec<{ key: string; value: string }>("SELECT key, value FROM meta WHERE key >= 'commit:' AND key < 'commit;'")
      .toArray();
  }

  /** Every shadow id's rows. */
  deleteAllShadowRows(): void {
    this.#sql.exec("DELETE FROM chunks WHERE document_id >= ? AND document_id < ' '", SHADOW_PREFIX);
  }

  /**
   * Objects written before vectors and analyses were keyed by the chunk's row id: their rows move
   * once to `chunk_vectors` and `chunk_analysis`, and the `staged` table goes (its pages belonged to
   * attempts that a retry stages again in full: the client always sends every page).
   */
  migrateRowKeys(transaction: (f: () => void) => void): void {
    const tables = new Set(
      this.#sql
        .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('vectors', 'chunk_statements', 'staged')")
        .toArray()
        .map((r) => r.name),
    );
    if (tables.size === 0) return;
    transaction(() => {
      if (tables.has("vectors")) {
        this.#sql.exec(
          `INSERT OR REPLACE INTO chunk_vectors (id, scale, q)
           SELECT c.id, v.scale, v.q FROM vectors v JOIN chunks c ON c.document_id = v.document_id AND c.ordinal = v.ordinal`,
        );
        this.#sql.exec("DROP TABLE vectors");
      }
      if (tables.has("chunk_statements")) {
        this.#sql.exec(
          `INSERT OR REPLACE INTO chunk_analysis (id, data)
           SELECT c.id, s.data FROM chunk_statements s JOIN chunks c ON c.document_id = s.document_id AND c.ordinal = s.ordinal`,
        );
        this.#sql.exec("DROP TABLE chunk_statements");
      }
      if (tables.has("staged")) this.#sql.exec("DROP TABLE staged");
    });
  }

  deleteMeta(key: string): void {
    this.#sql.exec("DELETE FROM meta WHERE key = ?", key);
  }

  allNames(): { documentId: string; name: string }[] {
    return this.#sql.exec<{ documentId: string; name: string }>("SELECT document_id AS documentId, name FROM names ORDER BY id").toArray();
  }

  trigram(match: string, scope: Scope | null, pool: number): { documentId: string; ordinal: number; bm25: number }[] {
    return this.#sql
      .exec<{ documentId: string; ordinal: number; bm25: number }>(TRIGRAM_SQL(scope?.sql ?? ""), match, ...(scope?.params ?? []), pool)
      .toArray();
  }

  substrings(list: string[], scope: Scope | null, pool: number): { documentId: string; ordinal: number; m: number }[] {
    const params = scope?.params ?? [];
    if (list.length + params.length + 1 > MAX_PARAMS) return [];
    return this.#sql
      .exec<{ documentId: string; ordinal: number; m: number }>(SUBSTRING_SQL(list.length, scope?.sql ?? ""), ...list, ...params, pool)
      .toArray();
  }

  /**
   * One bounded FTS5 merge step on `chunks_tri` (at most `pages` leaf pages): every commit adds a
   * segment that later trigram queries visit; merging folds them. Returns the rows written (0 or
   * nearly: nothing left to merge). Only the FTS table a query reads is merged: `chunks_fts` and
   * `names_fts` are read by no query (the in-memory index scores porter terms and names), and
   * folding them towards one segment rewrites the whole porter index at least once after a burst
   * (about half the text's size): billed row writes and commits, on the thread that serves the
   * searches, for nothing.
   */
  mergeStep(pages: number): number {
    // A negative count merges across levels too (towards one segment), not only full levels.
    return this.#sql.exec("INSERT INTO chunks_tri (chunks_tri, rank) VALUES ('merge', ?)", -pages).rowsWritten;
  }

  // --- scope, vectors, hydration, stats -----------------------------------------------------------

  /** Compiles a document scope; null when nothing narrows the search. */
  scope(documentIds: string[] | undefined, filter: MetadataFilter | undefined): Scope | null {
    const parts: string[] = ["d.deleted = 0"];
    const params: unknown[] = [];
    if (documentIds?.length) {
      parts.push("d.id IN (SELECT value FROM json_each(?))");
      params.push(JSON.stringify(documentIds));
    }
    if (filter) {
      let f: ReturnType<typeof compileFilter>;
      try {
        f = compileFilter(filter, "d.metadata");
      } catch (err) {
        throw new IndexError("invalid_filter", err instanceof Error ? err.message : "the filter cannot be compiled");
      }
      parts.push(f.sql);
      params.push(...f.params);
    }
    // Nothing asked for: no scope (a filter may bind no parameter at all, e.g. `eq true`).
    if (parts.length === 1) return null;
    // The trigram statement adds two parameters.
    if (params.length > MAX_PARAMS - 2) throw new IndexError("invalid_filter", "the filter is too large");
    return { sql: parts.join(" AND "), params };
  }

  allowedDocuments(scope: Scope): Set<string> {
    return new Set(
      this.#sql
        .exec<{ id: string }>(`SELECT id FROM docs d WHERE ${scope.sql}`, ...scope.params)
        .toArray()
        .map((r) => r.id),
    );
  }

  liveDocuments(ids: string[]): Set<string> {
    if (ids.length === 0) return new Set();
    return new Set(
      this.#sql
        .exec<{ id: string }>(
          "SELECT id FROM docs WHERE deleted = 0 AND id IN (SELECT value FROM json_each(?))",
          JSON.stringify([...new Set(ids)]),
        )
        .toArray()
        .map((r) => r.id),
    );
  }

  vectorCount(): number {
    return this.#sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM chunk_vectors v JOIN chunks c ON c.id = v.id WHERE ${LIVE_CHUNK}`).one()
      .n;
  }

  allVectors(): Iterable<SqlStorageValue[]> {
    return this.#sql
      .exec(`SELECT c.document_id, c.ordinal, v.scale, v.q FROM chunk_vectors v JOIN chunks c ON c.id = v.id WHERE ${LIVE_CHUNK}`)
      .raw();
  }

  /** A document's vectors (after a flip, for the loaded matrix). */
  vectorsOf(documentId: string): { ordinal: number; scale: number; q: ArrayBuffer }[] {
    return this.#sql
      .exec<{ ordinal: number; scale: number; q: ArrayBuffer }>(
        "SELECT c.ordinal, v.scale, v.q FROM chunks c JOIN chunk_vectors v ON v.id = c.id WHERE c.document_id = ?",
        documentId,
      )
      .toArray();
  }

  /** The answerer's statements of a chunk, precomputed beside its insert (chunk-statements.ts). */
  /** The answerer's analyses of a batch of chunks, in one statement. */
  writeChunkStatementsBatch(rows: { id: number; text: string }[]): void {
    writeChunkStatementsBatch(this.#sql, rows);
  }

  /** The rows of (document, ordinal) pairs, with their stored analyses when `statements` (one statement either way). */
  hydrate(pairs: [string, number][], statements = false): HydratedRow[] {
    return this.#sql.exec<HydratedRow>(HYDRATE_SQL(statements), JSON.stringify(pairs)).toArray();
  }

  documentText(documentId: string): string[] {
    return this.#sql
      .exec<{ text: string }>("SELECT text FROM chunks WHERE document_id = ? ORDER BY ordinal", documentId)
      .toArray()
      .map((r) => r.text);
  }

  readChunks(
    documentId: string,
    from: number,
    max: number,
  ): { chunk: number; text: string; page: number | null; heading: string | null }[] {
    return this.#sql
      .exec<{ chunk: number; text: string; page: number | null; heading: string | null }>(
        "SELECT ordinal AS chunk, text, page, heading FROM chunks WHERE document_id = ? AND ordinal >= ? ORDER BY ordinal LIMIT ?",
        documentId,
        from,
        max + 1,
      )
      .toArray();
  }

  counts(): { documents: number; chunks: number } {
    const one = (q: string) => this.#sql.exec<{ n: number }>(q).one().n;
    return {
      documents: one("SELECT COUNT(*) AS n FROM docs WHERE deleted = 0"),
      chunks: one(`SELECT COUNT(*) AS n FROM chunks c WHERE ${LIVE_CHUNK}`),
    };
  }
}

/** Byte arrays end to end, with each one's [start, length) in the result. */
function concatBlobs(parts: Uint8Array[] | Int8Array[]): { blob: ArrayBuffer; ranges: number[] } {
  let total = 0;
  for (const p of parts) total += p.byteLength;
  const out = new Uint8Array(total);
  const ranges: number[] = [];
  let o = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), o);
    ranges.push(o, p.byteLength);
    o += p.byteLength;
  }
  return { blob: out.buffer, ranges };
}
