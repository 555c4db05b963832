-- Edge data plane: chunks and the keyword index move into one Durable Object per collection
-- (CollectionIndex, SQLite storage). D1 keeps only the catalogue. Existing collections are rebuilt
-- from their R2 originals with POST /v1/collections/{id}/reindex (see docs/operations.md).
DROP TRIGGER IF EXISTS chunks_ai;
DROP TRIGGER IF EXISTS chunks_ad;
DROP TRIGGER IF EXISTS chunks_au;
DROP TABLE IF EXISTS chunks_fts;
DROP TABLE IF EXISTS chunks;

-- `deleting`: the collection is being removed page by page through the queue; nothing reads it.
ALTER TABLE collections ADD COLUMN status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deleting'));
