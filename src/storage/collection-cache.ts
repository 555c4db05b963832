import { parseSettings } from "../config";
import { ApiError } from "../http/errors";
import { type Collection, getCollectionRow } from "./collections";

/**
 * The hot path's view of a collection's catalogue row (version, status, embedder), read without a
 * D1 round trip: an in-isolate copy trusted for COLLECTION_CACHE_SECONDS, then a KV mirror
 * (`col:<id>`, rewritten on every change and expiring after MIRROR_TTL_SECONDS so that a lost
 * write heals), then D1, which refills both.
 *
 * Staleness bound (docs/architecture.md): after a change commits in D1, an isolate may still see
 * the old row for COLLECTION_CACHE_SECONDS + KV's edge cache (60 s) when the mirror write
 * succeeded, and at most COLLECTION_CACHE_SECONDS + MIRROR_TTL_SECONDS + 60 s if it failed.
 */
export const MIRROR_PREFIX = "col:";
export const MIRROR_TTL_SECONDS = 60;

const isolate = new Map<string, { col: Collection | null; at: number }>();
/** Bounds the isolate's memory: the map is cleared when it grows past this many collections. */
const ISOLATE_MAX = 5000;

function remember(id: string, col: Collection | null): void {
  if (isolate.size >= ISOLATE_MAX) isolate.clear();
  isolate.set(id, { col, at: Date.now() });
}

/** Active collection or null, from the isolate, the KV mirror or D1 (in that order). */
export async function loadCollection(env: Env, id: string): Promise<Collection | null> {
  const ttlMs = parseSettings(env).COLLECTION_CACHE_SECONDS * 1000;
  const mine = isolate.get(id);
  if (mine && Date.now() - mine.at < ttlMs) return mine.col;
  const mirrored = await env.API_KEYS.get<Collection>(MIRROR_PREFIX + id, "json");
  if (mirrored) {
    remember(id, mirrored.status === "active" ? mirrored : null);
    return mirrored.status === "active" ? mirrored : null;
  }
  const row = await getCollectionRow(env.DB, id);
  if (row) await mirror(env, row);
  remember(id, row && row.status === "active" ? row : null);
  return row && row.status === "active" ? row : null;
}

export async function requireCachedCollection(env: Env, id: string): Promise<Collection> {
  const col = await loadCollection(env, id);
  if (!col) throw new ApiError("not_found", "Collection not found");
  return col;
}

/** Re-reads the row after a change and refreshes the mirror (best effort: it expires anyway). */
export async function publishCollection(env: Env, id: string): Promise<void> {
  const row = await getCollectionRow(env.DB, id);
  if (!row) return forgetCollection(env, id);
  remember(id, row.status === "active" ? row : null);
  await mirror(env, row);
}

export async function forgetCollection(env: Env, id: string): Promise<void> {
  remember(id, null);
  await env.API_KEYS.delete(MIRROR_PREFIX + id).catch((err) => console.error(JSON.stringify({ mirror: id, error: String(err) })));
}

async function mirror(env: Env, row: Collection): Promise<void> {
  try {
    await env.API_KEYS.put(MIRROR_PREFIX + row.id, JSON.stringify(row), { expirationTtl: MIRROR_TTL_SECONDS });
  } catch (err) {
    // KV allows one write per key per second; a refused write only delays the mirror (it expires).
    console.error(JSON.stringify({ mirror: row.id, error: String(err) }));
  }
}
