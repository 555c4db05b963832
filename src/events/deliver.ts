import { parseSecrets, parseSettings } from "../config";
import { deleteWebhook, deliveryState, type DeliveryRow, recordDelivery } from "../storage/webhooks";
import { openSecret, signPayload } from "./signing";
import type { WebhookMessage } from "./types";
import { checkWebhookUrl } from "./url";

/** Retry schedule: 30 s after the first failure, doubling, at most 4 h apart, none after 24 h. */
export const RETRY = { firstDelaySeconds: 30, maxDelaySeconds: 4 * 3600, giveUpAfterSeconds: 24 * 3600 } as const;
/** Time allowed for a receiver to answer (headers; the body is never read). */
export const DELIVERY_TIMEOUT_MS = 10_000;

/** Delay before attempt `attempt + 1` (seconds). */
export function retryDelaySeconds(attempt: number): number {
  return Math.min(RETRY.maxDelaySeconds, RETRY.firstDelaySeconds * 2 ** Math.min(attempt - 1, 20));
}

export type Outcome = { status: DeliveryRow["status"] | "skipped"; responseCode: number | null; nextDelaySeconds?: number };

/**
 * One delivery attempt of one event to one endpoint (a `webhook` queue message):
 * - the endpoint is gone, or the event already reached it: nothing is sent (idempotent by event id);
 * - its URL is refused now (the rules may be stricter than at creation): logged `refused`, not retried;
 * - otherwise the payload is POSTed, signed per Standard Webhooks; a 2xx is `succeeded`; anything
 *   else (3xx included: redirects are never followed, a timeout, a network error) is `failed` and
 *   queued again after retryDelaySeconds, or `gave_up` once 24 h have passed since the event.
 * Every attempt is logged. The endpoint of a `collection.deleted` event is removed after its last attempt.
 * Throws only when D1 or the queue fail, so that the queue retries the message itself.
 */
export async function deliverWebhook(env: Env, m: WebhookMessage, now = Math.floor(Date.now() / 1000)): Promise<Outcome> {
  const { webhook, delivered } = await deliveryState(env.DB, m.webhook_id, m.event_id);
  if (!webhook || delivered) return { status: "skipped", responseCode: null };
  const settings = parseSettings(env);
  const log = (status: DeliveryRow["status"], responseCode: number | null, error: string | null) =>
    recordDelivery(
      env.DB,
      webhook.id,
      {
        event_id: m.event_id,
        event_type: m.event_type,
        attempt: m.attempt,
        status,
        response_code: responseCode,
        error,
        event_created_at: m.created_at,
        attempted_at: now,
      },
      now - RETRY.giveUpAfterSeconds - 3600,
    );
  const finish = async (status: DeliveryRow["status"], responseCode: number | null, error: string | null): Promise<Outcome> => {
    await log(status, responseCode, error);
    if (status !== "succeeded") {
      console.warn(JSON.stringify({ event: "webhook_" + status, webhook_id: webhook.id, event_id: m.event_id, attempt: m.attempt, error }));
    }
    // The collection is gone: its endpoints were kept only to receive this last event.
    if (m.event_type === "collection.deleted") await deleteWebhook(env.DB, webhook.id);
    return { status, responseCode };
  };

  const verdict = checkWebhookUrl(webhook.url, { allowLoopback: settings.WEBHOOK_ALLOW_LOOPBACK === 1 });
  if (!verdict.ok) return finish("refused", null, `URL refused: ${verdict.reason}`);
  const secret = await openSecret(parseSecrets(env).MASTER_API_KEY, webhook.id, webhook.secret);
  if (secret === null) return finish("gave_up", null, "secret_unreadable: re-create the endpoint (was MASTER_API_KEY rotated?)");

  const sent = await send(verdict.url, m, secret, now);
  if (sent.ok) return finish("succeeded", sent.code, null);
  const delay = retryDelaySeconds(m.attempt);
  if (now + delay > m.created_at + RETRY.giveUpAfterSeconds) return finish("gave_up", sent.code, sent.error);
  await log("failed", sent.code, sent.error);
  await env.INGEST_QUEUE.send({ ...m, attempt: m.attempt + 1 } satisfies WebhookMessage, { contentType: "json", delaySeconds: delay });
  return { status: "failed", responseCode: sent.code, nextDelaySeconds: delay };
}

/**
 * The server's one outbound fetch of a URL it did not choose itself (an operator-registered
 * endpoint, never a per-request one): POST, no redirects followed, a timeout, and the response
 * body cancelled unread.
 */
async function send(
  url: URL,
  m: WebhookMessage,
  secret: string,
  timestamp: number,
): Promise<{ ok: boolean; code: number | null; error: string | null }> {
  let res: Response;
  try {
    res = await fetch(url.toString(), {
      method: "POST",
      redirect: "manual",
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      headers: {
        "Content-Type": "application/json",
        "User-Agent": "docchat-edge-webhooks/1",
        "webhook-id": m.event_id,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": await signPayload(secret, m.event_id, timestamp, m.payload),
      },
      body: m.payload,
    });
  } catch (err) {
    const timeout = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    return { ok: false, code: null, error: timeout ? `no answer within ${DELIVERY_TIMEOUT_MS} ms` : "connection failed" };
  }
  await res.body?.cancel().catch(() => {});
  const ok = res.status >= 200 && res.status < 300;
  const error = ok ? null : res.status >= 300 && res.status < 400 ? `redirect (${res.status}) not followed` : `HTTP ${res.status}`;
  return { ok, code: res.status, error };
}
