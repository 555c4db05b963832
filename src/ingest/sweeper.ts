import { stuckDeletions } from "../storage/collections";
import { requeueStuck } from "../storage/documents";
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
