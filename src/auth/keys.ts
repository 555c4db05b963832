import type { Settings } from "../config";
import { ApiError } from "../http/errors";
import { newId, randomToken, sha256Hex } from "../util/crypto";
import { collectionKeyIds, insertKeyRow, keyHashAndRevocation, keyRowsPage, markKeyRevoked } from "../storage/keys";
import { guardName, guardStub } from "./guard-do";
import type { KeyBinding, KeyRecord, Scope } from "./principal";

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
  opts: { collectionId: string | null; model: string | null; scopes: Scope[]; ttl: number; binding?: KeyBinding | null },
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
    // Only bound keys carry the field, so unbound records keep their old shape.
    ...(opts.binding ? { binding: opts.binding } : {}),
  };
  // D1 first: it is the list that revocation and listing rely on. If KV then fails the key simply
  // never works (no usable key without a row), and the row expires.
  await insertKeyRow(env.DB, {
    id: record.id,
    key_hash: hash,
    collection_id: record.collection_id,
    model: record.model,
    scopes: JSON.stringify(record.scopes),
    created_at: now,
    expires_at: record.expires_at,
    binding: opts.binding ? JSON.stringify(opts.binding) : null,
  });
  await env.API_KEYS.put(KV_PREFIX + hash, JSON.stringify(record), { expirationTtl: opts.ttl });
  return { key, record };
}

/**
 * Isolate-local answers for presented keys (positive and negative), so that a key's steady-state
 * auth costs no round trip at all and at most one KV read per AUTH_CACHE_SECONDS per isolate.
 * Bounded: cleared when it grows past MAX_CACHED entries.
 */
const keyCache = new Map<string, { record: KeyRecord | null; until: number }>();
const MAX_CACHED = 10_000;

export function forgetCachedKeys(): void {
  keyCache.clear();
}

/**
 * Looks a presented key up by its digest, from the isolate cache, else KV. D1 is never read on the
 * hot path. How long a revoked key may still work (docs/security.md, "Revocation bound"):
 * - with the per-key limiter on, not at all: its KeyGuard object answers `revoked` on every request;
 * - with it off, at most AUTH_CACHE_SECONDS (this cache) + 60 s (KV's propagation of the delete).
 */
export async function lookupKey(
  env: Env,
  presented: string,
  opts: { cacheSeconds?: number; now?: number } = {},
): Promise<KeyRecord | null> {
  if (!presented.startsWith(KEY_PREFIX) || presented.length > 128) return null;
  const hash = await sha256Hex(presented);
  const nowMs = opts.now ?? Date.now();
  const now = Math.floor(nowMs / 1000);
  const cached = keyCache.get(hash);
  let record: KeyRecord | null;
  if (cached && cached.until > nowMs) {
    record = cached.record;
  } else {
    record = await env.API_KEYS.get<KeyRecord>(KV_PREFIX + hash, "json");
    const ttl = (opts.cacheSeconds ?? 10) * 1000;
    if (ttl > 0) {
      if (keyCache.size >= MAX_CACHED) keyCache.clear();
      keyCache.set(hash, { record, until: nowMs + ttl });
    }
  }
  if (!record || record.expires_at <= now) return null;
  return record;
}

export interface KeyListing extends Omit<KeyRecord, "binding"> {
  revoked_at: number | null;
  binding: KeyBinding | null;
}

export async function listKeys(
  env: Env,
  opts: { limit: number; cursor?: string; includeInactive: boolean },
): Promise<{ keys: KeyListing[]; next_cursor: string | null }> {
  const now = Math.floor(Date.now() / 1000);
  const rows = await keyRowsPage(env.DB, { after: opts.cursor ?? "", limit: opts.limit, includeInactive: opts.includeInactive, now });
  const keys = rows.slice(0, opts.limit).map((r) => ({
    ...r,
    scopes: JSON.parse(r.scopes) as Scope[],
    binding: r.binding ? (JSON.parse(r.binding) as KeyBinding) : null,
  }));
  const next = rows.length > opts.limit ? (keys[keys.length - 1]?.id ?? null) : null;
  return { keys, next_cursor: next };
}

/**
 * Revokes a key: D1 marks it (the listing), its KeyGuard object refuses it at once everywhere and
 * ends its sessions, KV forgets it (propagates within 60 s) and so does this isolate's cache.
 */
export async function revokeKey(env: Env, keyId: string): Promise<boolean> {
  const row = await keyHashAndRevocation(env.DB, keyId);
  if (!row) return false;
  if (row.revoked_at === null) await markKeyRevoked(env.DB, keyId, Math.floor(Date.now() / 1000));
  await guardStub(env, guardName.key(keyId)).revoke();
  await env.API_KEYS.delete(KV_PREFIX + row.key_hash);
  keyCache.delete(row.key_hash);
  return true;
}

/**
 * Revokes every key of a collection and ends every session on it (keys' sessions, and those the
 * master key started). Called when the collection is deleted. Paged, so it works for any count.
 */
export async function revokeCollectionKeys(env: Env, collectionId: string): Promise<{ keys: number }> {
  let n = 0;
  let after = "";
  for (;;) {
    const page = await collectionKeyIds(env.DB, collectionId, after, 100);
    for (const id of page) {
      await revokeKey(env, id);
      n++;
    }
    if (page.length < 100) break;
    after = page[page.length - 1];
  }
  await guardStub(env, guardName.collection(collectionId)).endSessions();
  return { keys: n };
}
