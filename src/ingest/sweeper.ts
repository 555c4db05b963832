import { enqueueAll, type IngestMessage } from "./queue";

/** A document still `queued` or `processing` this long after its last change has lost its message. */
export const STUCK_AFTER_SECONDS = 15 * 60;
const BATCH = 100;

/**
 * Cron safety net ("nothing is lost"): a queue message can be lost (a local dev restart drops the
 * in-memory broker; a producer can fail after the row was written), which would leave a document
 * `queued` for ever. Every few minutes, documents that have not moved for STUCK_AFTER_SECONDS get a
 * new generation and a new message; the generation makes any late original message stale.
 */
export async function requeueStuckDocuments(env: Env, now = Math.floor(Date.now() / 1000)): Promise<number> {
  const cutoff = now - STUCK_AFTER_SECONDS;
  const stuck = await env.DB.prepare(
    `UPDATE documents SET generation = generation + 1, status = 'queued', updated_at = ?1
     WHERE id IN (SELECT id FROM documents WHERE status IN ('queued', 'processing') AND updated_at < ?2 LIMIT ?3)
     RETURNING id, generation`,
  )
    .bind(now, cutoff, BATCH)
    .all<{ id: string; generation: number }>();
  if (stuck.results.length === 0) return 0;
  const messages: IngestMessage[] = stuck.results.map((r) => ({ type: "index", document_id: r.id, generation: r.generation }));
  await enqueueAll(env, messages);
  console.log(JSON.stringify({ sweeper: "requeued", documents: messages.length }));
  return messages.length;
}
