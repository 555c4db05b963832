import { DurableObject } from "cloudflare:workers";
import type { SessionSource } from "./source";

export interface SessionMeta {
  sid: string;
  key_id: string;
  collection_id: string | null;
  created_at: number;
  expires_at: number;
  /**
   * The binding of the key that started the session, as JSON (a KeyBinding, src/auth/principal.ts):
   * every turn of the session sees only those documents. Absent or null: unbound.
   */
  binding?: string | null;
}

export type { SessionSource } from "./source";

export interface Turn {
  role: "user" | "assistant";
  content: string;
  at: number;
  sources?: SessionSource[];
}

/** History is bounded so one session cannot grow its object without limit. */
export const MAX_TURNS = 100;

/**
 * One chat session: its binding to a key and a collection, and its bounded history. It lives at
 * the edge next to its first caller and deletes itself (alarm) when its token expires.
 */
export class ChatSession extends DurableObject<Env> {
  async init(meta: SessionMeta): Promise<void> {
    await this.ctx.storage.put("meta", meta);
    await this.ctx.storage.setAlarm(meta.expires_at * 1000);
  }

  async meta(): Promise<SessionMeta | null> {
    const meta = await this.ctx.storage.get<SessionMeta>("meta");
    if (!meta || meta.expires_at <= Math.floor(Date.now() / 1000)) return null;
    return meta;
  }

  async append(turns: Turn[]): Promise<void> {
    const history = (await this.ctx.storage.get<Turn[]>("history")) ?? [];
    history.push(...turns);
    await this.ctx.storage.put("history", history.slice(-MAX_TURNS));
  }

  async messages(limit = MAX_TURNS): Promise<Turn[]> {
    const history = (await this.ctx.storage.get<Turn[]>("history")) ?? [];
    return history.slice(-limit);
  }

  /** Meta and recent history in one call: a chat turn's one read of its session. */
  async open(limit = MAX_TURNS): Promise<{ meta: SessionMeta; messages: Turn[] } | null> {
    const meta = await this.meta();
    return meta ? { meta, messages: await this.messages(limit) } : null;
  }

  /** Ends the session now (revocation, collection delete, DELETE /v1/sessions/{id}). */
  async end(): Promise<void> {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
  }

  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }
}

export function sessionStub(env: Env, sid: string): DurableObjectStub<ChatSession> {
  return env.CHAT_SESSION.get(env.CHAT_SESSION.idFromName(sid));
}
