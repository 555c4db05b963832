-- Document-hash shards of one collection (issue 18 item 1; docs/scaling.md, "Shards"): how many
-- index objects hold the collection, fixed at creation. 1 (every existing collection) is one object
-- named by the collection id, as before; shard s > 0 is the object named `<collection id>:<s>`.
ALTER TABLE collections ADD COLUMN shards INTEGER NOT NULL DEFAULT 1 CHECK (shards BETWEEN 1 AND 32);
