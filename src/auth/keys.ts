import type { Settings } from "../config";
import { ApiError } from "../http/errors";
import { newId, randomToken, sha256Hex } from "./crypto";
import type { KeyRecord, Scope } from "./principal";

/** Recognisable prefix so leaked keys can be found by secret scanners. */
export const KEY_PREFIX = "dck_";
const KV_PREFIX = "apikey:";
/** KV refuses an expirationTtl below 60 s, in production and locally. */
export const MIN_KEY_TTL = 60;

export interface IssuedKey {
  key: string;
  record: KeyRecord;
}

export function resolveTtl(requested: number | undefined, settings: Settings): number {
  const ttl = requested ?? settings.KEY_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < MIN_KEY_TTL || ttl > settings.KEY_TTL_MAX_SECONDS) {
    throw new ApiError("ttl_out_of_range", `ttl_seconds must be an integer between ${MIN_KEY_TTL} and ${settings.KEY_TTL_MAX_SECONDS}`);
  }
  return ttl;
}

export async function issueKey(
  env: Env,
  opts: { collectionId: string | null; model: string | null; scopes: Scope[]; ttl: number },
): Promise<IssuedKey> {
  // 32 random bytes = 256 bits of entropy, as the original's secrets.token_urlsafe(32).
  const key = `${KEY_PREFIX}${randomToken(32)}`;
  const hash = await sha256Hex(key);
  const now = Math.floor(Date.now() / 1000);
  const record: KeyRecord = {
    id: newId("key"),
    collection_id: opts.collectionId,
    model: opts.model,
    scopes: opts.scopes,
    created_at: now,
    expires_at: now + opts.ttl,
  };
  // D1 first: it is the list that revocation and listing rely on. If KV then fails the key simply
  // never works (no usable key without a row), and the row expires.
  await env.DB.prepare(
    "INSERT INTO api_keys (id, key_hash, collection_id, model, scopes, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
  )
    .bind(record.id, hash, record.collection_id, record.model, JSON.stringify(record.scopes), now, record.expires_at)
    .run();
  await env.API_KEYS.put(KV_PREFIX + hash, JSON.stringify(record), { expirationTtl: opts.ttl });
  return { key, record };
}

/**
 * Looks a presented key up by its digest. KV answers the hot path; D1 is asked whether the key was
 * revoked, because a KV delete can take up to 60 s to reach every location while D1 is consistent.
 */
export async function lookupKey(env: Env, presented: string): Promise<KeyRecord | null> {
  if (!presented.startsWith(KEY_PREFIX) || presented.length > 128) return null;
  const hash = await sha256Hex(presented);
  const record = await env.API_KEYS.get<KeyRecord>(KV_PREFIX + hash, "json");
  if (!record) return null;
  if (record.expires_at <= Math.floor(Date.now() / 1000)) return null;
  if (await isRevoked(env, record.id)) return null;
  return record;
}

export async function isRevoked(env: Env, keyId: string): Promise<boolean> {
  const row = await env.DB.prepare("SELECT revoked_at, expires_at FROM api_keys WHERE id = ?")
    .bind(keyId)
    .first<{ revoked_at: number | null; expires_at: number }>();
  return !row || row.revoked_at !== null || row.expires_at <= Math.floor(Date.now() / 1000);
}

export interface KeyListing extends KeyRecord {
  revoked_at: number | null;
}

export async function listKeys(
  env: Env,
  opts: { limit: number; cursor?: string; includeInactive: boolean },
): Promise<{ keys: KeyListing[]; next_cursor: string | null }> {
  const now = Math.floor(Date.now() / 1000);
  const rows = await env.DB.prepare(
    `SELECT id, collection_id, model, scopes, created_at, expires_at, revoked_at FROM api_keys
     WHERE (?4 = 1 OR (revoked_at IS NULL AND expires_at > ?2)) AND id > ?1 ORDER BY id LIMIT ?3`,
  )
    .bind(opts.cursor ?? "", now, opts.limit + 1, opts.includeInactive ? 1 : 0)
    .all<Omit<KeyListing, "scopes"> & { scopes: string }>();
  const keys = rows.results.slice(0, opts.limit).map((r) => ({ ...r, scopes: JSON.parse(r.scopes) as Scope[] }));
  const next = rows.results.length > opts.limit ? (keys[keys.length - 1]?.id ?? null) : null;
  return { keys, next_cursor: next };
}

/** Revokes a key: D1 marks it at once (consistent everywhere); the KV record is deleted too. */
export async function revokeKey(env: Env, keyId: string): Promise<boolean> {
  const row = await env.DB.prepare("SELECT key_hash, revoked_at FROM api_keys WHERE id = ?")
    .bind(keyId)
    .first<{ key_hash: string; revoked_at: number | null }>();
  if (!row) return false;
  if (row.revoked_at === null) {
    await env.DB.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?")
      .bind(Math.floor(Date.now() / 1000), keyId)
      .run();
  }
  await env.API_KEYS.delete(KV_PREFIX + row.key_hash);
  return true;
}
