import { ApiError } from "../http/errors";
import { indexDocument, loadBatch, markFailed } from "./pipeline";

export interface IngestMessage {
  type: "index";
  document_id: string;
  generation: number;
}

/** Sends index messages in batches of 100 (the Queues limit per sendBatch call). */
export async function enqueueAll(env: Env, messages: IngestMessage[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 100) {
    await env.INGEST_QUEUE.sendBatch(messages.slice(i, i + 100).map((body) => ({ body, contentType: "json" as const })));
  }
}

export const DEAD_LETTER_QUEUE = "docchat-ingest-dlq";

/** Delay before the n-th retry: exponential backoff, capped (seconds). */
export function backoffSeconds(attempts: number): number {
  return Math.min(300, 2 ** Math.min(attempts, 8));
}

/**
 * Queue consumer. Each message indexes one document; messages of a batch run concurrently. A
 * message is acked once its document is ready, failed for good or stale; a transient failure is
 * retried with exponential backoff, and after the last retry the message lands in the dead-letter
 * queue, whose consumer records the failure on the document so nothing stays `queued` forever.
 */
export async function handleQueue(batch: MessageBatch<IngestMessage>, env: Env): Promise<void> {
  if (batch.queue === DEAD_LETTER_QUEUE) {
    for (const msg of batch.messages) {
      await markFailed(
        env,
        msg.body.document_id,
        msg.body.generation,
        new ApiError("internal_error", "Indexing failed after several attempts; re-index the document to try again"),
      ).catch((err) => console.error(JSON.stringify({ dlq: msg.body.document_id, error: String(err) })));
      msg.ack();
    }
    return;
  }
  const valid = batch.messages.filter((m) => m.body?.type === "index" && typeof m.body.document_id === "string");
  for (const msg of batch.messages) if (!valid.includes(msg)) msg.ack(); // malformed: retrying cannot help
  let loaded: Awaited<ReturnType<typeof loadBatch>>;
  try {
    loaded = await loadBatch(
      env,
      valid.map((m) => m.body.document_id),
    );
  } catch (err) {
    console.error(JSON.stringify({ batch: batch.queue, error: String(err) }));
    for (const msg of valid) msg.retry({ delaySeconds: backoffSeconds(msg.attempts) });
    return;
  }
  await Promise.all(
    valid.map(async (msg) => {
      try {
        // Documents not returned by loadBatch (already ready, or deleted) are looked up one by one.
        await indexDocument(env, msg.body.document_id, msg.body.generation, { loaded: loaded.get(msg.body.document_id) });
        msg.ack();
      } catch (err) {
        console.error(JSON.stringify({ document_id: msg.body.document_id, attempt: msg.attempts, error: String(err) }));
        msg.retry({ delaySeconds: backoffSeconds(msg.attempts) });
      }
    }),
  );
}
