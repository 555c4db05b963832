import { subscribers } from "../storage/webhooks";
import { newId, sha256Hex } from "../util/crypto";
import type { EventType, WebhookMessage } from "./types";

/**
 * Emits an ingestion event to every endpoint of the collection subscribed to `type`: one queue
 * message per endpoint (src/events/deliver.ts sends, signs, retries and logs). The payload is
 * `{type, timestamp, data: {collection_id, ...data}}` (Standard Webhooks' recommended shape).
 *
 * `id` makes the event idempotent: an event id already delivered to an endpoint is never sent to
 * it again, so emitters that may run twice for the same fact (a redelivered queue message, a
 * retried delete) pass a deterministic id from `eventId(...)`. Costs one D1 read when the
 * collection has no endpoint for the type, and one queue send more when it has.
 */
export async function emitEvent(
  env: Env,
  collectionId: string,
  type: EventType,
  data: Record<string, unknown>,
  opts: { id?: string; now?: number } = {},
): Promise<number> {
  const hooks = await subscribers(env.DB, collectionId, type);
  if (hooks.length === 0) return 0;
  const created = opts.now ?? Math.floor(Date.now() / 1000);
  const id = opts.id ?? newId("evt");
  const payload = JSON.stringify({
    type,
    timestamp: new Date(created * 1000).toISOString(),
    data: { collection_id: collectionId, ...data },
  });
  const messages = hooks.map(
    (webhook_id): WebhookMessage => ({
      type: "webhook",
      webhook_id,
      collection_id: collectionId,
      event_id: id,
      event_type: type,
      created_at: created,
      attempt: 1,
      payload,
    }),
  );
  // At most MAX_WEBHOOKS_PER_COLLECTION endpoints: one sendBatch (limit 100).
  await env.INGEST_QUEUE.sendBatch(messages.map((body) => ({ body, contentType: "json" as const })));
  return hooks.length;
}

/** A deterministic event id for one fact (e.g. `document.ready` of a document at a generation). */
export async function eventId(type: EventType, ...parts: (string | number)[]): Promise<string> {
  return `evt_${(await sha256Hex([type, ...parts].join("\u0000"))).slice(0, 32)}`;
}

/**
 * Emission from the ingestion pipeline never fails the work that caused it: the fact (a document
 * ready, failed, deleted) is already committed. A failure is logged with the event, not retried.
 */
export async function emitQuietly(
  env: Env,
  collectionId: string,
  type: EventType,
  data: Record<string, unknown>,
  idParts: (string | number)[],
): Promise<void> {
  try {
    await emitEvent(env, collectionId, type, data, { id: await eventId(type, collectionId, ...idParts) });
  } catch (err) {
    console.error(JSON.stringify({ event: "webhook_emit_failed", type, collection_id: collectionId, error: String(err) }));
  }
}
