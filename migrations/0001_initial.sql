-- Collections: a tenant's set of documents. The embedder and its dimension are fixed at creation
-- so vectors of different models are never mixed. `version` is bumped on every change and keys the
-- answer cache, so a change to the documents invalidates cached answers.
CREATE TABLE collections (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  embedder TEXT NOT NULL,
  dimensions INTEGER NOT NULL,
  chunk_tokens INTEGER NOT NULL,
  chunk_overlap INTEGER NOT NULL,
  version INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE documents (
  id TEXT PRIMARY KEY,
  collection_id TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  content_type TEXT NOT NULL,
  kind TEXT NOT NULL,
  size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  r2_key TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued', 'processing', 'ready', 'failed')),
  error_code TEXT,
  error_message TEXT,
  chunk_count INTEGER NOT NULL DEFAULT 0,
  char_count INTEGER NOT NULL DEFAULT 0,
  pages INTEGER,
  metadata TEXT NOT NULL DEFAULT '{}',
  -- Bumped by every (re-)index request; a queue message carrying an older generation is stale and dropped.
  generation INTEGER NOT NULL DEFAULT 1,
  -- Vectors written for this document and not yet confirmed by a committed chunk set (crash recovery).
  pending_vectors INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (collection_id, sha256)
);
CREATE INDEX documents_by_collection ON documents (collection_id, created_at, id);

-- Chunks exist only for documents whose indexing fully succeeded: they are written in the same
-- D1 batch (one transaction) that marks the document ready.
CREATE TABLE chunks (
  id INTEGER PRIMARY KEY,
  collection_id TEXT NOT NULL,
  document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  ordinal INTEGER NOT NULL,
  text TEXT NOT NULL,
  char_start INTEGER NOT NULL,
  char_end INTEGER NOT NULL,
  page INTEGER,
  heading TEXT,
  token_count INTEGER NOT NULL,
  UNIQUE (document_id, ordinal)
);
CREATE INDEX chunks_by_collection ON chunks (collection_id);

-- Keyword index over chunk text (external content table: text is stored once, in `chunks`).
-- Queries always join back to `chunks` and filter on collection_id.
CREATE VIRTUAL TABLE chunks_fts USING fts5 (
  text,
  content = 'chunks',
  content_rowid = 'id',
  tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN
  INSERT INTO chunks_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN
  INSERT INTO chunks_fts (chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER chunks_au AFTER UPDATE ON chunks BEGIN
  INSERT INTO chunks_fts (chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
  INSERT INTO chunks_fts (rowid, text) VALUES (new.id, new.text);
END;

-- Temporary API keys: the authoritative list (listing, revocation). The secret itself is never
-- stored; KV holds the SHA-256 digest -> record for the hot path, with a TTL.
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  key_hash TEXT NOT NULL UNIQUE,
  collection_id TEXT,
  model TEXT,
  scopes TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX api_keys_by_expiry ON api_keys (expires_at);
