import { sha256Hex } from "../util/crypto";
import type { Settings } from "../config";

/** Which tier answered a chat turn (the `X-Cache` header). */
export type CacheOutcome = "HIT-ISOLATE" | "HIT-LOCAL" | "HIT-GLOBAL" | "MISS" | "BYPASS";
type Hit = "HIT-ISOLATE" | "HIT-LOCAL" | "HIT-GLOBAL";

/** Bytes of answers one isolate keeps (its memory is 128 MB, shared with everything else). */
export const ISOLATE_TIER_BYTES = 4 * 1024 * 1024;

/**
 * The isolate tier: answers this isolate served or wrote, least recently used first out, at most
 * `maxBytes` of JSON text, each for the same TTL as the other tiers. Keyed by the Cache API URL,
 * which names the collection's version and digests the question, answerer and options (the
 * effective scope of a bound key included): an upload, delete or re-index makes old entries
 * unreachable, and two scopes never share one. It answers with no round trip at all. Each entry
 * also remembers whether the global tier (KV) is known to hold it (`AnswerCache` writes KV only
 * when a question comes back).
 */
export class IsolateTier {
  private entries = new Map<string, { text: string; bytes: number; expires: number; global: boolean }>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(url: string): string | null {
    return this.entry(url)?.text ?? null;
  }

  /** The entry's text and whether KV is known to hold it (most recently used from now on). */
  entry(url: string): { text: string; global: boolean } | null {
    const e = this.entries.get(url);
    if (!e) return null;
    this.entries.delete(url);
    if (Date.now() >= e.expires) {
      this.bytes -= e.bytes;
      return null;
    }
    this.entries.set(url, e); // most recently used last
    return e;
  }

  /** Records that KV holds the entry (false when there is none). */
  markGlobal(url: string): boolean {
    const e = this.entries.get(url);
    if (!e) return false;
    e.global = true;
    return true;
  }

  set(url: string, text: string, ttlSeconds: number, global = false): void {
    const bytes = text.length * 2; // UTF-16 in memory
    if (bytes > this.maxBytes) return;
    const old = this.entries.get(url);
    if (old) {
      this.entries.delete(url);
      this.bytes -= old.bytes;
    }
    this.entries.set(url, { text, bytes, expires: Date.now() + ttlSeconds * 1000, global: global || (old?.global ?? false) });
    this.bytes += bytes;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= e.bytes;
    }
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }
}

/** This isolate's tier, shared by every request it serves. */
export const isolateAnswers = new IsolateTier(ISOLATE_TIER_BYTES);

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
  /** In front of the others (absent: none). */
  isolate?: IsolateTier | null;
  /** null: the local tier is skipped (diagnostics). */
  local: Cache | null;
  global: KVNamespace;
  /**
   * Write KV on the first miss too: the answer is costly to make again elsewhere (a language
   * model's call, billed and seconds long, against a KV write's fraction of a cent per thousand).
   * Off (the default), KV is written only when a question comes back.
   */
  globalOnMiss?: boolean;
}

/**
 * The Cache API entry's header saying the global tier (KV) holds the answer too: a local hit
 * without it writes KV (the question has come back), then re-marks the entry.
 */
export const GLOBAL_MARK = "X-Answer-Global";

/**
 * Tiered answer cache: this isolate's memory first (no round trip), then the Cache API (free, per
 * data centre, inert on workers.dev), then KV (global, eventually consistent, billed per write). A
 * lower tier's hit refills the ones above it. Values larger than ANSWER_CACHE_MAX_BYTES are not
 * cached at all.
 *
 * KV is written when a question is asked a second time, not on its first miss: most questions are
 * asked once, and a one-off answer in KV costs a billed write (and, on the isolate's one thread, the
 * work of a second cache write) for nothing, where making the answer again is cheap (the extractive
 * answerer: one search and a few ms of CPU). A miss writes the isolate and the Cache API; the first
 * hit of either of them (this isolate's or another's in the data centre) writes KV in the request's
 * waitUntil and marks both, so later hits write nothing. Where there is no local tier (the Cache
 * API is inert, or the master key's `global-only` diagnostics), KV is the only tier other isolates
 * can read, and where the answer is costly to make again (`globalOnMiss`: a language model), a
 * miss writes KV at once, as before.
 */
export class AnswerCache<T> {
  constructor(
    private readonly tiers: Tiers,
    private readonly settings: Pick<Settings, "ANSWER_CACHE_TTL_SECONDS" | "ANSWER_CACHE_MAX_BYTES">,
  ) {}

  /**
   * Looks in the local tier, then the global one; `defer` carries the refills and the global write
   * of a question that came back (waitUntil), which wait for `allowed` (the key guard's verdict): a
   * refused request writes nothing.
   */
  async get(
    key: AnswerKey,
    defer: (p: Promise<unknown>) => void,
    allowed: Promise<unknown> = Promise.resolve(),
  ): Promise<{ value: T; tier: Hit } | null> {
    const mine = this.tiers.isolate?.entry(key.url);
    if (mine != null) {
      const value = JSON.parse(mine.text) as T;
      if (!mine.global) this.promote(key, mine.text, defer, allowed, true);
      return { value, tier: "HIT-ISOLATE" };
    }
    const local = await this.tiers.local?.match(key.url).catch(() => undefined);
    if (local) {
      try {
        const text = await local.text();
        const value = JSON.parse(text) as T;
        if (local.headers.get(GLOBAL_MARK) !== "1") this.promote(key, text, defer, allowed, false);
        this.fillIsolate(key, text, allowed);
        return { value, tier: "HIT-LOCAL" };
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
        () => this.putLocal(key, text, true),
        () => undefined,
      ),
    );
    this.fillIsolate(key, text, allowed);
    return { value, tier: "HIT-GLOBAL" };
  }

  /** Keeps what a lower tier answered in the isolate tier (KV holds it, or is being written), once the request is allowed. */
  private fillIsolate(key: AnswerKey, text: string, allowed: Promise<unknown>): void {
    const tier = this.tiers.isolate;
    if (!tier) return;
    allowed.then(
      () => tier.set(key.url, text, this.settings.ANSWER_CACHE_TTL_SECONDS, true),
      () => undefined,
    );
  }

  /**
   * A question asked again: writes KV and marks the entry in the Cache API and the isolate, once the
   * request is allowed. `once`: skipped if this isolate's entry was marked meanwhile (two hits of
   * one isolate write once).
   */
  private promote(key: AnswerKey, text: string, defer: (p: Promise<unknown>) => void, allowed: Promise<unknown>, once: boolean): void {
    defer(
      allowed.then(
        async () => {
          const tier = this.tiers.isolate;
          if (once && tier?.entry(key.url)?.global) return;
          tier?.markGlobal(key.url);
          await Promise.all([this.putGlobal(key, text), this.putLocal(key, text, true)]);
        },
        () => undefined,
      ),
    );
  }

  /**
   * Writes the first-miss tiers: the isolate's and the Cache API, or KV where there is no Cache API
   * (run it in waitUntil). `text`: the value's JSON when the caller has it already. False when the
   * value is over the cap and was skipped.
   */
  async put(key: AnswerKey, value: T, text: string = JSON.stringify(value)): Promise<boolean> {
    if (utf8Over(text, this.settings.ANSWER_CACHE_MAX_BYTES)) return false;
    const global = !this.tiers.local || this.tiers.globalOnMiss === true;
    this.tiers.isolate?.set(key.url, text, this.settings.ANSWER_CACHE_TTL_SECONDS, global);
    await Promise.all([global ? this.putGlobal(key, text) : undefined, this.putLocal(key, text, global)]);
    return true;
  }

  private async putGlobal(key: AnswerKey, text: string): Promise<void> {
    await this.tiers.global
      .put(key.kv, text, { expirationTtl: this.settings.ANSWER_CACHE_TTL_SECONDS })
      .catch((err) => console.error(JSON.stringify({ answer_cache: "kv put failed", error: String(err) })));
  }

  private async putLocal(key: AnswerKey, text: string, global: boolean): Promise<void> {
    const local = this.tiers.local;
    if (!local) return;
    const headers: Record<string, string> = {
      "Content-Type": "application/json",
      "Cache-Control": `max-age=${this.settings.ANSWER_CACHE_TTL_SECONDS}`,
    };
    if (global) headers[GLOBAL_MARK] = "1";
    await local
      .put(key.url, new Response(text, { headers }))
      .catch((err) => console.error(JSON.stringify({ answer_cache: "cache put failed", error: String(err) })));
  }
}

/**
 * Whether `text` takes more than `max` bytes in UTF-8, without encoding it when its length decides:
 * a UTF-16 unit is 1 to 3 UTF-8 bytes, so only a text between max/3 and max units is encoded (this
 * runs on every uncached chat turn, on the isolate's one thread).
 */
export function utf8Over(text: string, max: number): boolean {
  if (text.length > max) return true;
  if (text.length * 3 <= max) return false;
  return new TextEncoder().encode(text).byteLength > max;
}

/**
 * The tiers of this deployment: this isolate's, `caches.default` and the API_KEYS namespace under
 * `ans:`. The Cache API is left out where this isolate's probe found it inert (workers.dev, previews):
 * there its look-up can never hit and its write is lost, two round trips for nothing. `defer`, when
 * given, runs the probe (in waitUntil) if this isolate has no fresh verdict yet.
 */
export function answerCacheFor<T>(
  env: Pick<Env, "API_KEYS">,
  settings: Settings,
  opts: { local?: boolean; defer?: (p: Promise<unknown>) => void; globalOnMiss?: boolean } = {},
): AnswerCache<T> {
  // The diagnostics' global-only read skips the isolate tier as well as the Cache API.
  const local = opts.local !== false;
  const probe = localTier.probe;
  const fresh = probe !== null && Date.now() - probe.at < PROBE_TTL_MS;
  if (!fresh && opts.defer) opts.defer(localTierFunctional());
  const inert = fresh && probe?.functional === false;
  return new AnswerCache<T>(
    {
      isolate: local ? isolateAnswers : null,
      local: local && !inert ? caches.default : null,
      global: env.API_KEYS,
      globalOnMiss: opts.globalOnMiss,
    },
    settings,
  );
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

/** This isolate's last probe of the Cache API (`probe: null` until one ran); tests may set it. */
export const localTier: { probe: { at: number; functional: boolean } | null } = { probe: null };
const PROBE_TTL_MS = 5 * 60 * 1000;

/** Whether the local tier (caches.default) works on this deployment; probed once per isolate per five minutes. */
export async function localTierFunctional(): Promise<boolean> {
  const known = localTier.probe;
  if (known && Date.now() - known.at < PROBE_TTL_MS) return known.functional;
  // Each request probes on its own (workerd does not let one request await another's I/O).
  const functional = await probeCache(caches.default);
  localTier.probe = { at: Date.now(), functional };
  return functional;
}
