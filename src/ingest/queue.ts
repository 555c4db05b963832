import { parseSettings } from "../config";
import { deliverWebhook } from "../events/deliver";
import { isWebhookMessage, type WebhookMessage } from "../events/types";
import { ApiError } from "../http/errors";
import { publishCollection } from "../storage/collection-cache";
import { requeueCollectionPage } from "../storage/documents";
import { dropCollectionPage, failDocument, indexDocument, loadBatch } from "./pipeline";

export type IngestMessage =
  | { type: "index"; document_id: string; generation: number }
  /** Deletes one page of a collection marked `deleting`, then queues the next page. */
  | { type: "drop_collection"; collection_id: string }
  /** Re-queues one page of a collection's documents (ids after `after`), then queues the next page. */
  | { type: "reindex_collection"; collection_id: string; after: string }
  /** One attempt of one event to one webhook endpoint (src/events/deliver.ts). */
  | WebhookMessage;

/** Sends messages in batches of 100 (the Queues limit per sendBatch call). */
export async function enqueueAll(env: Env, messages: IngestMessage[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 100) {
    await env.INGEST_QUEUE.sendBatch(messages.slice(i, i + 100).map((body) => ({ body, contentType: "json" as const })));
  }
}

export const DEAD_LETTER_QUEUE = "docchat-ingest-dlq";
/** Documents re-queued per reindex page: one D1 statement and one sendBatch per message. */
export const REINDEX_PAGE = 100;

/** Delay before the n-th retry: exponential backoff, capped (seconds). */
export function backoffSeconds(attempts: number): number {
  return Math.min(300, 2 ** Math.min(attempts, 8));
}

/**
 * Memory one document may take while it is indexed, from its stored size: the bytes, the decoded
 * text (UTF-16, up to 2 bytes a byte), the chunks and their vectors are about 4× the upload; 2 MiB
 * covers a small document's fixed costs. Extraction's own caps (issue 10) bound what formats that
 * expand more (zip parts, PDF pages) may allocate.
 */
export function documentMemoryBytes(size: number): number {
  return 2 * 1024 * 1024 + 4 * size;
}

/**
 * Runs tasks with their summed memory estimate under `budget`; a task larger than the budget runs
 * alone. Each task settles on its own: one crash never fails another.
 */
export async function runWithin<T>(items: T[], weight: (t: T) => number, budget: number, run: (t: T) => Promise<void>): Promise<void> {
  let used = 0;
  const running = new Set<Promise<void>>();
  for (const item of items) {
    const w = Math.min(weight(item), budget);
    while (running.size > 0 && used + w > budget) await Promise.race(running);
    used += w;
    const p: Promise<void> = run(item)
      .catch(() => {})
      .finally(() => {
        used -= w;
        running.delete(p);
      });
    running.add(p);
  }
  await Promise.all(running);
}

type Msg = Message<IngestMessage>;

/** Kinds whose extraction unpacks (zip parts, PDF streams): indexed one at a time, after the rest. */
const RISKY_KINDS = new Set(["pdf", "docx"]);

/**
 * Queue consumer. Index messages run with bounded concurrency (INGEST_MEMORY_BUDGET_MB over the
 * documents' estimated memory), PDFs and DOCX one at a time after the others; each message is acked
 * or retried on its own, so one failing document never fails another. A transient failure is retried with exponential backoff (the
 * document stays `queued` with its last error); after the last retry the message lands in the
 * dead-letter queue, whose consumer marks the document `failed` and deletes any vector it wrote.
 */
export async function handleQueue(batch: MessageBatch<IngestMessage>, env: Env): Promise<void> {
  if (batch.queue === DEAD_LETTER_QUEUE) {
    for (const msg of batch.messages) {
      try {
        if (isWebhookMessage(msg.body)) {
          // Only a crash of the delivery code itself (D1 or the queue down 4 times) lands here.
          console.error(JSON.stringify({ event: "webhook_dead_letter", webhook_id: msg.body.webhook_id, event_id: msg.body.event_id }));
        } else if (msg.body?.type === "index") {
          await failDocument(
            env,
            msg.body.document_id,
            msg.body.generation,
            new ApiError("internal_error", "Indexing failed after several attempts; re-index the document to try again"),
          );
        }
        msg.ack();
      } catch (err) {
        console.error(JSON.stringify({ dlq: msg.id, error: String(err) }));
        msg.retry({ delaySeconds: backoffSeconds(msg.attempts) });
      }
    }
    return;
  }
  const index: (Msg & { body: Extract<IngestMessage, { type: "index" }> })[] = [];
  const webhooks: (Msg & { body: WebhookMessage })[] = [];
  for (const msg of batch.messages) {
    const b = msg.body;
    if (b?.type === "index" && typeof b.document_id === "string" && Number.isInteger(b.generation))
      index.push(msg as (typeof index)[number]);
    else if (isWebhookMessage(b)) webhooks.push(msg as (typeof webhooks)[number]);
    else if ((b?.type === "drop_collection" || b?.type === "reindex_collection") && typeof b.collection_id === "string")
      await collectionStep(env, msg);
    else msg.ack(); // malformed: retrying cannot help
  }
  await Promise.all([indexBatch(env, batch, index), webhookBatch(env, webhooks)]);
}

/** Receivers answer slowly or not at all: a few deliveries at once, each bounded by its timeout. */
const WEBHOOK_CONCURRENCY = 10;

async function webhookBatch(env: Env, messages: (Msg & { body: WebhookMessage })[]): Promise<void> {
  await runWithin(
    messages,
    () => 1,
    WEBHOOK_CONCURRENCY,
    async (msg) => {
      try {
        await deliverWebhook(env, msg.body);
        msg.ack(); // a failed attempt has queued its own retry (with its delay) or given up
      } catch (err) {
        console.error(JSON.stringify({ webhook_id: msg.body.webhook_id, event_id: msg.body.event_id, error: String(err) }));
        msg.retry({ delaySeconds: backoffSeconds(msg.attempts) });
      }
    },
  );
}

async function indexBatch(
  env: Env,
  batch: MessageBatch<IngestMessage>,
  index: (Msg & { body: Extract<IngestMessage, { type: "index" }> })[],
): Promise<void> {
  if (index.length === 0) return;

  let loaded: Awaited<ReturnType<typeof loadBatch>>;
  try {
    loaded = await loadBatch(
      env,
      index.map((m) => m.body.document_id),
    );
  } catch (err) {
    console.error(JSON.stringify({ batch: batch.queue, error: String(err) }));
    for (const msg of index) msg.retry({ delaySeconds: backoffSeconds(msg.attempts) });
    return;
  }
  const budget = parseSettings(env).INGEST_MEMORY_BUDGET_MB * 1024 * 1024;
  const changed = new Set<string>();
  const runOne = async (msg: (typeof index)[number]) => {
    try {
      // Documents not returned by loadBatch (already ready, or deleted) are looked up one by one.
      const r = await indexDocument(env, msg.body.document_id, msg.body.generation, { loaded: loaded.get(msg.body.document_id) });
      const col = loaded.get(msg.body.document_id)?.collection.id;
      if (r.status === "ready" && col) changed.add(col);
      msg.ack();
    } catch (err) {
      console.error(JSON.stringify({ document_id: msg.body.document_id, attempt: msg.attempts, error: String(err) }));
      msg.retry({ delaySeconds: backoffSeconds(msg.attempts) });
    }
  };
  // Packaged formats (PDF, DOCX) are where an isolate can still run out of memory despite the
  // extraction budgets (a library's own allocations). A crash loses the whole invocation, and a
  // message acked before it stays acked: so every other document is indexed and acked first, then
  // the risky ones one at a time, each acked at once, the ones already retried last (a document
  // that crashed an isolate before is the likeliest to do it again).
  const risky = (m: (typeof index)[number]) => RISKY_KINDS.has(loaded.get(m.body.document_id)?.doc.kind ?? "");
  await runWithin(
    index.filter((m) => !risky(m)),
    (m) => documentMemoryBytes(loaded.get(m.body.document_id)?.doc.size ?? 0),
    budget,
    runOne,
  );
  for (const msg of index.filter(risky).sort((a, b) => a.attempts - b.attempts)) await runOne(msg);
  // One mirror write per collection and batch (KV allows one write per key per second).
  await Promise.all([...changed].map((id) => publishCollection(env, id).catch(() => {})));
}

/** Paged collection work: constant work per message, the next page queued as a new message. */
async function collectionStep(env: Env, msg: Msg): Promise<void> {
  const b = msg.body as Extract<IngestMessage, { type: "drop_collection" | "reindex_collection" }>;
  try {
    if (b.type === "drop_collection") {
      const page = await dropCollectionPage(env, b.collection_id);
      if (!page.done) await enqueueAll(env, [b]);
    } else {
      const page = await requeueCollectionPage(env.DB, b.collection_id, b.after, REINDEX_PAGE);
      const next: IngestMessage[] = page.map((d) => ({ type: "index", document_id: d.id, generation: d.generation }));
      if (page.length === REINDEX_PAGE) next.push({ ...b, after: page[page.length - 1].id });
      await enqueueAll(env, next);
    }
    msg.ack();
  } catch (err) {
    console.error(JSON.stringify({ step: b.type, collection_id: b.collection_id, error: String(err) }));
    msg.retry({ delaySeconds: backoffSeconds(msg.attempts) });
  }
}
