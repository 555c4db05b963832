/** The ingestion events an endpoint may subscribe to, declared once. */
export const EVENT_TYPES = ["document.ready", "document.failed", "document.deleted", "collection.deleted"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** One delivery of one event to one endpoint, through the ingest queue. */
export interface WebhookMessage {
  type: "webhook";
  webhook_id: string;
  collection_id: string;
  /** The Standard Webhooks `webhook-id`: the same for every attempt and every endpoint of the event. */
  event_id: string;
  event_type: EventType;
  /** When the event happened (epoch seconds): retries stop 24 h later. */
  created_at: number;
  /** 1 for the first attempt; each retry is a new message with the next number. */
  attempt: number;
  /** The exact body that is signed and sent (`{type, timestamp, data}`). */
  payload: string;
}

export function isWebhookMessage(b: unknown): b is WebhookMessage {
  const m = b as Partial<WebhookMessage> | null;
  return (
    !!m &&
    m.type === "webhook" &&
    typeof m.webhook_id === "string" &&
    typeof m.event_id === "string" &&
    typeof m.payload === "string" &&
    Number.isInteger(m.attempt) &&
    Number.isInteger(m.created_at)
  );
}
