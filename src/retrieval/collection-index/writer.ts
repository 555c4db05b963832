/**
 * Writes and removals: pages are staged under (document, generation); the page with `commit` swaps
 * the staged set in for the document's live rows (chunks, their FTS5 rows and postings, vectors,
 * name) atomically, so a failure leaves nothing half-written:
 * - up to COMMIT_PAGE chunks, in one transactionSync;
 * - more (issue 17.5: a 10,000-chunk commit in one transaction held the object and its isolate for
 *   seconds), in pages of COMMIT_PAGE rows, each its own transaction and turn, written under a
 *   shadow id that no search reads (schema.ts), then one flip transaction that swaps them in. A
 *   journal entry in `meta` names the commit while shadow rows exist; a crash leaves it behind and
 *   the next instance removes the shadow rows (`recoverPagedCommits`), the staged pages staying for
 *   a retry. A failure removes only this attempt's shadow rows; the committed generation stays live.
 * Memory (the keyword index, the vector matrix) follows only after the (flip) transaction committed.
 */
import { IndexError } from "./errors";
import type { PostedRow } from "./keyword-index";
import type { Parts } from "./parts";
import { encodeChunk } from "./postings";
import type { Quantised } from "./vectors";
import { hasCjk } from "./query";
import { shadowId } from "./schema";
import type { StagedRow, Statements } from "./statements";
import { type ChunkInput, COMMIT_PAGE, type DocumentInput, MAX_PAGE, type WritePage, type WriteResult } from "./types";

export const TOMBSTONE = 2 ** 31;

export function write(parts: Parts, page: WritePage): WriteResult | Promise<WriteResult> {
  const { st, keyword, vectors } = parts;
  const doc = checkDocument(page.document);
  if (!Array.isArray(page.chunks) || page.chunks.length > MAX_PAGE)
    throw new IndexError("invalid_page", `at most ${MAX_PAGE} chunks per call`);
  if (page.vectors && page.vectors.length !== page.chunks.length) throw new IndexError("invalid_page", "one vector per chunk");
  const { dims, rows: quantised } = vectors.prepare(page.vectors);
  if (parts.sealed || (st.docRow(doc.id)?.generation ?? 0) > doc.generation) return { status: "stale", chunkCount: 0 };

  if (page.commit && page.commit.chunkCount > COMMIT_PAGE) {
    parts.transaction(() => {
      if (page.vectors?.length && dims !== null) vectors.recordDims(dims);
      for (const [i, ch] of page.chunks.entries()) stageChunk(parts, doc, ch, quantised?.[i]);
    });
    if (page.vectors?.length && dims !== null) vectors.committed(doc.id, dims, 0, []);
    return pagedCommit(parts, doc, page.commit.chunkCount);
  }

  let result: WriteResult = { status: "staged", chunkCount: 0 };
  type Committed = {
    removed: number;
    added: { ordinal: number; q: Int8Array; scale: number }[];
    rows: PostedRow[];
    old: ReturnType<typeof keyword.beforeRemove>;
  };
  const done: { c: Committed | null } = { c: null };
  parts.transaction(() => {
    if (page.vectors?.length && dims !== null) vectors.recordDims(dims);
    for (const [i, ch] of page.chunks.entries()) stageChunk(parts, doc, ch, quantised?.[i]);
    if (!page.commit) return;
    const staged = st.stagedCount(doc.id, doc.generation);
    if (staged !== page.commit.chunkCount)
      throw new IndexError("incomplete_document", `${staged} of ${page.commit.chunkCount} chunks staged`);
    const old = keyword.beforeRemove(doc.id);
    const removed = st.deleteLiveRows(doc.id);
    const rows: PostedRow[] = [];
    for (const r of st.stagedRows(doc.id, doc.generation)) rows.push(insertChunk(parts, doc.id, r));
    const added: { ordinal: number; q: Int8Array; scale: number }[] = [];
    for (const r of st.stagedVectors(doc.id, doc.generation)) {
      st.insertVector(doc.id, r.ordinal, r.scale, r.q);
      added.push({ ordinal: r.ordinal, q: new Int8Array(r.q), scale: r.scale });
    }
    st.deleteStaged(doc.id, doc.generation);
    st.upsertDoc(doc, staged);
    done.c = { removed, added, rows, old };
    result = { status: "ready", chunkCount: staged };
  });
  const c = done.c;
  if (c) {
    keyword.removed(doc.id, c.old);
    keyword.added(doc.id, doc.name, c.rows);
    vectors.committed(doc.id, page.vectors?.length ? dims : null, c.removed, c.added);
    parts.writes++;
    parts.afterWrite();
  } else if (page.vectors?.length && dims !== null) vectors.committed(doc.id, dims, 0, []);
  return result;
}

function stageChunk(parts: Parts, doc: DocumentInput, ch: ChunkInput, v: Quantised | undefined): void {
  parts.st.stage(
    doc.id,
    doc.generation,
    {
      ordinal: ch.ordinal,
      text: String(ch.text),
      char_start: ch.start,
      char_end: ch.end,
      page: ch.page ?? null,
      heading: ch.heading ?? null,
      token_count: ch.tokens,
    },
    v ? { scale: v.scale, q: v.q.buffer as ArrayBuffer } : null,
  );
}

/** A macrotask: other requests to the object (and the isolate) run before the next page. */
const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

const journalKey = (documentId: string) => `commit:${documentId}`;

/** One paged commit per document at a time in an instance: a second (a duplicate delivery) waits for the first. */
async function pagedCommit(parts: Parts, doc: DocumentInput, chunkCount: number): Promise<WriteResult> {
  const prior = parts.commits.get(doc.id);
  const run = (async () => {
    if (prior) await prior.catch(() => undefined);
    return commitInPages(parts, doc, chunkCount);
  })();
  parts.commits.set(doc.id, run);
  try {
    return await run;
  } finally {
    if (parts.commits.get(doc.id) === run) parts.commits.delete(doc.id);
  }
}

async function commitInPages(parts: Parts, doc: DocumentInput, chunkCount: number): Promise<WriteResult> {
  const { st, keyword, vectors } = parts;
  const shadow = shadowId(doc.id, doc.generation);
  const key = journalKey(doc.id);
  const epoch = parts.epoch;
  const stale = () => parts.sealed || parts.epoch !== epoch || (st.docRow(doc.id)?.generation ?? 0) > doc.generation;
  const discard = () =>
    parts.transaction(() => {
      st.deleteShadowRows(shadow);
      st.deleteMeta(key);
    });
  parts.transaction(() => {
    const staged = st.stagedCount(doc.id, doc.generation);
    if (staged !== chunkCount) throw new IndexError("incomplete_document", `${staged} of ${chunkCount} chunks staged`);
    st.deleteShadowRows(shadow);
    st.setMeta(key, JSON.stringify({ generation: doc.generation, chunkCount }));
  });
  try {
    for (let from = 0; ; ) {
      await nextTurn();
      if (stale()) {
        discard();
        return { status: "stale", chunkCount: 0 };
      }
      let n = 0;
      parts.transaction(() => {
        const rows = st.stagedPage(doc.id, doc.generation, from, COMMIT_PAGE);
        for (const r of rows) {
          insertChunk(parts, shadow, r);
          if (r.q !== null && r.scale !== null) st.insertVector(shadow, r.ordinal, r.scale, r.q);
        }
        n = rows.length;
        if (n > 0) from = rows[n - 1].ordinal + 1;
      });
      if (n < COMMIT_PAGE) break;
    }
    await nextTurn();
    if (stale()) {
      discard();
      return { status: "stale", chunkCount: 0 };
    }
    let old: ReturnType<typeof keyword.beforeRemove> = null;
    let removed = 0;
    parts.transaction(() => {
      // Staged pages that vanished mid-way (the attempt's own cleanup) leave fewer shadow rows.
      const have = st.countChunks(shadow);
      if (have !== chunkCount) throw new IndexError("incomplete_document", `${have} of ${chunkCount} chunks staged`);
      old = keyword.beforeRemove(doc.id);
      removed = st.deleteLiveRows(doc.id);
      st.renameRows(shadow, doc.id);
      // Only this generation's pages (and older ones): a newer attempt may be staging meanwhile.
      st.deleteStaged(doc.id, doc.generation);
      st.upsertDoc(doc, chunkCount);
      st.deleteMeta(key);
    });
    keyword.removed(doc.id, old);
    keyword.added(doc.id, doc.name, keyword.rowsOf(doc.id));
    const added = vectors.loaded ? st.vectorsOf(doc.id).map((r) => ({ ordinal: r.ordinal, q: new Int8Array(r.q), scale: r.scale })) : [];
    vectors.committed(doc.id, null, removed, added);
    parts.writes++;
    parts.afterWrite();
    return { status: "ready", chunkCount };
  } catch (err) {
    try {
      discard();
    } catch {
      // Storage refused the cleanup too: the journal entry stays, and the next instance removes the rows.
    }
    throw err;
  }
}

/**
 * In the constructor: a paged commit's journal entry means it crashed (no instance outlives its
 * commits); its shadow rows go, in one transaction with the journal. Staged pages stay (a retry
 * re-stages and commits; the attempt's cleanup removes them).
 */
export function recoverPagedCommits(st: Statements, transaction: (f: () => void) => void): void {
  const journal = st.commitJournal();
  if (journal.length === 0) return;
  transaction(() => {
    st.deleteAllShadowRows();
    for (const j of journal) st.deleteMeta(j.key);
  });
}

/**
 * One chunk joins `documentId` (a live document, or a paged commit's shadow id): its row and, in the
 * same transaction, its persisted postings (tokenised here, once). Every write path goes through
 * this one function, so whatever else is stored per chunk is written beside it here.
 */
function insertChunk(parts: Parts, documentId: string, r: StagedRow): PostedRow {
  const postings = encodeChunk(r.text, parts.dict);
  const id = parts.st.insertChunk(documentId, r, hasCjk(r.text), postings);
  parts.st.writeChunkStatements(documentId, r.ordinal, r.text);
  return { id, ordinal: r.ordinal, postings };
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
