/**
 * Round-trip budgets per request kind (issue 9 item 5, with issue 14 item 5's cache adjustments),
 * counted in steady state: after one warm-up request of the same kind, so in-isolate caches serve.
 * The production providers (Workers AI and Vectorize doubles) are bound.
 *
 * | request                       | D1 | collection DO | session DO | key guard DO | KV (reads+writes)      | Cache API | AI / Vectorize               |
 * | isolate hit (key)             | 0  | 0             | –          | 1            | ≤ 1 (key lookup)       | 0         | 0                            |
 * | cached first-turn chat (key)  | 0  | 0             | –          | 1            | ≤ 1 (key lookup)       | 1         | 0                            |
 * | global hit (key)              | 0  | 0             | –          | 1            | key + 1 cache read     | 2         | 0                            |
 * | search (key)                  | 0  | 2             | –          | 1            | ≤ 1                    | 0         | 1 embed + 1 query            |
 * | uncached chat (key)           | 0  | 2             | –          | 1            | ≤ 1 + 1 read + 1 write | 2         | 1 embed + 1 query + 1 answer |
 * | session turn (JWT)            | 0  | 2             | ≤ 2        | 1            | cache read + write     | ≤ 2       | as above                     |
 * | /api/chat turn (raw JWT)      | 0  | 2             | 2          | 1            | cache read + write     | 2         | as above                     |
 * | search / cached chat, bound key | as the unbound key: the binding travels in the key's record and the filter runs in the index object |
 * | webhook delivery (queue)      | 2  | 0             | 0          | 0            | 0                      | 0         | 0; one outbound fetch        |
 * | search (key), S shards        | 0  | 2·S           | –          | 1            | ≤ 1                    | 0         | 1 embed + 1 query (keyword: 0) |
 *
 * A collection created with `shards: S > 1` (docs/scaling.md, "Shards") answers a search in two
 * parallel rounds over its S objects: each shard's BM25 statistics (alongside the embedding and the
 * Vectorize query), then each shard's candidates; a 1-shard collection is the rows above, unchanged.
 * Auth answers from the isolate's copy of the key (or one KV read) and never reads D1; the
 * collection's version comes from the isolate (or its KV mirror). The key guard call is the exact
 * per-key rate limit (RateLimit headers, src/auth/guard-do.ts): with RATE_LIMIT_KEY_PER_MINUTE=0
 * it is not made. On search, /v1/chat, /api/chat and /chat (`overlapGuard`) that call runs alongside
 * the collection look-up, the answer-cache look-up and the session's open; nothing else starts before
 * its verdict, and a refused request writes nothing (the "overlapGuard" tests below).
 * The answer cache writes KV on a first miss here because the answerer is a language model (costly
 * to make again elsewhere); with the extractive answerer, KV only when a question comes back
 * (src/chat/answer-cache.ts; test/answer-cache.test.ts counts those writes).
 * Hybrid search with Workers AI and Vectorize makes two collection-index calls: the keyword half
 * runs while the query is being embedded, the vector half once Vectorize has answered (the
 * "keyword half overlaps the embedding" test below).
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { type Counted, countedEnv } from "./budget";
import { guardName } from "../src/auth/guard-do";
import { isolateAnswers, localTier } from "../src/chat/answer-cache";
import { parseSettings } from "../src/config";
import { body, master, recordingQueue, runQueue, startChat, tempKey } from "./helpers";

const DOCS = [
  { name: "hours.md", text: "# Opening hours\n\nThe Lisbon office opens at 9am and closes at 6pm on weekdays." },
  { name: "expenses.md", text: "# Expenses\n\nTravel expenses are reimbursed within 30 days when the receipt is attached." },
  { name: "pets.md", text: "# Pets\n\nDogs are allowed in the office on Fridays if they are vaccinated." },
];

let counted: Counted;
let col: string;
let key: string;

/** A collection indexed with the production providers, through the real queue handler. */
beforeAll(async () => {
  counted = countedEnv("cloudflare");
  const created = await body(await counted.fetch("/v1/collections", { method: "POST", headers: master(), json: { name: "budget" } }));
  col = created.id;
  // Uploaded over HTTP and indexed by the worker's real queue() handler with the counted env.
  const queue = recordingQueue();
  counted.env.INGEST_QUEUE = queue.binding;
  const up = await counted.fetch(`/v1/collections/${col}/documents`, { method: "POST", headers: master(), json: { documents: DOCS } });
  expect(up.status).toBe(202);
  const delivered = await queue.deliver(counted.env);
  expect(delivered.ids).toHaveLength(DOCS.length);
  expect(delivered.acked).toEqual(delivered.ids);
  key = (await tempKey(col)).temp_api_key;
});

/** Runs `request` once to warm up, then once counted. */
async function steady(label: string, request: () => Promise<Response>): Promise<{ res: Response; counts: Counted["counts"] }> {
  expect((await request()).status).toBe(200);
  counted.reset();
  const res = await request();
  expect(res.status).toBe(200);
  const counts = { ...counted.counts };
  // The measured figures, for docs/architecture.md.
  console.log(JSON.stringify({ budget: label, x_cache: res.headers.get("X-Cache"), counts }));
  return { res, counts };
}

const chat = (query: string, headers: Record<string, string>) => () =>
  counted.fetch("/v1/chat", { method: "POST", headers, json: { query, collection_id: col } });

describe("round-trip budget per request kind (steady state, production providers)", () => {
  it("search (key): two collection-index calls (keyword half, vector half), one embed, one Vectorize query, no Cache API", async () => {
    const { res, counts } = await steady("search (key)", () =>
      counted.fetch(`/v1/collections/${col}/search`, {
        method: "POST",
        headers: { "X-API-Key": key },
        json: { query: "When are expenses reimbursed?", top_k: 3 },
      }),
    );
    expect((await body(res)).results[0].document_name).toBe("expenses.md");
    expect(counts).toMatchObject({
      collectionDO: 2,
      sessionDO: 0,
      cache: 0,
      aiEmbed: 1,
      aiOther: 0,
      vectorizeQuery: 1,
      vectorizeOther: 0,
      r2: 0,
    });
    expect(counts.d1).toBe(0);
    expect(counts.guardDO).toBe(1);
    expect(counts.kvReads + counts.kvWrites).toBeLessThanOrEqual(1);
    expect(res.headers.get("Server-Timing")).toMatch(/index;dur=/);
  });

  it("search (key), hybrid: the keyword half overlaps the embedding, the vector half waits for it", async () => {
    const ai = env.TEST_AI as unknown as { parked(token: string): Promise<boolean>; release(token: string): Promise<void> };
    const token = crypto.randomUUID().replaceAll("-", "");
    counted.reset();
    // The Workers AI double parks this query's embedding until released.
    const pending = counted.fetch(`/v1/collections/${col}/search`, {
      method: "POST",
      headers: { "X-API-Key": key },
      json: { query: `When are expenses reimbursed? __hold_${token}__`, top_k: 3 },
    });
    try {
      await vi.waitFor(async () => expect(await ai.parked(token)).toBe(true), { timeout: 30_000, interval: 10 });
      // With the embedding still parked, the keyword call has been made and Vectorize not yet asked.
      await vi.waitFor(() => expect(counted.counts.collectionDO).toBe(1), { timeout: 30_000, interval: 10 });
      expect(await ai.parked(token)).toBe(true);
      expect(counted.counts).toMatchObject({ aiEmbed: 1, vectorizeQuery: 0, collectionDO: 1 });
    } finally {
      await ai.release(token);
    }
    const res = await pending;
    expect(res.status).toBe(200);
    expect((await body(res)).results[0].document_name).toBe("expenses.md");
    expect(counted.counts).toMatchObject({
      collectionDO: 2,
      aiEmbed: 1,
      aiOther: 0,
      vectorizeQuery: 1,
      vectorizeOther: 0,
      d1: 0,
      r2: 0,
      cache: 0,
    });
  });

  it("cached first-turn chat (key), isolate hit: no round trip but the key guard's", async () => {
    const ask = chat("Are dogs allowed on Fridays?", { "X-API-Key": key });
    expect((await ask()).headers.get("X-Cache")).toBe("MISS");
    const { res, counts } = await steady("cached chat, isolate hit (key)", ask);
    expect(res.headers.get("X-Cache")).toBe("HIT-ISOLATE");
    expect(counts).toMatchObject({
      d1: 0,
      collectionDO: 0,
      sessionDO: 0,
      guardDO: 1,
      cache: 0,
      aiEmbed: 0,
      aiOther: 0,
      vectorizeQuery: 0,
      r2: 0,
      kvWrites: 0,
    });
    expect(counts.kvReads).toBeLessThanOrEqual(1);
  });

  it("cached first-turn chat (key), local hit: no collection index, no AI, no Vectorize, one Cache API call, no KV read for the cache", async () => {
    const ask = chat("Are dogs allowed in the office?", { "X-API-Key": key });
    expect((await ask()).headers.get("X-Cache")).toBe("MISS");
    // Without this isolate's copy, the Cache API answers.
    const { res, counts } = await steady("cached chat, local hit (key)", async () => {
      isolateAnswers.clear();
      return ask();
    });
    expect(res.headers.get("X-Cache")).toBe("HIT-LOCAL");
    expect(counts).toMatchObject({
      collectionDO: 0,
      sessionDO: 0,
      cache: 1,
      aiEmbed: 0,
      aiOther: 0,
      vectorizeQuery: 0,
      vectorizeOther: 0,
      r2: 0,
      kvWrites: 0,
    });
    // The key lookup is the only KV read: the collection version comes from the isolate (or its KV mirror).
    expect(counts.kvReads).toBeLessThanOrEqual(1);
    expect(counts.d1).toBe(0);
    expect(counts.guardDO).toBe(1);
  });

  it("cached first-turn chat (key), global hit: exactly one KV read for the cache, local tier refilled", async () => {
    const question = "When does the office open?";
    const ask = chat(question, { "X-API-Key": key });
    expect((await ask()).headers.get("X-Cache")).toBe("MISS");
    const { answerKey } = await import("../src/chat/answer-cache");
    const row = await env.DB.prepare("SELECT id, version FROM collections WHERE id = ?").bind(col).first<{ id: string; version: number }>();
    const k = await answerKey(row as { id: string; version: number }, question, "workers-ai:@cf/meta/llama-3.3-70b-instruct-fp8-fast", {
      top_k: 5,
    });
    const clearLocal = async () => {
      expect(await caches.default.delete(k.url)).toBe(true);
      isolateAnswers.clear();
    };
    await clearLocal();
    expect((await ask()).headers.get("X-Cache")).toBe("HIT-GLOBAL"); // warm-up of the same kind
    await clearLocal();
    counted.reset();
    const res = await ask();
    const counts = { ...counted.counts };
    console.log(JSON.stringify({ budget: "cached chat, global hit (key)", counts }));
    expect(res.headers.get("X-Cache")).toBe("HIT-GLOBAL");
    // match (miss) + refill put.
    expect(counts).toMatchObject({ collectionDO: 0, cache: 2, aiEmbed: 0, aiOther: 0, vectorizeQuery: 0, kvWrites: 0 });
    expect(counts.kvReads).toBeLessThanOrEqual(2); // key lookup + exactly one cache read
    expect(counts.kvReads).toBeGreaterThanOrEqual(1);
    expect(counts.d1).toBe(0);
    expect(counts.guardDO).toBe(1);
  });

  it("uncached chat (key): two index calls (the halves of hybrid search), embed + query + answer, Cache API match + put, one KV read and one write for the cache", async () => {
    let n = 0;
    const { res, counts } = await steady("uncached chat (key)", () =>
      chat(`What about the expenses policy, case ${n++}?`, { "X-API-Key": key })(),
    );
    expect(res.headers.get("X-Cache")).toBe("MISS");
    expect(counts).toMatchObject({
      collectionDO: 2,
      sessionDO: 0,
      cache: 2,
      aiEmbed: 1,
      aiOther: 1,
      vectorizeQuery: 1,
      vectorizeOther: 0,
      r2: 0,
    });
    expect(counts.d1).toBe(0);
    expect(counts.guardDO).toBe(1);
    expect(counts.kvWrites).toBe(1); // the global tier's write, in waitUntil (a language model's answer: on the first miss)
    expect(counts.kvReads).toBeLessThanOrEqual(2); // key lookup + the global tier's read
  });

  it("where this isolate's probe found the Cache API inert (workers.dev), a turn skips it: no Cache API call on a miss or a hit", async () => {
    const saved = localTier.probe;
    localTier.probe = { at: Date.now(), functional: false };
    try {
      let n = 0;
      const { res, counts } = await steady("uncached chat, Cache API inert (key)", () =>
        chat(`Expenses when the Cache API is inert, case ${n++}?`, { "X-API-Key": key })(),
      );
      expect(res.headers.get("X-Cache")).toBe("MISS");
      expect(counts).toMatchObject({ cache: 0, collectionDO: 2, aiOther: 1, kvWrites: 1, guardDO: 1, d1: 0 });
      const ask = chat("Are dogs allowed when the Cache API is inert?", { "X-API-Key": key });
      expect((await ask()).headers.get("X-Cache")).toBe("MISS");
      isolateAnswers.clear();
      counted.reset();
      const hit = await ask();
      expect(hit.headers.get("X-Cache")).toBe("HIT-GLOBAL"); // straight to KV, no Cache API match or refill
      expect(counted.counts).toMatchObject({ cache: 0, collectionDO: 0, aiOther: 0, kvWrites: 0 });
    } finally {
      localTier.probe = saved;
    }
  });

  it("session turn (JWT): one session read and one append, two index calls, no KV", async () => {
    const session = await startChat(key);
    const auth = { Authorization: `Bearer ${session.jwt_token}` };
    let n = 0;
    // First turns of new sessions are what the cache sees; measure a fresh question in a fresh session.
    const fresh = async () => {
      const s = n === 0 ? session : await startChat(key);
      return counted.fetch("/v1/chat", {
        method: "POST",
        headers: { Authorization: `Bearer ${s.jwt_token}` },
        json: { query: `Dogs on Fridays, question ${n++}?` },
      });
    };
    const { res, counts } = await steady("session first turn (JWT)", fresh);
    expect(res.headers.get("X-Cache")).toBe("MISS");
    expect(counts.d1).toBe(0);
    expect(counts.guardDO).toBe(1);
    expect(counts.sessionDO).toBeLessThanOrEqual(2);
    expect(counts).toMatchObject({ collectionDO: 2, cache: 2, aiEmbed: 1, aiOther: 1, vectorizeQuery: 1 });
    // Session auth reads no KV; the only KV traffic is the answer cache's, which issue 14 adds to
    // every uncached first turn: one read of the global tier and its write (in waitUntil).
    expect(counts.kvReads).toBe(1);
    expect(counts.kvWrites).toBe(1);

    // A follow-up in the same session bypasses the cache; the Workers AI answerer also rewrites the
    // question into a standalone one (one more AI call than a first turn).
    counted.reset();
    const follow = await counted.fetch("/v1/chat", { method: "POST", headers: auth, json: { query: "And on Mondays?" } });
    expect(follow.status).toBe(200);
    expect(follow.headers.get("X-Cache")).toBe("BYPASS");
    const f = { ...counted.counts };
    expect(f).toMatchObject({
      sessionDO: 2,
      collectionDO: 2,
      cache: 0,
      kvReads: 0,
      kvWrites: 0,
      aiEmbed: 1,
      aiOther: 2,
      vectorizeQuery: 1,
    });
    expect(f.d1).toBe(0);
    expect(f.guardDO).toBe(1);
    console.log(JSON.stringify({ budget: "session follow-up", counts: f }));
  });

  it("/api/chat turn (original, raw JWT): one session open and one append, two index calls, the cache's KV read and write", async () => {
    const k = (await tempKey(col)).temp_api_key;
    let n = 0;
    const fresh = async () => {
      const s = await startChat(k);
      return counted.fetch("/api/chat", {
        method: "POST",
        headers: { Authorization: s.jwt_token },
        json: { query: `Expenses, question ${n++}?` },
      });
    };
    const { res, counts } = await steady("/api/chat first turn (JWT)", fresh);
    expect(res.headers.get("X-Cache")).toBe("MISS");
    expect(counts).toMatchObject({
      d1: 0,
      guardDO: 1,
      sessionDO: 2,
      collectionDO: 2,
      cache: 2,
      aiEmbed: 1,
      aiOther: 1,
      vectorizeQuery: 1,
      r2: 0,
    });
    expect(counts.kvReads).toBe(1);
    expect(counts.kvWrites).toBe(1);
  });

  it("a key bound to a filter costs what an unbound key does: search and a cached chat turn add no round trip", async () => {
    const bound = (await tempKey(col, { filter: { type: "ne", key: "lang", value: "xx" } })).temp_api_key;
    const { res, counts } = await steady("search (bound key)", () =>
      counted.fetch(`/v1/collections/${col}/search`, {
        method: "POST",
        headers: { "X-API-Key": bound },
        json: { query: "When are expenses reimbursed?", top_k: 3 },
      }),
    );
    expect((await body(res)).results[0].document_name).toBe("expenses.md");
    expect(counts).toMatchObject({ d1: 0, collectionDO: 2, sessionDO: 0, guardDO: 1, cache: 0, aiEmbed: 1, vectorizeQuery: 1, r2: 0 });
    expect(counts.kvReads + counts.kvWrites).toBeLessThanOrEqual(1);

    const ask = chat("Are dogs allowed in the office on Fridays?", { "X-API-Key": bound });
    expect((await ask()).headers.get("X-Cache")).toBe("MISS");
    const cached = await steady("cached chat, isolate hit (bound key)", ask);
    expect(cached.res.headers.get("X-Cache")).toBe("HIT-ISOLATE");
    expect(cached.counts).toMatchObject({
      d1: 0,
      collectionDO: 0,
      cache: 0,
      aiEmbed: 0,
      aiOther: 0,
      vectorizeQuery: 0,
      kvWrites: 0,
      guardDO: 1,
    });
    expect(cached.counts.kvReads).toBeLessThanOrEqual(1);
  });
});

describe("the key guard overlaps the read-only steps (overlapGuard), and a refusal has no side effects", () => {
  /**
   * The KEY_GUARD binding with every `hit` held until `release()`: what the request does meanwhile
   * is what overlaps the guard's call. `started` resolves once the guard has been called.
   */
  function holdGuard() {
    const real = counted.env.KEY_GUARD;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let started!: () => void;
    const called = new Promise<void>((r) => {
      started = r;
    });
    counted.env.KEY_GUARD = new Proxy(real, {
      get(t, prop) {
        const value = Reflect.get(t, prop) as unknown;
        if (prop !== "getByName" && prop !== "get") return typeof value === "function" ? (value as Fn).bind(t) : value;
        return (...args: unknown[]) => {
          const stub = (value as Fn).apply(t, args) as Record<string, Fn>;
          return new Proxy(stub, {
            get(st, p) {
              if (p !== "hit") return Reflect.get(st, p);
              return async (...a: unknown[]) => {
                started();
                await gate;
                return st.hit(...a);
              };
            },
          });
        };
      },
    });
    const restore = () => {
      counted.env.KEY_GUARD = real;
    };
    return { release, called, restore };
  }
  type Fn = (...args: unknown[]) => unknown;

  /** A fresh key of `col` whose per-minute budget is spent (one direct charge of the whole limit). */
  async function spentKey(extra: Record<string, unknown> = {}): Promise<{ key: string; id: string }> {
    const k = await tempKey(col, extra);
    const limit = parseSettings(env).RATE_LIMIT_KEY_PER_MINUTE;
    const r = await env.KEY_GUARD.getByName(guardName.key(k.key_id)).hit([{ name: "key", limit, period: 60 }], limit);
    expect(r.allowed).toBe(true);
    return { key: k.temp_api_key, id: k.key_id };
  }

  /** Resolves once `cond` holds, checking after each turn of the event loop (bounded, not timed). */
  async function until(cond: () => boolean): Promise<void> {
    for (let i = 0; i < 10_000 && !cond(); i++) await new Promise((r) => setTimeout(r, 0));
    expect(cond()).toBe(true);
  }

  it("chat (key): the answer-cache look-up runs while the guard is held; over the limit → 429, nothing written, nothing answered", async () => {
    const { key: spent } = await spentKey();
    const held = holdGuard();
    try {
      counted.reset();
      const pending = counted.fetch("/v1/chat", {
        method: "POST",
        headers: { "X-API-Key": spent },
        json: { query: "Held question one?", collection_id: col },
      });
      await held.called;
      // The collection look-up (isolate) and the answer cache's local look-up ran alongside the held guard…
      await until(() => counted.counts.cache >= 1);
      // …and nothing costly did.
      expect(counted.counts).toMatchObject({ collectionDO: 0, aiEmbed: 0, aiOther: 0, vectorizeQuery: 0, kvWrites: 0, d1: 0 });
      held.release();
      const res = await pending;
      expect(res.status).toBe(429);
      expect((await body(res)).error.code).toBe("rate_limited");
      // One look-up in each cache tier at most (a miss), no write anywhere, no retrieval, no answer.
      expect(counted.counts).toMatchObject({
        collectionDO: 0,
        aiEmbed: 0,
        aiOther: 0,
        vectorizeQuery: 0,
        kvWrites: 0,
        d1: 0,
        r2: 0,
        guardDO: 1,
      });
      expect(counted.counts.cache).toBe(1);
    } finally {
      held.restore();
    }
  });

  it("search (key): over the limit → 429 with no index call; a revoked key (guard says so) → 401", async () => {
    const { key: spent } = await spentKey();
    const search = (k: string, id = col) =>
      counted.fetch(`/v1/collections/${id}/search`, { method: "POST", headers: { "X-API-Key": k }, json: { query: "expenses", top_k: 3 } });
    const held = holdGuard();
    try {
      counted.reset();
      const pending = search(spent);
      await held.called;
      expect(counted.counts).toMatchObject({ collectionDO: 0, aiEmbed: 0, vectorizeQuery: 0 });
      held.release();
      const res = await pending;
      expect(res.status).toBe(429);
      expect(counted.counts).toMatchObject({ collectionDO: 0, aiEmbed: 0, vectorizeQuery: 0, kvWrites: 0, d1: 0, cache: 0 });
    } finally {
      held.restore();
    }

    // Revoked in the key's own object while KV and this isolate still know the key.
    const live = await tempKey(col);
    expect((await search(live.temp_api_key)).status).toBe(200);
    await env.KEY_GUARD.getByName(guardName.key(live.key_id)).revoke();
    const held2 = holdGuard();
    try {
      counted.reset();
      const pending = search(live.temp_api_key);
      await held2.called;
      held2.release();
      const res = await pending;
      expect(res.status).toBe(401);
      expect((await body(res)).error.code).toBe("invalid_api_key");
      expect(counted.counts).toMatchObject({ collectionDO: 0, aiEmbed: 0, vectorizeQuery: 0, kvWrites: 0 });
    } finally {
      held2.restore();
    }
  });

  it("a refused key learns nothing about collections: 429 comes before 404 (search and chat), and the same request allowed is 404", async () => {
    const { key: spent } = await spentKey();
    const missing = "col_does_not_exist";
    const held = holdGuard();
    try {
      const s = counted.fetch(`/v1/collections/${missing}/search`, {
        method: "POST",
        headers: { "X-API-Key": spent },
        json: { query: "x" },
      });
      const ch = counted.fetch("/v1/chat", {
        method: "POST",
        headers: { "X-API-Key": spent },
        json: { query: "x", collection_id: missing },
      });
      await held.called;
      held.release();
      expect((await s).status).toBe(429);
      expect((await ch).status).toBe(429);
    } finally {
      held.restore();
    }
    const fresh = (await tempKey(col)).temp_api_key;
    const s2 = await counted.fetch(`/v1/collections/${missing}/search`, {
      method: "POST",
      headers: { "X-API-Key": fresh },
      json: { query: "x" },
    });
    expect(s2.status).toBe(404);
  });

  it("/api/chat (session of a spent key): the session is opened alongside the guard; 429, and the session's history is unchanged", async () => {
    const k = await tempKey(col);
    const session = await startChat(k.temp_api_key);
    const limit = parseSettings(env).RATE_LIMIT_KEY_PER_MINUTE;
    const spend = await env.KEY_GUARD.getByName(guardName.key(k.key_id)).hit([{ name: "key", limit, period: 60 }], limit);
    expect(spend.allowed).toBe(false); // start_chat spent some: spend what is left instead
    const left = spend.buckets[0].remaining;
    expect((await env.KEY_GUARD.getByName(guardName.key(k.key_id)).hit([{ name: "key", limit, period: 60 }], left)).allowed).toBe(true);
    const held = holdGuard();
    try {
      counted.reset();
      const pending = counted.fetch("/api/chat", {
        method: "POST",
        headers: { Authorization: session.jwt_token },
        json: { query: "Dogs?" },
      });
      await held.called;
      await until(() => counted.counts.sessionDO >= 1); // the session's open overlaps the guard
      held.release();
      const res = await pending;
      expect(res.status).toBe(429);
      expect(counted.counts).toMatchObject({ sessionDO: 1, collectionDO: 0, aiEmbed: 0, aiOther: 0, kvWrites: 0, d1: 0 });
      expect(await env.CHAT_SESSION.getByName(session.session_id).messages()).toEqual([]);
    } finally {
      held.restore();
    }
  });
});

describe("round-trip budget: a sharded collection's search (S shards: 2·S index calls)", () => {
  for (const shards of [2, 3]) {
    it(`${shards} shards: ${2 * shards} collection-index calls (statistics, then candidates, per shard), one embed, one Vectorize query`, async () => {
      const c = countedEnv("cloudflare");
      const made = await body(
        await c.fetch("/v1/collections", { method: "POST", headers: master(), json: { name: "budget-shards", shards } }),
      );
      expect(made.shards).toBe(shards);
      const queue = recordingQueue();
      c.env.INGEST_QUEUE = queue.binding;
      const up = await c.fetch(`/v1/collections/${made.id}/documents`, { method: "POST", headers: master(), json: { documents: DOCS } });
      expect(up.status).toBe(202);
      expect((await queue.deliver(c.env)).acked).toHaveLength(DOCS.length);
      const k = (await tempKey(made.id)).temp_api_key;
      for (const [mode, ai] of [
        ["hybrid", 1],
        ["keyword", 0],
      ] as const) {
        const request = () =>
          c.fetch(`/v1/collections/${made.id}/search`, {
            method: "POST",
            headers: { "X-API-Key": k },
            json: { query: "When are expenses reimbursed?", top_k: 3, mode },
          });
        expect((await request()).status).toBe(200);
        c.reset();
        const res = await request();
        expect(res.status).toBe(200);
        expect((await body(res)).results[0].document_name).toBe("expenses.md");
        const counts = { ...c.counts };
        console.log(JSON.stringify({ budget: `search (key), ${shards} shards, ${mode}`, counts }));
        expect(counts).toMatchObject({
          collectionDO: 2 * shards,
          sessionDO: 0,
          cache: 0,
          aiEmbed: ai,
          aiOther: 0,
          vectorizeQuery: ai,
          vectorizeOther: 0,
          r2: 0,
          d1: 0,
        });
        expect(counts.guardDO).toBe(1);
        expect(counts.kvReads + counts.kvWrites).toBeLessThanOrEqual(1);
      }
    });
  }
});

describe("round-trip budget: webhook delivery (one queue message)", () => {
  it("one attempt: two D1 round trips (endpoint + idempotency record, then the log), one outbound fetch, nothing else", async () => {
    const c = countedEnv("local");
    const sent: unknown[] = [];
    c.env.INGEST_QUEUE = {
      async send(b: unknown) {
        sent.push(b);
      },
      async sendBatch(ms: Iterable<{ body: unknown }>) {
        for (const m of ms) sent.push(m.body);
      },
    } as unknown as Queue;
    const col = (await body(await c.fetch("/v1/collections", { method: "POST", headers: master(), json: { name: "budget-hooks" } }))).id;
    const hook = await c.fetch(`/v1/collections/${col}/webhooks`, {
      method: "POST",
      headers: master(),
      json: { url: "https://hooks.example.com/budget", events: ["document.ready"] },
    });
    expect(hook.status).toBe(201);
    await c.fetch(`/v1/collections/${col}/documents`, {
      method: "POST",
      headers: master(),
      json: { documents: [{ name: "b.md", text: "Budget." }] },
    });
    await runQueue(
      "docchat-ingest",
      sent.splice(0).map((b, i) => ({ id: `i${i}`, body: b })),
      c.env,
    );
    expect(sent).toHaveLength(1); // the document.ready delivery
    const fetches = vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response(null, { status: 204 }));
    try {
      c.reset();
      await runQueue(
        "docchat-ingest",
        sent.splice(0).map((b, i) => ({ id: `w${i}`, body: b })),
        c.env,
      );
      const counts = { ...c.counts };
      console.log(JSON.stringify({ budget: "webhook delivery", counts, fetches: fetches.mock.calls.length }));
      expect(fetches).toHaveBeenCalledTimes(1);
      expect(counts).toMatchObject({ d1: 2, kvReads: 0, kvWrites: 0, collectionDO: 0, sessionDO: 0, guardDO: 0, r2: 0, cache: 0 });
      expect(sent).toHaveLength(0); // succeeded: nothing queued again
    } finally {
      fetches.mockRestore();
    }
  });
});
