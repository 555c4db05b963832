/**
 * Webhook endpoints and their delivery log (D1, migration 0004). Each delivery attempt is a row:
 * the log serves the newest 100 per endpoint, and a `succeeded` row for (endpoint, event) is the
 * idempotency record that stops a redelivered message from sending the event again.
 */

export interface WebhookRow {
  id: string;
  collection_id: string;
  url: string;
  /** JSON array of event types. */
  events: string;
  /** The signing secret, encrypted (src/events/signing.ts). */
  secret: string;
  description: string | null;
  created_at: number;
}

export type DeliveryStatus = "succeeded" | "failed" | "gave_up" | "refused";

export interface DeliveryRow {
  event_id: string;
  event_type: string;
  attempt: number;
  status: DeliveryStatus;
  response_code: number | null;
  error: string | null;
  event_created_at: number;
  attempted_at: number;
}

/** Rows of the log kept per endpoint beyond the idempotency window (the API serves the newest 100). */
export const DELIVERY_LOG_KEEP = 100;

export async function insertWebhook(db: D1Database, row: WebhookRow): Promise<void> {
  await db
    .prepare("INSERT INTO webhooks (id, collection_id, url, events, secret, description, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
    .bind(row.id, row.collection_id, row.url, row.events, row.secret, row.description, row.created_at)
    .run();
}

export async function countWebhooks(db: D1Database, collectionId: string): Promise<number> {
  const r = await db.prepare("SELECT COUNT(*) AS n FROM webhooks WHERE collection_id = ?").bind(collectionId).first<{ n: number }>();
  return r?.n ?? 0;
}

export async function listWebhooks(db: D1Database, collectionId: string): Promise<WebhookRow[]> {
  const r = await db.prepare("SELECT * FROM webhooks WHERE collection_id = ? ORDER BY id").bind(collectionId).all<WebhookRow>();
  return r.results;
}

export async function getWebhook(db: D1Database, collectionId: string, id: string): Promise<WebhookRow | null> {
  return db.prepare("SELECT * FROM webhooks WHERE id = ? AND collection_id = ?").bind(id, collectionId).first<WebhookRow>();
}

/** Ids of a collection's endpoints subscribed to `eventType`. */
export async function subscribers(db: D1Database, collectionId: string, eventType: string): Promise<string[]> {
  const r = await db
    .prepare("SELECT id FROM webhooks WHERE collection_id = ? AND EXISTS (SELECT 1 FROM json_each(events) WHERE value = ?) ORDER BY id")
    .bind(collectionId, eventType)
    .all<{ id: string }>();
  return r.results.map((x) => x.id);
}

/** The endpoint and whether the event already reached it, in one round trip. */
export async function deliveryState(
  db: D1Database,
  webhookId: string,
  eventId: string,
): Promise<{ webhook: WebhookRow | null; delivered: boolean }> {
  const [hook, done] = await db.batch<WebhookRow | { n: number }>([
    db.prepare("SELECT * FROM webhooks WHERE id = ?").bind(webhookId),
    db
      .prepare("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE webhook_id = ? AND event_id = ? AND status = 'succeeded'")
      .bind(webhookId, eventId),
  ]);
  return {
    webhook: (hook.results[0] as WebhookRow | undefined) ?? null,
    delivered: ((done.results[0] as { n: number } | undefined)?.n ?? 0) > 0,
  };
}

/**
 * Logs one attempt and trims the endpoint's log to its newest DELIVERY_LOG_KEEP rows, sparing rows
 * younger than `keepSince` (events still inside their retry window need their idempotency record).
 */
export async function recordDelivery(db: D1Database, webhookId: string, d: DeliveryRow, keepSince: number): Promise<void> {
  await db.batch([
    db
      .prepare(
        `INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, attempt, status, response_code, error, event_created_at, attempted_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .bind(webhookId, d.event_id, d.event_type, d.attempt, d.status, d.response_code, d.error, d.event_created_at, d.attempted_at),
    db
      .prepare(
        `DELETE FROM webhook_deliveries WHERE webhook_id = ?1 AND event_created_at < ?2 AND id NOT IN
         (SELECT id FROM webhook_deliveries WHERE webhook_id = ?1 ORDER BY id DESC LIMIT ?3)`,
      )
      .bind(webhookId, keepSince, DELIVERY_LOG_KEEP),
  ]);
}

/** The newest `limit` attempts, newest first. */
export async function listDeliveries(db: D1Database, webhookId: string, limit: number): Promise<DeliveryRow[]> {
  const r = await db
    .prepare(
      `SELECT event_id, event_type, attempt, status, response_code, error, event_created_at, attempted_at
       FROM webhook_deliveries WHERE webhook_id = ? ORDER BY id DESC LIMIT ?`,
    )
    .bind(webhookId, limit)
    .all<DeliveryRow>();
  return r.results;
}

/** Removes an endpoint and its log. */
export async function deleteWebhook(db: D1Database, id: string): Promise<boolean> {
  const [row] = await db.batch([
    db.prepare("DELETE FROM webhooks WHERE id = ?").bind(id),
    db.prepare("DELETE FROM webhook_deliveries WHERE webhook_id = ?").bind(id),
  ]);
  return row.meta.changes > 0;
}

/**
 * At the end of a collection's deletion: removes its endpoints (and logs) except those subscribed
 * to `collection.deleted`, which are removed once that last event has been delivered or given up.
 */
export async function deleteCollectionWebhooks(db: D1Database, collectionId: string): Promise<void> {
  const keep = "EXISTS (SELECT 1 FROM json_each(events) WHERE value = 'collection.deleted')";
  await db.batch([
    db
      .prepare(`DELETE FROM webhook_deliveries WHERE webhook_id IN (SELECT id FROM webhooks WHERE collection_id = ? AND NOT ${keep})`)
      .bind(collectionId),
    db.prepare(`DELETE FROM webhooks WHERE collection_id = ? AND NOT ${keep}`).bind(collectionId),
  ]);
}
