/**
 * Writes and removals: pages are staged under (document, generation); the page with `commit` swaps
 * the staged set in for the document's live rows in one transactionSync (chunks, their FTS5 rows and
 * term counts, vectors, name), so a failure leaves nothing half-written. Memory (the keyword index,
 * the vector matrix) follows only after the transaction committed.
 */
import { IndexError } from "./errors";
import { termsRow } from "./keyword-index";
import type { Parts } from "./parts";
import { hasCjk } from "./query";
import { type DocumentInput, MAX_PAGE, type WritePage, type WriteResult } from "./types";

export const TOMBSTONE = 2 ** 31;

export function write(parts: Parts, page: WritePage): WriteResult {
  const { st, keyword, vectors } = parts;
  const doc = checkDocument(page.document);
  if (!Array.isArray(page.chunks) || page.chunks.length > MAX_PAGE)
    throw new IndexError("invalid_page", `at most ${MAX_PAGE} chunks per call`);
  if (page.vectors && page.vectors.length !== page.chunks.length) throw new IndexError("invalid_page", "one vector per chunk");
  const { dims, rows: quantised } = vectors.prepare(page.vectors);
  if (parts.sealed || (st.docRow(doc.id)?.generation ?? 0) > doc.generation) return { status: "stale", chunkCount: 0 };

  let result: WriteResult = { status: "staged", chunkCount: 0 };
  type Committed = {
    removed: number;
    added: { ordinal: number; q: Int8Array; scale: number }[];
    rows: { id: number; ordinal: number; length: number; terms: string }[];
    old: ReturnType<typeof keyword.beforeRemove>;
  };
  const done: { c: Committed | null } = { c: null };
  parts.transaction(() => {
    if (page.vectors?.length && dims !== null) vectors.recordDims(dims);
    page.chunks.forEach((ch, i) => {
      const v = quantised?.[i];
      st.stage(
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
    });
    if (!page.commit) return;
    const staged = st.stagedCount(doc.id, doc.generation);
    if (staged !== page.commit.chunkCount)
      throw new IndexError("incomplete_document", `${staged} of ${page.commit.chunkCount} chunks staged`);
    const old = keyword.beforeRemove(doc.id);
    const removed = st.deleteLiveRows(doc.id);
    const rows: { id: number; ordinal: number; length: number; terms: string }[] = [];
    for (const r of st.stagedRows(doc.id, doc.generation)) {
      const t = termsRow(r.text);
      rows.push({ id: st.insertChunk(doc.id, r, hasCjk(r.text), t.terms), ordinal: r.ordinal, length: t.length, terms: t.terms });
      st.writeChunkStatements(doc.id, r.ordinal, r.text);
    }
    const added: { ordinal: number; q: Int8Array; scale: number }[] = [];
    for (const r of st.stagedVectors(doc.id, doc.generation)) {
      st.insertVector(doc.id, r.ordinal, r.scale, r.q);
      added.push({ ordinal: r.ordinal, q: new Int8Array(r.q), scale: r.scale });
    }
    st.deleteStaged(doc.id);
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
  if (typeof documentId !== "string" || !documentId) throw new IndexError("invalid_id", "documentId must be a string");
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
  if (typeof d?.id !== "string" || !d.id) throw new IndexError("invalid_document", "id");
  if (!Number.isSafeInteger(d.generation) || d.generation < 1 || d.generation >= TOMBSTONE)
    throw new IndexError("invalid_document", "generation");
  return { id: d.id, generation: d.generation, name: String(d.name ?? ""), metadata: typeof d.metadata === "string" ? d.metadata : "{}" };
}
