/**
 * Statements precomputed at ingest (issue 18, item 4): the extractive answerer's analysis of each
 * chunk (its statements, their stems and passage ranges) is written beside the chunk when the
 * document commits and read back with the hits of a chat search, so an answer only scores them.
 *
 * The analysis belongs to the answerer (`chat`, a layer above this one): the Worker's entry module
 * registers a loader of its encoder with `setChunkAnalyser`, imported on the first commit of an
 * isolate (not at start-up, where it would cost every isolate that only searches), and each stored row carries the answerer's version
 * inside its data, so a row written by an older answerer is simply analysed afresh at answer time.
 * The table is additive (created with the schema when an object wakes, keyed by the chunk's row id, so it follows a
 * staged chunk's rename and goes with its delete by trigger); without a registered analyser nothing is written and
 * nothing breaks.
 */

type Analyse = (text: string) => string;
let load: (() => Promise<Analyse>) | null = null;
let analyse: Analyse | null = null;

/** Registers a loader of the answerer's encoder (src/index.ts); the index object calls it beside each chunk insert. */
export function setChunkAnalyser(loader: (() => Promise<Analyse>) | null): void {
  load = loader;
  analyse = null;
}

/** Whether a commit must first await `loadChunkAnalyser` (a loader is registered, its encoder not yet loaded). */
export function chunkAnalyserPending(): boolean {
  return load !== null && analyse === null;
}

/** Loads the registered encoder once per isolate; commits call it before their synchronous transaction. */
export async function loadChunkAnalyser(): Promise<void> {
  if (load && !analyse) analyse = await load();
}

/** Created with the index's schema (Statements.createSchema), so a dropped collection's object gets it again. */
export const CHUNK_STATEMENTS_SCHEMA = `CREATE TABLE IF NOT EXISTS chunk_analysis (id INTEGER PRIMARY KEY, data TEXT NOT NULL);
  CREATE TRIGGER IF NOT EXISTS chunks_ad_analysis AFTER DELETE ON chunks BEGIN
    DELETE FROM chunk_analysis WHERE id = old.id;
  END`;

/** A batch of chunks' analyses in one statement (rows travel as one JSON array). */
export function writeChunkStatementsBatch(sql: SqlStorage, rows: { id: number; text: string }[]): void {
  if (!analyse || rows.length === 0) return;
  const a = analyse;
  sql.exec(
    "INSERT OR REPLACE INTO chunk_analysis (id, data) SELECT j.value ->> 0, j.value ->> 1 FROM json_each(?) j",
    JSON.stringify(rows.map((r) => [r.id, a(r.text)])),
  );
}
