-- Keys bound to part of their collection (src/retrieval/scope.ts): the binding as JSON
-- `{filter?, document_ids?}`, NULL for a key that sees the whole collection. KV holds the same
-- binding in the key's record (the hot path); this column is for listing.
ALTER TABLE api_keys ADD COLUMN binding TEXT;

-- Document expiry (src/ingest/expiry.ts). `expires_at`: when the sweeper deletes the document
-- (NULL: never). `expiry_slide_seconds`: set for the `last_active_at` anchor; activity on the
-- document moves `expires_at` to now + this many seconds.
ALTER TABLE documents ADD COLUMN expires_at INTEGER;
ALTER TABLE documents ADD COLUMN expiry_slide_seconds INTEGER;
CREATE INDEX documents_by_expiry ON documents (expires_at) WHERE expires_at IS NOT NULL;

-- A collection's default expiry for its new documents, OpenAI's vector-store shape as JSON
-- `{anchor: "created_at" | "last_active_at", days}`; NULL: documents never expire by default.
ALTER TABLE collections ADD COLUMN expires_after TEXT;
