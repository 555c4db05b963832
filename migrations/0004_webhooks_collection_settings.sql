-- Per-collection embedding model and chunking (issue 20 item 3), signed ingestion events (item 2).

-- The embedding model a collection was created with: fixed for its life (its vectors live in the
-- Vectorize index of that model's dimension). Offline the local embedder serves every model and
-- the requested one is only recorded. Existing collections were all built for the default model.
ALTER TABLE collections ADD COLUMN embedding_model TEXT NOT NULL DEFAULT '@cf/baai/bge-base-en-v1.5';
-- `auto`: the chunker's structure-following rule with chunk_tokens/chunk_overlap (today's);
-- `static`: chunk_tokens/chunk_overlap are OpenAI's max_chunk_size_tokens/chunk_overlap_tokens.
ALTER TABLE collections ADD COLUMN chunking TEXT NOT NULL DEFAULT 'auto' CHECK (chunking IN ('auto', 'static'));

-- The chunking strategy given with the upload (JSON, OpenAI's shape); NULL = the collection's.
ALTER TABLE documents ADD COLUMN chunking TEXT;

-- Webhook endpoints, per collection. `secret` is the signing secret encrypted with AES-GCM under a
-- key derived from MASTER_API_KEY (src/events/secret.ts); `events` a JSON array of event types.
CREATE TABLE webhooks (
  id TEXT PRIMARY KEY,
  collection_id TEXT NOT NULL,
  url TEXT NOT NULL,
  events TEXT NOT NULL,
  secret TEXT NOT NULL,
  description TEXT,
  created_at INTEGER NOT NULL
);
CREATE INDEX webhooks_by_collection ON webhooks (collection_id);

-- One row per delivery attempt: the delivery log (last 100 per endpoint are served) and the
-- idempotency record (an event already `succeeded` for an endpoint is never sent to it again).
CREATE TABLE webhook_deliveries (
  id INTEGER PRIMARY KEY,
  webhook_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('succeeded', 'failed', 'gave_up', 'refused')),
  response_code INTEGER,
  error TEXT,
  event_created_at INTEGER NOT NULL,
  attempted_at INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (webhook_id, event_id, status);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);
