import { sha256Hex } from "../util/crypto";
import type { Settings } from "../config";

/** Which tier answered a chat turn (the `X-Cache` header). */
export type CacheOutcome = "HIT-LOCAL" | "HIT-GLOBAL" | "MISS" | "BYPASS";

/** KV key prefix of the global tier (docs/storage.md). */
export const ANSWER_PREFIX = "ans:";
/** Seconds a KV read of the global tier may be served from the edge's own copy. */
export const GLOBAL_READ_CACHE_TTL = 60;

export interface AnswerKey {
  /** Local tier (Cache API): a synthetic URL, never fetched. */
  url: string;
  /** Global tier (KV). */
  kv: string;
}

/**
 * Key of a first-turn answer: the collection version (any upload, delete or re-index bumps it, so
 * old entries become unreachable), the normalised question, the answerer and the options.
 */
export async function answerKey(
  collection: { id: string; version: number },
  question: string,
  answerer: string,
  options: Record<string, unknown>,
): Promise<AnswerKey> {
  const normalised = question.normalize("NFKC").toLowerCase().replace(/\s+/g, " ").trim();
  const digest = await sha256Hex(JSON.stringify([normalised, answerer, options]));
  return {
    url: `https://answer-cache.invalid/${collection.id}/v${collection.version}/${digest}`,
    kv: `${ANSWER_PREFIX}${collection.id}:${collection.version}:${digest}`,
  };
}

export interface Tiers {
  /** null: the local tier is skipped (diagnostics). */
  local: Cache | null;
  global: KVNamespace;
}

/**
 * Two-tier answer cache: the Cache API first (free, per data centre, inert on workers.dev), then KV
 * (global, eventually consistent, billed per write). A global hit refills the local tier. Values
 * larger than ANSWER_CACHE_MAX_BYTES are not cached at all.
 */
export class AnswerCache<T> {
  constructor(
    private readonly tiers: Tiers,
    private readonly settings: Pick<Settings, "ANSWER_CACHE_TTL_SECONDS" | "ANSWER_CACHE_MAX_BYTES">,
  ) {}

  /**
   * Looks in the local tier, then the global one; `defer` carries the local refill (waitUntil),
   * which waits for `allowed` (the key guard's verdict): a refused request writes nothing.
   */
  async get(
    key: AnswerKey,
    defer: (p: Promise<unknown>) => void,
    allowed: Promise<unknown> = Promise.resolve(),
  ): Promise<{ value: T; tier: "HIT-LOCAL" | "HIT-GLOBAL" } | null> {
    const local = await this.tiers.local?.match(key.url).catch(() => undefined);
    if (local) {
      try {
        return { value: (await local.json()) as T, tier: "HIT-LOCAL" };
      } catch {
        // An unreadable entry is a miss.
      }
    }
    const text = await this.tiers.global.get(key.kv, { type: "text", cacheTtl: GLOBAL_READ_CACHE_TTL }).catch(() => null);
    if (text === null) return null;
    let value: T;
    try {
      value = JSON.parse(text) as T;
    } catch {
      return null;
    }
    defer(
      allowed.then(
        () => this.putLocal(key, text),
        () => undefined,
      ),
    );
    return { value, tier: "HIT-GLOBAL" };
  }

  /** Writes both tiers (run it in waitUntil). False when the value is over the cap and was skipped. */
  async put(key: AnswerKey, value: T): Promise<boolean> {
    const text = JSON.stringify(value);
    if (new TextEncoder().encode(text).byteLength > this.settings.ANSWER_CACHE_MAX_BYTES) return false;
    await Promise.all([
      this.putLocal(key, text),
      this.tiers.global
        .put(key.kv, text, { expirationTtl: this.settings.ANSWER_CACHE_TTL_SECONDS })
        .catch((err) => console.error(JSON.stringify({ answer_cache: "kv put failed", error: String(err) }))),
    ]);
    return true;
  }

  private async putLocal(key: AnswerKey, text: string): Promise<void> {
    await this.tiers.local
      ?.put(
        key.url,
        new Response(text, {
          headers: { "Content-Type": "application/json", "Cache-Control": `max-age=${this.settings.ANSWER_CACHE_TTL_SECONDS}` },
        }),
      )
      .catch((err) => console.error(JSON.stringify({ answer_cache: "cache put failed", error: String(err) })));
  }
}

/** The tiers of this deployment: `caches.default` and the API_KEYS namespace under `ans:`. */
export function answerCacheFor<T>(env: Pick<Env, "API_KEYS">, settings: Settings, opts: { local?: boolean } = {}): AnswerCache<T> {
  return new AnswerCache<T>({ local: opts.local === false ? null : caches.default, global: env.API_KEYS }, settings);
}

/**
 * Whether a Cache API works here: writes a tiny entry and reads it back. On `*.workers.dev`, in the
 * dashboard editor and in previews the Cache API accepts the write and never matches.
 */
export async function probeCache(cache: Cache): Promise<boolean> {
  const url = `https://answer-cache.invalid/__probe/${crypto.randomUUID()}`;
  try {
    await cache.put(url, new Response("1", { headers: { "Cache-Control": "max-age=60" } }));
    const functional = (await cache.match(url)) !== undefined;
    await cache.delete(url);
    return functional;
  } catch {
    return false;
  }
}

let localTierProbe: { at: number; functional: boolean } | null = null;
const PROBE_TTL_MS = 5 * 60 * 1000;

/** Whether the local tier (caches.default) works on this deployment; probed once per isolate per five minutes. */
export async function localTierFunctional(): Promise<boolean> {
  if (localTierProbe && Date.now() - localTierProbe.at < PROBE_TTL_MS) return localTierProbe.functional;
  localTierProbe = { at: Date.now(), functional: await probeCache(caches.default) };
  return localTierProbe.functional;
}
