import { stuckDeletions } from "../storage/collections";
import { type DocumentRow, expiredDocuments, requeueStuck } from "../storage/documents";
import { deleteDocument } from "./pipeline";
import { enqueueAll, type IngestMessage } from "./queue";

/** A document still `queued` or `processing` this long after its last change has lost its message. */
export const STUCK_AFTER_SECONDS = 15 * 60;
const BATCH = 100;

/**
 * Cron safety net ("nothing is lost"): a queue message can be lost (a local dev restart drops the
 * in-memory broker; a producer can fail after the row was written), which would leave a document
 * `queued` for ever. Every few minutes, documents that have not moved for STUCK_AFTER_SECONDS get a
 * new generation and a new message; the generation makes any late original message stale. A
 * collection left `deleting` that long gets its deletion message again.
 */
export async function requeueStuckDocuments(env: Env, now = Math.floor(Date.now() / 1000)): Promise<number> {
  const cutoff = now - STUCK_AFTER_SECONDS;
  const stuck = await requeueStuck(env.DB, now, cutoff, BATCH);
  const deleting = await stuckDeletions(env.DB, now, cutoff, BATCH);
  const messages: IngestMessage[] = [
    ...stuck.map((r) => ({ type: "index" as const, document_id: r.id, generation: r.generation })),
    ...deleting.map((id) => ({ type: "drop_collection" as const, collection_id: id })),
  ];
  if (messages.length === 0) return 0;
  await enqueueAll(env, messages);
  console.log(JSON.stringify({ sweeper: "requeued", documents: stuck.length, deletions: deleting.length }));
  return messages.length;
}

/** Expired documents deleted per sweep page, and pages per cron run: a bounded amount of work per run. */
export const SWEEP_PAGE = 50;
export const SWEEP_MAX_PAGES = 10;

/**
 * The cron's expiry sweep: every document whose `expires_at` has passed at `now` is deleted through
 * the normal delete path (index rows, vectors, R2 original, catalogue row, collection version bump
 * so cached answers go), and a `document.deleted` event is emitted for it. Returns how many went.
 * `now` is injectable so tests run it with a clock they control.
 */
export async function sweepExpiredDocuments(env: Env, now = Math.floor(Date.now() / 1000)): Promise<number> {
  let deleted = 0;
  for (let page = 0; page < SWEEP_MAX_PAGES; page++) {
    const due = await expiredDocuments(env.DB, now, SWEEP_PAGE);
    for (const doc of due) {
      try {
        await deleteExpired(env, doc);
        deleted++;
      } catch (err) {
        // One document's failure must not stop the sweep; it is still due and the next run retries it.
        console.error(JSON.stringify({ sweeper: "expiry", document_id: doc.id, error: String(err) }));
      }
    }
    if (due.length < SWEEP_PAGE) break;
  }
  if (deleted > 0) console.log(JSON.stringify({ sweeper: "expired", documents: deleted }));
  return deleted;
}

/** The normal delete path, which ends with the `document.deleted` event (reason `expired`). */
async function deleteExpired(env: Env, doc: DocumentRow): Promise<void> {
  await deleteDocument(env, doc, "expired");
}
