import { DurableObject } from "cloudflare:workers";

/** One fixed window of a rate limit: `limit` cost units per `period` seconds. */
export interface Bucket {
  name: string;
  limit: number;
  period: number;
}

export interface BucketState {
  name: string;
  limit: number;
  period: number;
  remaining: number;
  /** Seconds until the window resets. */
  reset: number;
}

export interface HitResult {
  allowed: boolean;
  revoked: boolean;
  buckets: BucketState[];
}

interface Window {
  start: number;
  used: number;
}

/**
 * The strongly consistent authority for one principal: an API key (`key:<id>`), a client IP's failed
 * authentications (`fail:<ip>`) or the master key's sessions of one collection (`col:<id>`).
 *
 * - Rate limits: fixed windows, opened by their first request, counted in memory. One object is
 *   single-threaded, so counting has no read-then-write race; if the object is evicted its windows
 *   restart (a limit can then be exceeded once, never applied wrongly). Remaining and reset are
 *   exact, hence the standard headers.
 * - Revocation: stored, so every later `hit` answers `revoked` wherever the caller runs.
 * - Live sessions: the key's session ids, so revocation can end each one and a quota can count them.
 */
export class KeyGuard extends DurableObject<Env> {
  private windows = new Map<string, Window>();
  private revoked: boolean | null = null;

  private async isRevoked(): Promise<boolean> {
    if (this.revoked === null) this.revoked = (await this.ctx.storage.get<boolean>("revoked")) ?? false;
    return this.revoked;
  }

  /** Spends `cost` from every bucket, or from none when any would go below zero. */
  async hit(buckets: Bucket[], cost: number): Promise<HitResult> {
    const revoked = await this.isRevoked();
    const now = Date.now() / 1000;
    // Session buckets come and go: forget windows that have ended once there are many.
    if (this.windows.size > 1000) {
      for (const [name, w] of this.windows) if (now >= w.start + 3600) this.windows.delete(name);
    }
    const states = buckets.map((b) => {
      let w = this.windows.get(b.name);
      if (!w || now >= w.start + b.period) {
        // A window opens at its first request (not at a clock boundary): `reset` is exact either way.
        w = { start: now, used: 0 };
        this.windows.set(b.name, w);
      }
      return { b, w };
    });
    const allowed = !revoked && states.every(({ b, w }) => w.used + cost <= b.limit);
    if (allowed) for (const { w } of states) w.used += cost;
    return {
      allowed,
      revoked,
      buckets: states.map(({ b, w }) => ({
        name: b.name,
        limit: b.limit,
        period: b.period,
        remaining: Math.max(0, b.limit - w.used),
        reset: Math.max(1, Math.ceil(w.start + b.period - now)),
      })),
    };
  }

  /**
   * Claims a once-per-cooldown action (a collection's reindex): allowed when the last claim is
   * older than `cooldown` seconds; answers the seconds left otherwise. Stored, so it survives eviction.
   */
  async claim(action: string, cooldown: number): Promise<{ ok: boolean; retryAfter: number }> {
    const now = Date.now() / 1000;
    const last = (await this.ctx.storage.get<number>(`claim:${action}`)) ?? 0;
    if (now < last + cooldown) return { ok: false, retryAfter: Math.ceil(last + cooldown - now) };
    await this.ctx.storage.put(`claim:${action}`, now);
    return { ok: true, retryAfter: 0 };
  }

  /** Registers a session unless `max` live sessions exist already; answers the live count. */
  async addSession(sid: string, expiresAt: number, max: number): Promise<{ ok: boolean; live: number }> {
    if (await this.isRevoked()) return { ok: false, live: 0 };
    const sessions = await this.liveSessions();
    const live = Object.keys(sessions).length;
    if (live >= max) return { ok: false, live };
    sessions[sid] = expiresAt;
    await this.ctx.storage.put("sessions", sessions);
    return { ok: true, live: live + 1 };
  }

  async removeSession(sid: string): Promise<void> {
    const sessions = await this.liveSessions();
    if (!(sid in sessions)) return;
    delete sessions[sid];
    await this.ctx.storage.put("sessions", sessions);
  }

  async liveSessionCount(): Promise<number> {
    return Object.keys(await this.liveSessions()).length;
  }

  /** Revokes for good and ends every live session. Idempotent. */
  async revoke(): Promise<{ sessionsEnded: number }> {
    this.revoked = true;
    await this.ctx.storage.put("revoked", true);
    return { sessionsEnded: await this.endSessions() };
  }

  /** Ends every live session (their objects delete their state). */
  async endSessions(): Promise<number> {
    const sessions = await this.liveSessions();
    const ids = Object.keys(sessions);
    // The chat layer's session objects, reached through the binding (auth sits below chat).
    const ns = this.env.CHAT_SESSION;
    await Promise.all(ids.map((sid) => ns.get(ns.idFromName(sid)).end()));
    await this.ctx.storage.put("sessions", {});
    return ids.length;
  }

  private async liveSessions(): Promise<Record<string, number>> {
    const all = (await this.ctx.storage.get<Record<string, number>>("sessions")) ?? {};
    const now = Math.floor(Date.now() / 1000);
    for (const [sid, exp] of Object.entries(all)) if (exp <= now) delete all[sid];
    return all;
  }
}

export function guardStub(env: Env, name: string): DurableObjectStub<KeyGuard> {
  return env.KEY_GUARD.get(env.KEY_GUARD.idFromName(name));
}

/** Object names: one guard per key, per client IP's failures, per collection's master sessions. */
export const guardName = {
  key: (keyId: string) => `key:${keyId}`,
  failures: (ip: string) => `fail:${ip}`,
  collection: (collectionId: string) => `col:${collectionId}`,
};
