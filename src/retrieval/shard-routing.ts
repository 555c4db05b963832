/**
 * Where a collection's documents live (docs/scaling.md, "Shards"): a document in the shard its id
 * hashes to, shard 0 in the object named by the collection id alone (so every collection created
 * before shards, and every 1-shard one, keeps its object). No imports beyond types: the catalogue
 * routes and the ingest pipeline use it without pulling in the search code.
 */
import type { CollectionIndex } from "./collection-index/object";

/**
 * Shards per collection at most: each is one subrequest per search round (2 rounds), far inside
 * the 1,000 per request, and 32 × ≈ 60,000 chunks is ≈ 4× the 500,000-chunk quota.
 */
export const MAX_SHARDS = 32;

export type Stub = DurableObjectStub<CollectionIndex>;

/** A stable shard for a document: FNV-1a (32-bit) of its id, modulo the shard count. */
export function shardOf(documentId: string, shards: number): number {
  if (shards <= 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < documentId.length; i++) {
    h ^= documentId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}

/** Shard 0 is the collection's own object (as before shards); others are `<collection>:<s>`. */
export function shardName(collectionId: string, shard: number): string {
  return shard === 0 ? collectionId : `${collectionId}:${shard}`;
}

export function shardStub(env: Pick<Env, "COLLECTION_INDEX">, collectionId: string, shard: number): Stub {
  return env.COLLECTION_INDEX.get(env.COLLECTION_INDEX.idFromName(shardName(collectionId, shard)));
}

/** The shard count of a catalogue row (rows read before the column existed have none: 1). */
export function shardCount(collection: { shards?: number | null }): number {
  const s = collection.shards ?? 1;
  return Number.isInteger(s) && s >= 1 && s <= MAX_SHARDS ? s : 1;
}

/** Every shard's object, in shard order. */
export function shardStubs(env: Pick<Env, "COLLECTION_INDEX">, collection: { id: string; shards?: number | null }): Stub[] {
  return Array.from({ length: shardCount(collection) }, (_, s) => shardStub(env, collection.id, s));
}

/** The object that holds a document. */
export function documentIndex(
  env: Pick<Env, "COLLECTION_INDEX">,
  collection: { id: string; shards?: number | null },
  documentId: string,
): Stub {
  return shardStub(env, collection.id, shardOf(documentId, shardCount(collection)));
}
