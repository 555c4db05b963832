/**
 * The `api_keys` catalogue (D1): the list that listing and revocation rely on. The hot path never
 * reads it: keys are answered from KV and the isolate (src/auth/keys.ts).
 */

export interface KeyRow {
  id: string;
  key_hash: string;
  collection_id: string | null;
  model: string | null;
  /** JSON array of scopes. */
  scopes: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  /** JSON `{filter?, document_ids?}` of a key bound to part of its collection; null: all of it. */
  binding: string | null;
}

export async function insertKeyRow(
  db: D1Database,
  row: Omit<KeyRow, "revoked_at" | "binding"> & { binding?: string | null },
): Promise<void> {
  await db
    .prepare(
      "INSERT INTO api_keys (id, key_hash, collection_id, model, scopes, created_at, expires_at, binding) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(row.id, row.key_hash, row.collection_id, row.model, row.scopes, row.created_at, row.expires_at, row.binding ?? null)
    .run();
}

/** Keys by id, active only unless `includeInactive`; one more row than `limit` tells whether more follow. */
export async function keyRowsPage(
  db: D1Database,
  opts: { after: string; limit: number; includeInactive: boolean; now: number },
): Promise<Omit<KeyRow, "key_hash">[]> {
  const rows = await db
    .prepare(
      `SELECT id, collection_id, model, scopes, created_at, expires_at, revoked_at, binding FROM api_keys
       WHERE (?4 = 1 OR (revoked_at IS NULL AND expires_at > ?2)) AND id > ?1 ORDER BY id LIMIT ?3`,
    )
    .bind(opts.after, opts.now, opts.limit + 1, opts.includeInactive ? 1 : 0)
    .all<Omit<KeyRow, "key_hash">>();
  return rows.results;
}

export async function keyHashAndRevocation(db: D1Database, id: string): Promise<{ key_hash: string; revoked_at: number | null } | null> {
  return db
    .prepare("SELECT key_hash, revoked_at FROM api_keys WHERE id = ?")
    .bind(id)
    .first<{ key_hash: string; revoked_at: number | null }>();
}

export async function markKeyRevoked(db: D1Database, id: string, at: number): Promise<void> {
  await db.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL").bind(at, id).run();
}

/** Ids of a collection's keys after `after`, at most `limit`. */
export async function collectionKeyIds(db: D1Database, collectionId: string, after: string, limit: number): Promise<string[]> {
  const page = await db
    .prepare("SELECT id FROM api_keys WHERE collection_id = ? AND id > ? ORDER BY id LIMIT ?")
    .bind(collectionId, after, limit)
    .all<{ id: string }>();
  return page.results.map((r) => r.id);
}
