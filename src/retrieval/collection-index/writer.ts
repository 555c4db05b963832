/**
 * Writes and removals. A document's chunks are written once, as they arrive, with everything stored
 * per chunk (row, FTS and trigram rows, postings, vector, the answerer's analysis), so a failure
 * leaves nothing half-written and a commit only has to switch them in:
 * - a document that fits one call (≤ COMMIT_PAGE chunks, with its commit) is written under its own
 *   id in one transaction;
 * - otherwise each call stages its chunks under a shadow id (schema.ts) that no search reads, in
 *   transactions of COMMIT_PAGE chunks each in its own turn (issue 17.5: one long transaction held
 *   the object and, under `wrangler dev`, its whole process), and the last call's flip renames the
 *   shadow rows to the document's id in one transaction. Vectors and analyses are keyed by the
 *   chunk's row id, so the flip is one UPDATE of `chunks` and the old generation's delete.
 * Every transaction is atomic on its own, so no journal is needed: a crash leaves staged shadow rows
 * (invisible; a retry sends every page again and replaces them by ordinal) or a finished flip. A
 * failed attempt's cleanup (`remove` with its generation) removes only its staged rows and a commit
 * of its own generation; the committed generation stays live until the next one commits.
 * Memory (the keyword index, the vector matrix) follows only after a transaction committed.
 */
import { chunkAnalyserPending, loadChunkAnalyser } from "./chunk-statements";
import { IndexError } from "./errors";
import type { PostedRow } from "./keyword-index";
import type { Parts } from "./parts";
import { type EncodedPostings, encodeChunk } from "./postings";
import { hasCjk } from "./query";
import { shadowId } from "./schema";
import type { StagedRow, Statements } from "./statements";
import { type ChunkInput, COMMIT_PAGE, type DocumentInput, MAX_PAGE, type WritePage, type WriteResult } from "./types";
import type { Quantised } from "./vectors";

export const TOMBSTONE = 2 ** 31;

type Prepared = { doc: DocumentInput; chunks: ChunkInput[]; quantised: Quantised[] | undefined; dims: number | null };

export function write(parts: Parts, page: WritePage): WriteResult | Promise<WriteResult> {
  const { st, vectors } = parts;
  const doc = checkDocument(page.document);
  if (!Array.isArray(page.chunks) || page.chunks.length > MAX_PAGE)
    throw new IndexError("invalid_page", `at most ${MAX_PAGE} chunks per call`);
  if (page.vectors && page.vectors.length !== page.chunks.length) throw new IndexError("invalid_page", "one vector per chunk");
  const { dims, rows: quantised } = vectors.prepare(page.vectors);
  if (parts.sealed || (st.docRow(doc.id)?.generation ?? 0) > doc.generation) return { status: "stale", chunkCount: 0 };
  const p: Prepared = { doc, chunks: page.chunks, quantised, dims: page.vectors?.length ? dims : null };
  // The answerer's encoder is imported on an isolate's first write of chunks (not at start-up).
  if (p.chunks.length > 0 && chunkAnalyserPending()) return loadChunkAnalyser().then(() => written(parts, p, page.commit));
  return written(parts, p, page.commit);
}

function written(parts: Parts, p: Prepared, commit: WritePage["commit"]): WriteResult | Promise<WriteResult> {
  if (commit && commit.chunkCount <= COMMIT_PAGE && p.chunks.length === commit.chunkCount) {
    // A whole document names each ordinal once (its chunk count is the number of rows it commits).
    if (new Set(p.chunks.map((c) => c.ordinal)).size !== p.chunks.length) throw new IndexError("invalid_page", "an ordinal appears twice");
    return commitWhole(parts, p);
  }
  // A commit that cannot be complete, whatever this call holds, is refused before anything is written.
  if (commit) {
    const have = parts.st.countChunks(shadowId(p.doc.id, p.doc.generation));
    if (have + p.chunks.length < commit.chunkCount)
      throw new IndexError("incomplete_document", `${have + p.chunks.length} of ${commit.chunkCount} chunks staged`);
  }
  if (!commit && p.chunks.length <= COMMIT_PAGE) {
    stageSlice(parts, p, 0, p.chunks.length);
    return { status: "staged", chunkCount: 0 };
  }
  return stageAndFlip(parts, p, commit);
}

/** A document that fits one call: its rows are written under its own id in one transaction. */
function commitWhole(parts: Parts, { doc, chunks, quantised, dims }: Prepared): WriteResult {
  const { st, keyword, vectors } = parts;
  let removed = 0;
  let old: ReturnType<typeof keyword.beforeRemove> = null;
  const rows: PostedRow[] = [];
  const added: { ordinal: number; q: Int8Array; scale: number }[] = [];
  parts.transaction(() => {
    if (dims !== null) vectors.recordDims(dims);
    old = keyword.beforeRemove(doc.id);
    removed = st.deleteLiveRows(doc.id);
    rows.push(...insertChunks(parts, doc.id, chunks, quantised, 0, chunks.length));
    for (const [i, ch] of chunks.entries()) {
      const v = quantised?.[i];
      if (v) added.push({ ordinal: ch.ordinal, q: v.q, scale: v.scale });
    }
    // Rows an earlier attempt staged for this generation (or an older one) are not needed any more.
    st.deleteStaged(doc.id, doc.generation);
    st.upsertDoc(doc, chunks.length);
  });
  keyword.removed(doc.id, old);
  keyword.added(doc.id, doc.name, rows);
  vectors.committed(doc.id, dims, removed, added);
  parts.writes++;
  parts.afterWrite();
  return { status: "ready", chunkCount: chunks.length };
}

/** One transaction: chunks [from, to) of the call join the attempt's shadow id, replacing any staged before at their ordinals. */
function stageSlice(parts: Parts, { doc, chunks, quantised, dims }: Prepared, from: number, to: number): void {
  const shadow = shadowId(doc.id, doc.generation);
  parts.transaction(() => {
    if (dims !== null) parts.vectors.recordDims(dims);
    parts.st.deleteChunksAt(
      shadow,
      chunks.slice(from, to).map((c) => c.ordinal),
    );
    insertChunks(parts, shadow, chunks, quantised, from, to);
  });
  if (dims !== null) parts.vectors.committed(doc.id, dims, 0, []);
}

/** A macrotask: other requests to the object (and the isolate) run before the next slice. */
const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * A call too large for one turn, or the last call of a staged document: its chunks are staged in
 * slices of COMMIT_PAGE, each in its own turn; with `commit`, the flip follows in a turn of its own.
 * A removal or deletion of the document meanwhile (or a drop, or a newer generation) ends the call:
 * rows staged after it would be orphans.
 */
async function stageAndFlip(parts: Parts, p: Prepared, commit: WritePage["commit"]): Promise<WriteResult> {
  const { doc } = p;
  const epoch = parts.epoch;
  const removals = parts.removals.get(doc.id) ?? 0;
  const stale = () => parts.sealed || parts.epoch !== epoch || (parts.st.docRow(doc.id)?.generation ?? 0) > doc.generation;
  const cancelled = () => (parts.removals.get(doc.id) ?? 0) !== removals;
  for (let from = 0; from < p.chunks.length; from += COMMIT_PAGE) {
    if (from > 0) await nextTurn();
    if (stale()) return { status: "stale", chunkCount: 0 };
    if (cancelled()) throw new IndexError("incomplete_document", "the attempt was removed while it was staging");
    stageSlice(parts, p, from, Math.min(p.chunks.length, from + COMMIT_PAGE));
  }
  if (!commit) return { status: "staged", chunkCount: 0 };
  return serialised(parts, doc.id, async () => {
    await nextTurn();
    if (stale()) return { status: "stale", chunkCount: 0 };
    if (cancelled()) throw new IndexError("incomplete_document", "the attempt was removed while it was staging");
    try {
      return flip(parts, doc, commit.chunkCount);
    } catch (err) {
      // The flip rolled back; this attempt's staged rows go with it (a retry sends every page again).
      try {
        parts.transaction(() => parts.st.deleteShadowRows(shadowId(doc.id, doc.generation)));
      } catch {
        // Storage refused the cleanup too: the rows stay invisible, and the attempt's cleanup or the next commit removes them.
      }
      throw err;
    }
  });
}

/** One flip per document at a time in an instance: a second (a duplicate delivery) waits for the first. */
async function serialised(parts: Parts, documentId: string, f: () => Promise<WriteResult>): Promise<WriteResult> {
  const prior = parts.commits.get(documentId);
  const run = (async () => {
    if (prior) await prior.catch(() => undefined);
    return f();
  })();
  parts.commits.set(documentId, run);
  try {
    return await run;
  } finally {
    if (parts.commits.get(documentId) === run) parts.commits.delete(documentId);
  }
}

/**
 * The commit of a staged document: in one transaction, the previous generation's rows go, the
 * shadow rows become the document's (one UPDATE), older attempts' leftovers go. Fewer staged rows
 * than the commit names (a page never arrived, or the attempt's cleanup ran) is
 * `incomplete_document`, and nothing changes.
 */
function flip(parts: Parts, doc: DocumentInput, chunkCount: number): WriteResult {
  const { st, keyword, vectors } = parts;
  const shadow = shadowId(doc.id, doc.generation);
  let old: ReturnType<typeof keyword.beforeRemove> = null;
  let removed = 0;
  parts.transaction(() => {
    const have = st.countChunks(shadow);
    if (have !== chunkCount) throw new IndexError("incomplete_document", `${have} of ${chunkCount} chunks staged`);
    old = keyword.beforeRemove(doc.id);
    removed = st.deleteLiveRows(doc.id);
    st.renameRows(shadow, doc.id);
    // Only older attempts' rows: a newer attempt may be staging meanwhile.
    st.deleteStaged(doc.id, doc.generation - 1);
    st.upsertDoc(doc, chunkCount);
  });
  keyword.removed(doc.id, old);
  keyword.added(doc.id, doc.name, keyword.rowsOf(doc.id));
  const added = vectors.loaded ? st.vectorsOf(doc.id).map((r) => ({ ordinal: r.ordinal, q: new Int8Array(r.q), scale: r.scale })) : [];
  vectors.committed(doc.id, null, removed, added);
  parts.writes++;
  parts.afterWrite();
  return { status: "ready", chunkCount };
}

/**
 * In the constructor, for objects written by the previous layout: a paged commit's journal entry
 * means it crashed mid-way; its shadow rows go, in one transaction with the journal. (This layout
 * writes no journal: each of its transactions is complete on its own.)
 */
export function recoverPagedCommits(st: Statements, transaction: (f: () => void) => void): void {
  const journal = st.commitJournal();
  if (journal.length === 0) return;
  transaction(() => {
    st.deleteAllShadowRows();
    for (const j of journal) st.deleteMeta(j.key);
  });
}

function stagedRow(ch: ChunkInput): StagedRow {
  return {
    ordinal: ch.ordinal,
    // Lone surrogates become U+FFFD here, as binding them would: the rows travel as JSON (insertChunks).
    text: String(ch.text).toWellFormed(),
    char_start: ch.start,
    char_end: ch.end,
    page: ch.page ?? null,
    heading: ch.heading ?? null,
    token_count: ch.tokens,
  };
}

/**
 * Chunks [from, to) join `documentId` (a live document, or an attempt's shadow id): their rows and,
 * in the same transaction, their persisted postings (tokenised here, once), their vectors and the
 * answerer's analyses, a few statements for the whole batch. Every write path goes through this
 * one function, so whatever else is stored per chunk is written beside it here. A batch that
 * repeats an ordinal keeps the last (as a retry's page replaces a staged chunk).
 */
function insertChunks(
  parts: Parts,
  documentId: string,
  chunks: ChunkInput[],
  quantised: Quantised[] | undefined,
  from: number,
  to: number,
): PostedRow[] {
  const last = new Map<number, number>();
  for (let i = from; i < to; i++) last.set(chunks[i].ordinal, i);
  const batch: { r: StagedRow; cjk: boolean; postings: EncodedPostings; v: Quantised | undefined }[] = [];
  for (const i of last.values()) {
    const r = stagedRow(chunks[i]);
    batch.push({ r, cjk: hasCjk(r.text), postings: encodeChunk(r.text, parts.dict), v: quantised?.[i] });
  }
  const ids = parts.st.insertChunks(documentId, batch);
  const rows: PostedRow[] = [];
  const vectors: { id: number; scale: number; q: Int8Array }[] = [];
  const analyses: { id: number; text: string }[] = [];
  for (const b of batch) {
    const id = ids.get(b.r.ordinal);
    if (id === undefined) throw new IndexError("invalid_page", `chunk ${b.r.ordinal} was not stored`);
    rows.push({ id, ordinal: b.r.ordinal, postings: b.postings });
    if (b.v) vectors.push({ id, scale: b.v.scale, q: b.v.q });
    analyses.push({ id, text: b.r.text });
  }
  parts.st.insertVectors(vectors);
  parts.st.writeChunkStatementsBatch(analyses);
  return rows;
}

/**
 * Removes a document's chunks, keyword rows and vectors in one transaction.
 *
 * With `generation` (an indexing attempt cleaning up after itself) only that attempt's own work
 * goes: staged pages of generations up to it, and the live rows only when they are of exactly that
 * generation (an attempt undoing its own commit). The committed generation g stays searchable until
 * g+1 commits, so a failed re-index never takes a good document out of search; `kept` is the chunk
 * count of the generation that stays live (0 when none). Without `generation` the document is
 * deleted for good and a tombstone refuses any later commit.
 */
export function remove(parts: Parts, documentId: string, generation?: number): { removed: boolean; kept: number } {
  const { st, keyword, vectors } = parts;
  if (typeof documentId !== "string" || !documentId || documentId < " ") throw new IndexError("invalid_id", "documentId must be a string");
  let removed = 0;
  let done = false;
  let kept = 0;
  let old: ReturnType<typeof keyword.beforeRemove> = null;
  parts.removals.set(documentId, (parts.removals.get(documentId) ?? 0) + 1);
  parts.transaction(() => {
    if (generation !== undefined) {
      st.deleteStaged(documentId, generation);
      const live = st.docRow(documentId);
      if (!live || live.generation !== generation) {
        kept = live && !live.deleted ? live.chunk_count : 0;
        return;
      }
      old = keyword.beforeRemove(documentId);
      removed = st.deleteLiveRows(documentId);
      st.deleteDoc(documentId);
      done = true;
      return;
    }
    old = keyword.beforeRemove(documentId);
    removed = st.deleteLiveRows(documentId);
    st.deleteStaged(documentId);
    st.tombstone(documentId, TOMBSTONE);
    done = true;
  });
  if (done) {
    keyword.removed(documentId, old);
    vectors.committed(documentId, null, removed, []);
    parts.writes++;
    parts.afterWrite();
  }
  return { removed: done, kept };
}

function checkDocument(d: DocumentInput): DocumentInput {
  // Ids starting with a control character are reserved (a paged commit's shadow ids start with U+0001: schema.ts).
  if (typeof d?.id !== "string" || !d.id || d.id < " ") throw new IndexError("invalid_document", "id");
  if (!Number.isSafeInteger(d.generation) || d.generation < 1 || d.generation >= TOMBSTONE)
    throw new IndexError("invalid_document", "generation");
  return { id: d.id, generation: d.generation, name: String(d.name ?? ""), metadata: typeof d.metadata === "string" ? d.metadata : "{}" };
}
