import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ExtractiveAnswerer } from "../src/chat/answer/extractive";
import { AnswerCache, answerKey, GLOBAL_MARK, IsolateTier, isolateAnswers, probeCache, utf8Over } from "../src/chat/answer-cache";
import { parseSettings } from "../src/config";
import { type ChatAnswer, chatAnswerJson, chatResponseJson } from "../src/chat/service";
import { BASE, body, call, createCollection, type Json, master, startChat, tempKey, uploadTexts, waitForDocument } from "./helpers";

const DOCS = [
  { name: "hours.md", text: "# Opening hours\n\nThe Porto office opens at 8am and closes at 4pm on weekdays." },
  { name: "pets.md", text: "# Pets\n\nDogs are allowed in the office on Fridays if they are vaccinated. Cats must stay at home." },
];

async function seeded(extra: { name: string; text: string }[] = []): Promise<string> {
  const col = await createCollection("answer-cache");
  const up = await uploadTexts(col, [...DOCS, ...extra]);
  for (const d of up.documents) expect((await waitForDocument(col, d.id)).status).toBe("ready");
  return col;
}

const QUESTION = "Are dogs allowed in the office?";

/** The keys the chat route uses for this question (extractive answerer, top_k 5). */
async function keysOf(col: string) {
  const row = await env.DB.prepare("SELECT id, version FROM collections WHERE id = ?").bind(col).first<{ id: string; version: number }>();
  if (!row) throw new Error("no collection");
  return answerKey(row, QUESTION, `extractive:${new ExtractiveAnswerer().model}`, { top_k: 5 });
}

const ask = (col: string, headers: Record<string, string> = master(), envOverride?: Partial<Env>, query = QUESTION) =>
  call("/v1/chat", { method: "POST", headers, json: { query, collection_id: col } }, envOverride);

describe("utf8Over: the cap on a cached answer's UTF-8 bytes, decided from the length where it can be", () => {
  it("agrees with TextEncoder on ASCII, two-, three- and four-byte text around the cap", () => {
    const samples = ["a", "é", "€", "😀", "a€", "é😀"];
    for (const unit of samples)
      for (let n = 0; n <= 40; n++) {
        const text = unit.repeat(n);
        const bytes = new TextEncoder().encode(text).byteLength;
        for (const max of [0, 1, 7, 20, 30, 33, 60, 100, 160])
          expect(utf8Over(text, max), `${JSON.stringify(unit)}×${n}, max ${max}`).toBe(bytes > max);
      }
  });
});

describe("tiered answer cache (isolate, Cache API, then KV)", () => {
  it("miss, then an isolate hit, a local hit without it; with the local tier cleared, a global hit that refills both", async () => {
    const col = await seeded();
    const key = (await tempKey(col)).temp_api_key;
    const headers = { "X-API-Key": key };
    // `call` with an env runs the worker with a real execution context and waits for its waitUntil work.
    const first = await ask(col, headers, {});
    expect(first.headers.get("X-Cache")).toBe("MISS");
    const answer = await body(first);
    const keys = await keysOf(col);
    // The miss wrote the Cache API in waitUntil, unmarked; KV only once the question comes back.
    const written = await caches.default.match(keys.url);
    expect(written).toBeTruthy();
    expect(written?.headers.get(GLOBAL_MARK)).toBeNull();
    expect(await env.API_KEYS.get(keys.kv)).toBeNull();

    const second = await ask(col, headers, {});
    expect(second.headers.get("X-Cache")).toBe("HIT-ISOLATE");
    expect(await body(second)).toEqual(answer);
    // Asked again: KV written, and the Cache API entry marked as held by KV.
    expect(JSON.parse((await env.API_KEYS.get(keys.kv)) as string).answer).toBe(answer.answer);
    expect((await caches.default.match(keys.url))?.headers.get(GLOBAL_MARK)).toBe("1");
    isolateAnswers.clear();
    const local = await ask(col, headers, {});
    expect(local.headers.get("X-Cache")).toBe("HIT-LOCAL");
    expect(await body(local)).toEqual(answer);
    // The local hit refilled the isolate tier.
    expect((await ask(col, headers, {})).headers.get("X-Cache")).toBe("HIT-ISOLATE");

    expect(await caches.default.delete(keys.url)).toBe(true);
    isolateAnswers.clear();
    const third = await ask(col, headers, {});
    expect(third.headers.get("X-Cache")).toBe("HIT-GLOBAL");
    expect(await body(third)).toEqual(answer);
    // The global hit refilled the local tier and the isolate's.
    expect(await caches.default.match(keys.url)).toBeTruthy();
    expect((await ask(col, headers, {})).headers.get("X-Cache")).toBe("HIT-ISOLATE");
    isolateAnswers.clear();
    expect((await ask(col, headers, {})).headers.get("X-Cache")).toBe("HIT-LOCAL");
  });

  it("a new collection version misses both tiers", async () => {
    const col = await seeded();
    expect((await ask(col, master(), {})).headers.get("X-Cache")).toBe("MISS");
    expect((await ask(col, master(), {})).headers.get("X-Cache")).toBe("HIT-ISOLATE");
    const before = await keysOf(col);
    const up = await uploadTexts(col, [{ name: "dogs.md", text: "Update: dogs are now welcome every day of the week." }]);
    await waitForDocument(col, up.documents[0].id);
    const after = await keysOf(col);
    expect(after.kv).not.toBe(before.kv);
    const res = await ask(col, master(), {});
    expect(res.headers.get("X-Cache")).toBe("MISS");
    // The old entries still exist (until their TTL) but are unreachable under the new version.
    expect(await env.API_KEYS.get(before.kv)).not.toBeNull();
  });

  it("answers larger than ANSWER_CACHE_MAX_BYTES are not cached in either tier", async () => {
    const long = Array.from({ length: 12 }, (_, i) => `Dogs in the office, rule ${i}: dogs are allowed in meeting room ${i} when quiet.`);
    const col = await seeded([{ name: "dog-rules.md", text: `# Dog rules\n\n${long.join(" ")}` }]);
    const small = { ...env, ANSWER_CACHE_MAX_BYTES: "1024" } as unknown as Partial<Env>;
    const first = await ask(col, master(), small);
    expect(first.headers.get("X-Cache")).toBe("MISS");
    expect(JSON.stringify(await body(first)).length).toBeGreaterThan(1024);
    const keys = await keysOf(col);
    expect(await caches.default.match(keys.url)).toBeUndefined();
    expect(await env.API_KEYS.get(keys.kv)).toBeNull();
    expect((await ask(col, master(), small)).headers.get("X-Cache")).toBe("MISS");
  });

  it("a session's first turn may be cached; its follow-up bypasses the cache", async () => {
    const col = await seeded();
    const session = await startChat((await tempKey(col)).temp_api_key);
    const auth = { Authorization: `Bearer ${session.jwt_token}` };
    const first = await call("/v1/chat", { method: "POST", headers: auth, json: { query: QUESTION } }, {});
    expect(first.headers.get("X-Cache")).toBe("MISS");
    const follow = await call("/v1/chat", { method: "POST", headers: auth, json: { query: "And cats?" } }, {});
    expect(follow.headers.get("X-Cache")).toBe("BYPASS");
    expect(((await body(follow)) as Json).session_id).toBe(session.session_id);
    // The original's /api/chat shares the cache: a new session's first turn is a hit (this isolate's).
    const other = await startChat((await tempKey(col)).temp_api_key);
    const legacy = await call(
      "/api/chat",
      { method: "POST", headers: { Authorization: other.jwt_token }, json: { query: QUESTION, url: other.url } },
      {},
    );
    expect(legacy.status).toBe(200);
    expect(legacy.headers.get("X-Cache")).toBe("HIT-ISOLATE");
  });

  it("X-Answer-Cache: global-only skips the local tier for the master key only", async () => {
    const col = await seeded();
    const key = (await tempKey(col)).temp_api_key;
    expect((await ask(col, master(), {})).headers.get("X-Cache")).toBe("MISS");
    // Asked a second time, so KV holds it.
    expect((await ask(col, master(), {})).headers.get("X-Cache")).toBe("HIT-ISOLATE");
    const globalOnly = { ...master(), "X-Answer-Cache": "global-only" };
    expect((await ask(col, globalOnly, {})).headers.get("X-Cache")).toBe("HIT-GLOBAL");
    // The global hit filled the upper tiers; a key's diagnostic header is ignored.
    expect((await ask(col, { "X-API-Key": key, "X-Answer-Cache": "global-only" }, {})).headers.get("X-Cache")).toBe("HIT-ISOLATE");
    isolateAnswers.clear();
    expect((await ask(col, { "X-API-Key": key, "X-Answer-Cache": "global-only" }, {})).headers.get("X-Cache")).toBe("HIT-LOCAL");
  });

  it("the isolate tier follows the collection's version: a document deleted or re-indexed makes its entries unreachable", async () => {
    const col = await seeded([{ name: "extra.md", text: "Parking spaces are assigned on the first floor." }]);
    const docs = await body(await call(`/v1/collections/${col}/documents`, { headers: master() }));
    const extra = docs.documents.find((d: Json) => d.name === "extra.md");
    const hours = docs.documents.find((d: Json) => d.name === "hours.md");
    expect((await ask(col, master(), {})).headers.get("X-Cache")).toBe("MISS");
    expect((await ask(col, master(), {})).headers.get("X-Cache")).toBe("HIT-ISOLATE");
    const v1 = await keysOf(col);
    expect((await call(`/v1/collections/${col}/documents/${extra.id}`, { method: "DELETE", headers: master() })).status).toBe(200);
    expect((await keysOf(col)).url).not.toBe(v1.url);
    expect((await ask(col, master(), {})).headers.get("X-Cache")).toBe("MISS");
    expect((await ask(col, master(), {})).headers.get("X-Cache")).toBe("HIT-ISOLATE");
    const v2 = await keysOf(col);
    const re = await call(`/v1/collections/${col}/documents/${hours.id}/reindex`, { method: "POST", headers: master() });
    expect(re.status).toBe(202);
    expect((await waitForDocument(col, hours.id)).status).toBe("ready");
    expect((await keysOf(col)).url).not.toBe(v2.url);
    expect((await ask(col, master(), {})).headers.get("X-Cache")).toBe("MISS");
  });

  it("the isolate tier keeps keys bound to different filters apart: each its own entry, never the other's", async () => {
    const col = await createCollection("answer-cache-bound");
    const up = await uploadTexts(col, [
      { name: "en.md", text: "Dogs are allowed in the office on Fridays.", metadata: { lang: "en" } },
      { name: "pt.md", text: "Dogs are allowed in the office on Mondays.", metadata: { lang: "pt" } },
    ]);
    for (const d of up.documents) expect((await waitForDocument(col, d.id)).status).toBe("ready");
    const en = (await tempKey(col, { filter: { type: "eq", key: "lang", value: "en" } })).temp_api_key;
    const pt = (await tempKey(col, { filter: { type: "eq", key: "lang", value: "pt" } })).temp_api_key;
    const enFirst = await ask(col, { "X-API-Key": en }, {});
    expect(enFirst.headers.get("X-Cache")).toBe("MISS");
    const ptFirst = await ask(col, { "X-API-Key": pt }, {});
    expect(ptFirst.headers.get("X-Cache")).toBe("MISS");
    const enAgain = await ask(col, { "X-API-Key": en }, {});
    const ptAgain = await ask(col, { "X-API-Key": pt }, {});
    expect([enAgain.headers.get("X-Cache"), ptAgain.headers.get("X-Cache")]).toEqual(["HIT-ISOLATE", "HIT-ISOLATE"]);
    const names = async (r: Response) => ((await body(r)).sources as Json[]).map((s) => s.document_name);
    expect(await names(enAgain)).toEqual(["en.md"]);
    expect(await names(ptAgain)).toEqual(["pt.md"]);
  });

  it("the isolate tier class: least recently used out past its bytes, entries expire with the TTL", async () => {
    const tier = new IsolateTier(100); // 50 UTF-16 characters
    tier.set("a", "x".repeat(20), 60);
    tier.set("b", "y".repeat(20), 60);
    expect(tier.get("a")).toBe("x".repeat(20)); // a is now the most recently used
    tier.set("c", "z".repeat(20), 60); // over 100 bytes: b goes
    expect([tier.get("a"), tier.get("b"), tier.get("c")]).toEqual(["x".repeat(20), null, "z".repeat(20)]);
    expect(tier.size).toEqual({ entries: 2, bytes: 80 });
    tier.set("big", "w".repeat(51), 60); // larger than the whole tier: not kept, nothing evicted
    expect(tier.get("big")).toBeNull();
    expect(tier.size.entries).toBe(2);
    tier.set("gone", "v", 0); // a zero TTL has expired at once
    expect(tier.get("gone")).toBeNull();
  });

  it("the cache class: tiers in order, cap enforced, unreadable entries are misses", async () => {
    const settings = { ...parseSettings(env), ANSWER_CACHE_MAX_BYTES: 2048 };
    const local = await caches.open(`answers-${crypto.randomUUID()}`);
    const cache = new AnswerCache<{ text: string }>({ local, global: env.API_KEYS }, settings);
    const key = await answerKey({ id: `col_${crypto.randomUUID()}`, version: 3 }, "Q?", "extractive:v1", { top_k: 5 });
    const deferred: Promise<unknown>[] = [];
    const defer = (p: Promise<unknown>) => deferred.push(p);
    expect(await cache.get(key, defer)).toBeNull();
    expect(await cache.put(key, { text: "x".repeat(4096) })).toBe(false);
    expect(await cache.get(key, defer)).toBeNull();
    expect(await cache.put(key, { text: "fine" })).toBe(true);
    expect(await env.API_KEYS.get(key.kv)).toBeNull(); // a first miss writes no KV
    expect(await cache.get(key, defer)).toEqual({ value: { text: "fine" }, tier: "HIT-LOCAL" });
    await Promise.all(deferred); // the local hit wrote KV (the question came back)
    expect(await env.API_KEYS.get(key.kv)).toBe(JSON.stringify({ text: "fine" }));
    await local.delete(key.url);
    expect(await cache.get(key, defer)).toEqual({ value: { text: "fine" }, tier: "HIT-GLOBAL" });
    await Promise.all(deferred);
    expect(await cache.get(key, defer)).toEqual({ value: { text: "fine" }, tier: "HIT-LOCAL" });
    await local.put(key.url, new Response("not json"));
    expect(await cache.get(key, defer)).toEqual({ value: { text: "fine" }, tier: "HIT-GLOBAL" });
    // Normalised questions share a key; another version or answerer does not.
    const same = await answerKey({ id: "c", version: 1 }, "  Are DOGS   allowed? ", "a", {});
    expect(same).toEqual(await answerKey({ id: "c", version: 1 }, "are dogs allowed?", "a", {}));
    expect((await answerKey({ id: "c", version: 2 }, "are dogs allowed?", "a", {})).kv).not.toBe(same.kv);
    expect((await answerKey({ id: "c", version: 1 }, "are dogs allowed?", "b", {})).kv).not.toBe(same.kv);
  });

  it("KV is written when a question comes back, once: one-off extractive answers cost no KV write; a language model's miss writes it", async () => {
    const settings = parseSettings(env);
    const local = await caches.open(`answers-${crypto.randomUUID()}`);
    const isolate = new IsolateTier(1 << 20);
    const puts: string[] = [];
    const global = {
      get: (k: string, o: unknown) => env.API_KEYS.get(k, o as never),
      put: (k: string, v: string, o: unknown) => {
        puts.push(k);
        return env.API_KEYS.put(k, v, o as never);
      },
    } as unknown as KVNamespace;
    const cache = new AnswerCache<{ text: string }>({ isolate, local, global }, settings);
    const key = await answerKey({ id: `col_${crypto.randomUUID()}`, version: 1 }, "Q?", "extractive:v1", { top_k: 5 });
    const deferred: Promise<unknown>[] = [];
    const defer = (p: Promise<unknown>) => deferred.push(p);
    expect(await cache.put(key, { text: "once" })).toBe(true);
    expect(puts).toEqual([]);
    // Two isolate hits: the first writes KV and marks both entries, the second writes nothing.
    expect(await cache.get(key, defer)).toEqual({ value: { text: "once" }, tier: "HIT-ISOLATE" });
    expect(await cache.get(key, defer)).toEqual({ value: { text: "once" }, tier: "HIT-ISOLATE" });
    await Promise.all(deferred);
    expect(puts).toEqual([key.kv]);
    expect((await local.match(key.url))?.headers.get(GLOBAL_MARK)).toBe("1");
    // Another isolate of the data centre: its local hit sees the mark and writes nothing either.
    isolate.clear();
    expect(await cache.get(key, defer)).toEqual({ value: { text: "once" }, tier: "HIT-LOCAL" });
    expect(await cache.get(key, defer)).toEqual({ value: { text: "once" }, tier: "HIT-ISOLATE" });
    await Promise.all(deferred);
    expect(puts).toEqual([key.kv]);

    // A refused request (the guard's verdict rejects) writes nothing, not even on a returning question.
    const other = await answerKey({ id: `col_${crypto.randomUUID()}`, version: 1 }, "Q?", "extractive:v1", { top_k: 5 });
    expect(await cache.put(other, { text: "refused" })).toBe(true);
    const refused = Promise.reject(new Error("rate limited"));
    refused.catch(() => undefined);
    expect((await cache.get(other, defer, refused))?.tier).toBe("HIT-ISOLATE");
    await Promise.all(deferred);
    expect(puts).toEqual([key.kv]);

    // An answer costly to make again (a language model's, `globalOnMiss`): its miss writes KV at once, and marks the Cache API entry.
    const costly = new AnswerCache<{ text: string }>({ isolate: new IsolateTier(1 << 20), local, global, globalOnMiss: true }, settings);
    const fourth = await answerKey({ id: `col_${crypto.randomUUID()}`, version: 1 }, "Q?", "workers-ai:m", { top_k: 5 });
    expect(await costly.put(fourth, { text: "model" })).toBe(true);
    expect(puts).toEqual([key.kv, fourth.kv]);
    expect((await local.match(fourth.url))?.headers.get(GLOBAL_MARK)).toBe("1");
    expect(await costly.get(fourth, defer)).toEqual({ value: { text: "model" }, tier: "HIT-ISOLATE" });
    await Promise.all(deferred);
    expect(puts).toEqual([key.kv, fourth.kv]);
    puts.length = 0;

    // Without a local tier (Cache API inert, or global-only diagnostics) KV is the only shared tier: a miss writes it at once.
    const kvOnly = new AnswerCache<{ text: string }>({ isolate: new IsolateTier(1 << 20), local: null, global }, settings);
    const third = await answerKey({ id: `col_${crypto.randomUUID()}`, version: 1 }, "Q?", "extractive:v1", { top_k: 5 });
    expect(await kvOnly.put(third, { text: "kv" })).toBe(true);
    expect(puts).toEqual([third.kv]);
    expect(await kvOnly.get(third, defer)).toEqual({ value: { text: "kv" }, tier: "HIT-ISOLATE" });
    await Promise.all(deferred);
    expect(puts).toEqual([third.kv]);
  });

  it("a miss's cache write waits for a macrotask turn after the answer, and the question then hits", async () => {
    const col = await seeded();
    const mod = await import("../src/index");
    const { createExecutionContext, waitOnExecutionContext } = await import("cloudflare:test");
    const ctx = createExecutionContext();
    const query = "Are cats allowed in the office?";
    const req = new Request(`${BASE}/v1/chat`, {
      method: "POST",
      headers: { ...master(), "Content-Type": "application/json" },
      body: JSON.stringify({ query, collection_id: col }),
    });
    const res = await mod.default.fetch(req, env, ctx);
    expect(res.headers.get("X-Cache")).toBe("MISS");
    const row = await env.DB.prepare("SELECT id, version FROM collections WHERE id = ?").bind(col).first<{ id: string; version: number }>();
    const k = await answerKey(row as { id: string; version: number }, query, `extractive:${new ExtractiveAnswerer().model}`, { top_k: 5 });
    // The response is out before the answer was serialised for the cache.
    expect(isolateAnswers.get(k.url)).toBeNull();
    await waitOnExecutionContext(ctx);
    expect(isolateAnswers.get(k.url)).not.toBeNull();
    expect((await ask(col, master(), {}, query)).headers.get("X-Cache")).toBe("HIT-ISOLATE");
  });

  it("a miss serialises its answer once: the /v1/chat body and the cache entry share it, field for field", async () => {
    const col = await seeded();
    const query = "Must cats stay at home?";
    const res = await ask(col, master(), {}, query);
    expect(res.headers.get("X-Cache")).toBe("MISS");
    expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
    const text = await res.text();
    const sent = JSON.parse(text);
    expect(Object.keys(sent)).toEqual(["answer", "sources", "citations", "claims", "model", "usage", "session_id"]);
    expect(text).toBe(JSON.stringify(sent));
    const row = await env.DB.prepare("SELECT id, version FROM collections WHERE id = ?").bind(col).first<{ id: string; version: number }>();
    const k = await answerKey(row as { id: string; version: number }, query, `extractive:${new ExtractiveAnswerer().model}`, { top_k: 5 });
    const entry = await (await caches.default.match(k.url))?.text();
    const cached = JSON.parse(entry as string);
    expect(entry).toBe(JSON.stringify(cached));
    expect(Object.keys(cached)).toEqual(["answer", "sources", "citations", "claims", "model", "usage", "retrieval_query"]);
    const { session_id, ...answer } = sent;
    const { retrieval_query, ...stored } = cached;
    expect(stored).toEqual(answer);
    expect(session_id).toBeNull();
    expect(retrieval_query).toBe(query);
    expect(sent.claims.length).toBeGreaterThan(0);
    // A hit answers the same body.
    expect(await (await ask(col, master(), {}, query)).text()).toBe(text);
  });

  it("chatAnswerJson and chatResponseJson equal JSON.stringify of the same fields, escapes and all", () => {
    const a: ChatAnswer = {
      answer: 'He said "no" \\ [1]\u2028 – 犬',
      sources: [
        { n: 1, document_id: "d", document_name: 'a "b".md', chunk: 0, score: 0.5, text: "x\ny", page: null, heading: null, char_start: 3 },
      ],
      citations: [1],
      claims: [],
      model: "extractive-v5",
      usage: { prompt_tokens: 0, completion_tokens: 0 },
      retrieval_query: 'q "quoted" },"session_id":"x',
    };
    expect(chatAnswerJson(a)).toBe(JSON.stringify(a));
    const { retrieval_query: _q, ...rest } = a;
    expect(chatResponseJson(a, null)).toBe(JSON.stringify({ ...rest, session_id: null }));
    expect(chatResponseJson(a, 'sid"1')).toBe(JSON.stringify({ ...rest, session_id: 'sid"1' }));
  });

  it("/healthz tells the master key whether the local tier works (it does not on workers.dev)", async () => {
    const out = await body(await call("/healthz", { headers: master() }));
    expect(out.answer_cache).toEqual({ local_tier_functional: true, global_tier: "kv" });
    expect((await body(await call("/healthz"))).answer_cache).toBeUndefined();
    // A Cache API that takes writes and never matches, as on *.workers.dev, is not functional.
    const written: string[] = [];
    const inert = {
      put: async (url: string) => void written.push(url),
      match: async () => undefined,
      delete: async () => false,
    } as unknown as Cache;
    expect(await probeCache(inert)).toBe(false);
    expect(written).toHaveLength(1);
    expect(await probeCache(await caches.open(`probe-${crypto.randomUUID()}`))).toBe(true);
  });

  it("/healthz names a half-configured deployment to the master key (VECTORIZE without AI)", async () => {
    const half = { VECTORIZE: env.TEST_VECTORIZE } as Partial<Env>;
    const anon = await body(await call("/healthz", {}, half));
    expect(anon).toEqual({ status: "misconfigured" });
    const out = await body(await call("/healthz", { headers: master() }, half));
    expect(out.status).toBe("misconfigured");
    expect(out.providers).toBeNull();
    expect(out.misconfigured).toMatch(/VECTORIZE is bound but AI is not/);
  });
});
