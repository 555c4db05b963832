import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { body, call, createCollection, master, startChat, tempKey } from "./helpers";

const uniqueIp = () => `203.0.113.${Math.floor(Math.random() * 250)}-${crypto.randomUUID().slice(0, 8)}`;

/** A body stream that records how many bytes anyone pulled from it. */
function countingBody(totalBytes: number, chunk = 64 * 1024) {
  const state = { pulled: 0 };
  const piece = new Uint8Array(chunk).fill(0x61);
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulled >= totalBytes) return controller.close();
      state.pulled += piece.length;
      controller.enqueue(piece);
    },
  });
  return { stream, state };
}

describe("authentication before any body is read", () => {
  it("an unauthenticated search with {} is 401, not 400", async () => {
    const res = await call("/v1/collections/x/search", { method: "POST", json: {} });
    expect(res.status).toBe(401);
    expect((await body(res)).error.code).toBe("unauthorized");
  });

  it("a bad key with an invalid body is 401 on every body-carrying route", async () => {
    const bad = { "X-API-Key": "dck_not-a-real-key-not-a-real-key-not-a-real-key" };
    for (const [path, method] of [
      ["/v1/collections/x/search", "POST"],
      ["/v1/collections/x/documents", "POST"],
      ["/v1/collections/x/reindex", "POST"],
      ["/v1/chat", "POST"],
      ["/make_embedding", "POST"],
    ] as const) {
      const res = await call(path, { method, headers: bad, json: { nonsense: true } });
      expect(res.status, path).toBe(401);
      expect(JSON.stringify(await body(res))).toContain("invalid_api_key");
    }
    const wrongMaster = await call("/v1/collections", { method: "POST", headers: { "X-Master-API-Key": "nope" }, json: {} });
    expect(wrongMaster.status).toBe(401);
    expect((await body(wrongMaster)).error.code).toBe("invalid_master_key");
  });

  it("a 49 MB unauthenticated upload gets 401 with its body left unread", async () => {
    for (const path of ["/v1/collections/x/documents", "/make_embedding"]) {
      const total = 49 * 1024 * 1024;
      const { stream, state } = countingBody(total);
      const res = await call(path, {
        method: "POST",
        headers: { "Content-Type": "multipart/form-data; boundary=xyz" },
        body: stream,
        // @ts-expect-error: workerd needs no duplex, the DOM type asks for it
        duplex: "half",
      });
      expect(res.status, path).toBe(401);
      // A stream may be primed with a chunk or two; the 49 MB are never read.
      expect(state.pulled, path).toBeLessThan(1024 * 1024);
    }
  });

  it("the master key is accepted only in X-Master-API-Key", async () => {
    const col = await createCollection();
    const inKey = await call(`/v1/collections/${col}`, { headers: { "X-API-Key": env.MASTER_API_KEY } });
    expect(inKey.status).toBe(401);
    const inBearer = await call(`/v1/collections/${col}`, { headers: { Authorization: `Bearer ${env.MASTER_API_KEY}` } });
    expect(inBearer.status).toBe(401);
    const right = await call(`/v1/collections/${col}`, { headers: master() });
    expect(right.status).toBe(200);
    // The original's /api/start_chat still recognises it there to answer its 400.
    const legacy = await call("/api/start_chat", { method: "POST", headers: { "X-API-Key": env.MASTER_API_KEY } });
    expect(legacy.status).toBe(400);
  });
});

describe("rate limits", () => {
  it("per key: RateLimit headers count down, then 429 with Retry-After; chat costs more", async () => {
    const col = await createCollection();
    const key = await tempKey(col);
    const h = { "X-API-Key": key.temp_api_key };
    const tight = { RATE_LIMIT_KEY_PER_MINUTE: "12", RATE_COST_CHAT: "5" } as unknown as Partial<Env>;

    const first = await call(`/v1/collections/${col}`, { headers: h }, tight);
    expect(first.status).toBe(200);
    expect(first.headers.get("RateLimit-Policy")).toBe('"key";q=12;w=60');
    const rl = /^"key";r=(\d+);t=(\d+)$/.exec(first.headers.get("RateLimit") ?? "");
    expect(rl).not.toBeNull();
    expect(Number(rl?.[1])).toBe(11);
    expect(Number(rl?.[2])).toBeGreaterThan(0);
    expect(Number(rl?.[2])).toBeLessThanOrEqual(60);

    // A chat costs 5: 11 → 6 → 1.
    for (const left of [6, 1]) {
      const r = await call("/v1/chat", { method: "POST", headers: h, json: { query: "anything?" } }, tight);
      expect(r.status).toBe(200);
      expect(r.headers.get("RateLimit")).toMatch(new RegExp(`^"key";r=${left};t=\\d+$`));
    }
    // Not enough left for a chat: 429, in the envelope, with Retry-After.
    const limited = await call("/v1/chat", { method: "POST", headers: h, json: { query: "again?" } }, tight);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(limited.headers.get("RateLimit-Policy")).toBe('"key";q=12;w=60');
    const out = await body(limited);
    expect(out.error.code).toBe("rate_limited");
    expect(out.error.request_id).toBeTruthy();
    // A read still fits in the last unit.
    expect((await call(`/v1/collections/${col}`, { headers: h }, tight)).status).toBe(200);
    expect((await call(`/v1/collections/${col}`, { headers: h }, tight)).status).toBe(429);
  });

  it("per session, on the original's paths in the original's flat shape", async () => {
    const col = await createCollection();
    const key = await tempKey(col);
    const session = await startChat(key.temp_api_key);
    // start_chat spent 1 of the key's units; a chat costs 5.
    const tight = { RATE_LIMIT_KEY_PER_MINUTE: "6", RATE_COST_CHAT: "5" } as unknown as Partial<Env>;
    const ok = await call("/api/chat", { method: "POST", headers: { Authorization: session.jwt_token }, json: { query: "hi" } }, tight);
    expect(ok.status).toBe(200);
    expect(ok.headers.get("RateLimit-Policy")).toBe('"key";q=6;w=60, "session";q=6;w=60');
    expect(ok.headers.get("RateLimit")).toMatch(/^"key";r=0;t=\d+, "session";r=1;t=\d+$/);
    const limited = await call(
      "/api/chat",
      { method: "POST", headers: { Authorization: session.jwt_token }, json: { query: "hi" } },
      tight,
    );
    expect(limited.status).toBe(429);
    expect(limited.headers.get("Retry-After")).toBeTruthy();
    const out = await body(limited);
    expect(out.code).toBe("rate_limited");
    expect(typeof out.error).toBe("string");
  });

  it("0 turns the key limiter off (no headers)", async () => {
    const col = await createCollection();
    const key = await tempKey(col);
    const off = { RATE_LIMIT_KEY_PER_MINUTE: "0" } as unknown as Partial<Env>;
    const res = await call(`/v1/collections/${col}`, { headers: { "X-API-Key": key.temp_api_key } }, off);
    expect(res.status).toBe(200);
    expect(res.headers.get("RateLimit")).toBeNull();
  });

  it("per client IP before authentication, with the Rate Limiting binding", async () => {
    const ip = uniqueIp();
    const tight = { IP_RATE_LIMITER: env.TEST_IP_RATE_LIMITER, RATE_LIMIT_IP_PER_MINUTE: "3" } as unknown as Partial<Env>;
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await call("/healthz", { headers: { "CF-Connecting-IP": ip } }, tight);
      statuses.push(res.status);
      if (res.status === 429) {
        expect(res.headers.get("Retry-After")).toBe("60");
        expect(res.headers.get("RateLimit-Policy")).toBe('"ip";q=3;w=60');
        expect((await body(res)).error.code).toBe("rate_limited");
      }
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    // Another address is not affected; nor is anyone with the limiter off.
    expect((await call("/healthz", { headers: { "CF-Connecting-IP": uniqueIp() } }, tight)).status).toBe(200);
    expect(
      (await call("/healthz", { headers: { "CF-Connecting-IP": ip } }, { ...tight, RATE_LIMIT_IP_PER_MINUTE: "0" } as Partial<Env>)).status,
    ).toBe(200);
  });

  it("failed authentication: 401 up to the limit, then 429 for that address even with a good key; logged without the secret", async () => {
    const ip = uniqueIp();
    const col = await createCollection();
    const good = await tempKey(col);
    const tight = { RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: "3" } as unknown as Partial<Env>;
    const logs: string[] = [];
    const orig = console.warn;
    console.warn = (...a: unknown[]) => {
      logs.push(a.map(String).join(" "));
    };
    const guess = "guess-guess-guess-guess-guess-guess-guess";
    let statuses: number[];
    try {
      statuses = [];
      for (let i = 0; i < 5; i++) {
        const res = await call(
          "/get_temp_api_key",
          { method: "POST", headers: { "X-Master-API-Key": guess, "CF-Connecting-IP": ip }, json: {} },
          tight,
        );
        statuses.push(res.status);
        if (res.status === 429) {
          expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
          expect((await body(res)).code).toBe("rate_limited");
        }
      }
      const blocked = await call(`/v1/collections/${col}`, { headers: { "X-API-Key": good.temp_api_key, "CF-Connecting-IP": ip } }, tight);
      expect(blocked.status).toBe(429);
    } finally {
      console.warn = orig;
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    const failures = logs.filter((l) => l.includes('"auth_failed"'));
    expect(failures.length).toBeGreaterThanOrEqual(4);
    for (const l of failures) {
      const rec = JSON.parse(l);
      expect(rec.ip).toBe(ip);
      expect(rec.request_id).toBeTruthy();
    }
    expect(logs.join("\n")).not.toContain(guess);
    // Another address with the good key is fine.
    expect(
      (await call(`/v1/collections/${col}`, { headers: { "X-API-Key": good.temp_api_key, "CF-Connecting-IP": uniqueIp() } }, tight)).status,
    ).toBe(200);
  });
});

describe("revocation", () => {
  it("a revoked key is refused at once, its sessions end, and their history is gone", async () => {
    const col = await createCollection();
    const key = await tempKey(col);
    const h = { "X-API-Key": key.temp_api_key };
    expect((await call(`/v1/collections/${col}`, { headers: h })).status).toBe(200); // warm the isolate cache
    const session = await startChat(key.temp_api_key);
    const auth = { Authorization: `Bearer ${session.jwt_token}` };
    expect((await call("/v1/chat", { method: "POST", headers: auth, json: { query: "hello" } })).status).toBe(200);
    expect((await call(`/v1/sessions/${session.session_id}/messages`, { headers: auth })).status).toBe(200);

    expect((await call(`/v1/keys/${key.key_id}`, { method: "DELETE", headers: master() })).status).toBe(200);
    expect((await call(`/v1/collections/${col}`, { headers: h })).status).toBe(401);
    expect((await call("/v1/chat", { method: "POST", headers: auth, json: { query: "hello" } })).status).toBe(401);
    const hist = await call(`/v1/sessions/${session.session_id}/messages`, { headers: auth });
    expect([401, 404]).toContain(hist.status);
    const byMaster = await call(`/v1/sessions/${session.session_id}/messages`, { headers: master() });
    expect(byMaster.status).toBe(404);
  });

  it("stays refused from another location's stale KV copy while the key's guard says revoked", async () => {
    const col = await createCollection();
    const key = await tempKey(col);
    const h = { "X-API-Key": key.temp_api_key };
    const hash = [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key.temp_api_key)))]
      .map((b) => b.toString(16).padStart(2, "0"))
      .join("");
    const record = await env.API_KEYS.get(`apikey:${hash}`);
    expect((await call(`/v1/keys/${key.key_id}`, { method: "DELETE", headers: master() })).status).toBe(200);
    // A location whose KV has not yet seen the delete still holds the record.
    await env.API_KEYS.put(`apikey:${hash}`, record as string);
    expect((await call(`/v1/collections/${col}`, { headers: h })).status).toBe(401);
  });
});

describe("auth answered from the edge", () => {
  /** Counts calls on a binding's methods (D1 `prepare`, KV `get`). */
  function counting<T extends object>(target: T, methods: string[]): { proxy: T; counts: Record<string, number> } {
    const counts: Record<string, number> = {};
    const proxy = new Proxy(target, {
      get(t, prop, _recv) {
        const v = Reflect.get(t, prop, t);
        if (typeof v !== "function") return v;
        return (...args: unknown[]) => {
          if (methods.includes(String(prop))) counts[String(prop)] = (counts[String(prop)] ?? 0) + 1;
          return v.apply(t, args);
        };
      },
    });
    return { proxy, counts };
  }

  it("steady state: a key request reads D1 for nothing but its route, KV at most once; a session turn reads KV never", async () => {
    const col = await createCollection();
    const key = await tempKey(col);
    const session = await startChat(key.temp_api_key);
    // GET /v1/sessions/{id}/messages reads no D1 on its own, so every D1 or KV read there is auth's.
    const db = counting(env.DB, ["prepare", "batch", "exec"]);
    const kv = counting(env.API_KEYS, ["get", "getWithMetadata", "list"]);
    const over = { DB: db.proxy, API_KEYS: kv.proxy } as unknown as Partial<Env>;
    const auth = { Authorization: `Bearer ${session.jwt_token}` };
    await call(`/v1/sessions/${session.session_id}/messages`, { headers: auth }, over); // warm-up
    db.counts.prepare = 0;
    kv.counts.get = 0;
    const hist = await call(`/v1/sessions/${session.session_id}/messages`, { headers: auth }, over);
    expect(hist.status).toBe(200);
    expect(db.counts.prepare ?? 0).toBe(0);
    expect(kv.counts.get ?? 0).toBe(0);

    // A key on a route that itself reads D1 once (the document look-up): auth adds no D1 read.
    const h = { "X-API-Key": key.temp_api_key };
    await call(`/v1/collections/${col}/documents/doc_missing`, { headers: h }, over); // warm-up
    const before = { d1: db.counts.prepare ?? 0, kv: kv.counts.get ?? 0 };
    const res = await call(`/v1/collections/${col}/documents/doc_missing`, { headers: h }, over);
    expect(res.status).toBe(404);
    expect((db.counts.prepare ?? 0) - before.d1).toBe(1); // the route's document look-up, none for auth
    expect((kv.counts.get ?? 0) - before.kv).toBeLessThanOrEqual(1);
  });

  it("a revoked key read from a stale cache lasts at most AUTH_CACHE_SECONDS when the guard is not asked", async () => {
    const { lookupKey } = await import("../src/auth/keys");
    const col = await createCollection();
    const key = await tempKey(col);
    const t0 = Date.now();
    expect(await lookupKey(env, key.temp_api_key, { cacheSeconds: 10, now: t0 })).not.toBeNull();
    // Another location's revocation: KV loses the record, this isolate is not told.
    const hash = [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key.temp_api_key)))]
      .map((b) => b.toString(16).padStart(2, "0"))
      .join("");
    await env.API_KEYS.delete(`apikey:${hash}`);
    expect(await lookupKey(env, key.temp_api_key, { cacheSeconds: 10, now: t0 + 9_999 })).not.toBeNull();
    expect(await lookupKey(env, key.temp_api_key, { cacheSeconds: 10, now: t0 + 10_000 })).toBeNull();
  });
});

describe("quotas", () => {
  const docs = (n: number, size = 10) =>
    Array.from({ length: n }, (_, i) => ({ name: `q${i}-${crypto.randomUUID()}.txt`, text: `${crypto.randomUUID()} ${"x".repeat(size)}` }));

  it("documents per collection: 403 quota_exceeded naming the limit and the use; GET reports usage", async () => {
    const col = await createCollection();
    const tight = { QUOTA_COLLECTION_DOCUMENTS: "3" } as unknown as Partial<Env>;
    const up = (n: number) =>
      call(`/v1/collections/${col}/documents`, { method: "POST", headers: master(), json: { documents: docs(n) } }, tight);
    const first = await up(2);
    expect(first.status).toBe(202);
    // A batch that does not fit: what fits is accepted, the rest is refused file by file.
    const second = await body(await up(2));
    expect(second.documents).toHaveLength(1);
    expect(second.errors[0].error.code).toBe("quota_exceeded");
    expect(second.errors[0].error.message).toContain("limit 3, in use 3");
    const full = await up(1);
    expect(full.status).toBe(403);
    const out = await body(full);
    expect(out.error.code).toBe("quota_exceeded");
    expect(out.error.message).toMatch(/documents in this collection \(limit 3, in use 3\)/);

    const got = await body(await call(`/v1/collections/${col}`, { headers: master() }, tight));
    expect(got.usage.documents).toEqual({ used: 3, limit: 3 });
    expect(got.usage.bytes.used).toBeGreaterThan(0);
    expect(got.usage.chunks).toHaveProperty("limit");
  });

  it("bytes per collection", async () => {
    const col = await createCollection();
    const tight = { QUOTA_COLLECTION_BYTES: "2000" } as unknown as Partial<Env>;
    const res = await call(
      `/v1/collections/${col}/documents`,
      { method: "POST", headers: master(), json: { documents: docs(1, 3000) } },
      tight,
    );
    expect(res.status).toBe(403);
    const out = await body(res);
    expect(out.error.message).toContain("bytes stored in this collection (limit 2000, in use 0)");
    expect(out.error.details?.[0]?.error?.code ?? out.error.code).toBe("quota_exceeded");
  });

  it("live sessions per key", async () => {
    const col = await createCollection();
    const key = await tempKey(col);
    const tight = { QUOTA_KEY_LIVE_SESSIONS: "2" } as unknown as Partial<Env>;
    const start = () => call("/api/start_chat", { method: "POST", headers: { "X-API-Key": key.temp_api_key } }, tight);
    expect((await start()).status).toBe(200);
    const second = await body(await start());
    expect((await start()).status).toBe(403);
    // Ending one makes room again.
    const ended = await call(`/v1/sessions/${second.session_id}`, {
      method: "DELETE",
      headers: { Authorization: `Bearer ${second.jwt_token}` },
    });
    expect(ended.status).toBe(200);
    expect((await start()).status).toBe(200);
  });

  it("reindex cooldown, with Retry-After", async () => {
    const col = await createCollection();
    const tight = { REINDEX_COOLDOWN_SECONDS: "600" } as unknown as Partial<Env>;
    expect((await call(`/v1/collections/${col}/reindex`, { method: "POST", headers: master() }, tight)).status).toBe(202);
    const again = await call(`/v1/collections/${col}/reindex`, { method: "POST", headers: master() }, tight);
    expect(again.status).toBe(403);
    expect(Number(again.headers.get("Retry-After"))).toBeGreaterThan(500);
    const out = await body(again);
    expect(out.error.code).toBe("quota_exceeded");
    expect(out.error.details.quota).toBe("reindex_cooldown");
  });

  it("upload metadata: at most 8 KB and depth 5", async () => {
    const col = await createCollection();
    const deep = { a: { b: { c: { d: { e: { f: 1 } } } } } };
    const big = { blob: "x".repeat(9000) };
    for (const metadata of [deep, big]) {
      const res = await call(`/v1/collections/${col}/documents`, {
        method: "POST",
        headers: master(),
        json: { documents: [{ name: "m.txt", text: "hello", metadata }] },
      });
      expect(res.status).toBe(400);
      expect((await body(res)).error.code).toBe("validation_error");
    }
    const ok = await call(`/v1/collections/${col}/documents`, {
      method: "POST",
      headers: master(),
      json: { documents: [{ name: "m.txt", text: "hello", metadata: { a: { b: { c: { d: 1 } } } } }] },
    });
    expect(ok.status).toBe(202);
  });
});

describe("lifecycle", () => {
  it("deleting a collection revokes its keys and ends its sessions, the master key's too", async () => {
    const col = await createCollection();
    const key = await tempKey(col);
    const session = await startChat(key.temp_api_key);
    const masterSession = await body(
      await call("/start_chat", { method: "POST", headers: master(), json: { model: "m", document: [{ text: "hello world" }] } }),
    );
    expect(masterSession.jwt_token).toBeTruthy();
    expect((await call(`/v1/collections/${col}`, { method: "DELETE", headers: master() })).status).toBe(202);
    expect((await call("/v1/collections", { headers: { "X-API-Key": key.temp_api_key } })).status).toBe(401);
    expect((await call("/api/chat", { method: "POST", headers: { Authorization: session.jwt_token }, json: { query: "hi" } })).status).toBe(
      401,
    );
    const listed = await body(await call("/v1/keys?include_inactive=true", { headers: master() }));
    expect(listed.keys.find((k: { id: string }) => k.id === key.key_id)?.revoked_at).toBeTruthy();
  });

  it("a master-key session on a collection ends when the collection is deleted", async () => {
    const made = await body(
      await call("/start_chat", { method: "POST", headers: master(), json: { model: "m", document: [{ text: "hello world" }] } }),
    );
    const col = made.collection_id;
    const auth = { Authorization: `Bearer ${made.jwt_token}` };
    expect((await call(`/v1/sessions/${made.session_id}/messages`, { headers: auth })).status).toBe(200);
    expect((await call(`/v1/collections/${col}`, { method: "DELETE", headers: master() })).status).toBe(202);
    expect((await call(`/v1/sessions/${made.session_id}/messages`, { headers: auth })).status).toBe(404);
  });

  it("DELETE /v1/sessions/{id}: its own token or the master key, nobody else", async () => {
    const col = await createCollection();
    const key = await tempKey(col);
    const a = await startChat(key.temp_api_key);
    const b = await startChat(key.temp_api_key);
    const other = await call(`/v1/sessions/${a.session_id}`, { method: "DELETE", headers: { Authorization: `Bearer ${b.jwt_token}` } });
    expect(other.status).toBe(404);
    expect((await call(`/v1/sessions/${a.session_id}`, { method: "DELETE", headers: { "X-API-Key": key.temp_api_key } })).status).toBe(401);
    expect((await call(`/v1/sessions/${a.session_id}`, { method: "DELETE", headers: master() })).status).toBe(200);
    expect((await call("/api/chat", { method: "POST", headers: { Authorization: a.jwt_token }, json: { query: "hi" } })).status).toBe(401);
    expect(
      (await call(`/v1/sessions/${b.session_id}`, { method: "DELETE", headers: { Authorization: `Bearer ${b.jwt_token}` } })).status,
    ).toBe(200);
    expect((await call(`/v1/sessions/${b.session_id}`, { method: "DELETE", headers: master() })).status).toBe(404);
  });

  it("/healthz: status for everyone, details for the master key only, a wrong master key is 401", async () => {
    const anon = await body(await call("/healthz"));
    expect(Object.keys(anon)).toEqual(["status"]);
    const full = await body(await call("/healthz", { headers: master() }));
    expect(full.providers.embedder).toBeTruthy();
    expect((await call("/healthz", { headers: { "X-Master-API-Key": "wrong" } })).status).toBe(401);
  });

  it("refuses a JWT_SECRET_KEY equal to MASTER_API_KEY", async () => {
    const res = await call("/v1/collections", { headers: master() }, { JWT_SECRET_KEY: env.MASTER_API_KEY } as Partial<Env>);
    expect(res.status).toBe(500);
    const out = await body(res);
    expect(out.error.code).toBe("misconfigured");
    expect(JSON.stringify(out)).not.toContain(env.MASTER_API_KEY);
  });

  it("tokens carry typ JWT and a token without it is refused", async () => {
    const col = await createCollection();
    const key = await tempKey(col);
    const session = await startChat(key.temp_api_key);
    const [h, p, sig] = session.jwt_token.split(".");
    expect(JSON.parse(atob(h.replace(/-/g, "+").replace(/_/g, "/")))).toMatchObject({ alg: "HS256", typ: "JWT" });
    const payload = JSON.parse(atob(p.replace(/-/g, "+").replace(/_/g, "/")));
    expect(sig).toBeTruthy();
    // Same claims and secret, another typ in the header.
    const enc = (o: unknown) => btoa(JSON.stringify(o)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const data = `${enc({ alg: "HS256", typ: "at+jwt" })}.${enc(payload)}`;
    const k = await crypto.subtle.importKey("raw", new TextEncoder().encode(env.JWT_SECRET_KEY), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
    ]);
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", k, new TextEncoder().encode(data)));
    const forged = `${data}.${btoa(String.fromCharCode(...mac))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "")}`;
    expect((await call("/api/chat", { method: "POST", headers: { Authorization: forged }, json: { query: "hi" } })).status).toBe(401);
  });
});

describe("inventory", () => {
  it("the OpenAPI document lists every route, the abuse-related ones included", async () => {
    const doc = await body(await call("/openapi.json"));
    expect(doc.paths["/v1/sessions/{id}"]?.delete).toBeTruthy();
    expect(doc.paths["/v1/collections/{id}"]?.get?.responses?.["200"]).toBeTruthy();
    expect(JSON.stringify(doc.components?.schemas?.CollectionUsage ?? {})).toContain("used");
    expect(doc.paths["/healthz"]?.get).toBeTruthy();
  });
});

describe("one content-type predicate for validator and handler", () => {
  it("a +json media type is validated and read as JSON; a multipart type mentioning json is not JSON", async () => {
    const col = await createCollection();
    const plusJson = await call(`/v1/collections/${col}/documents`, {
      method: "POST",
      headers: { ...master(), "Content-Type": "application/vnd.api+json" },
      body: JSON.stringify({ documents: [{ name: "a.txt", text: "hello there" }] }),
    });
    expect(plusJson.status).toBe(202);
    const invalid = await call(`/v1/collections/${col}/documents`, {
      method: "POST",
      headers: { ...master(), "Content-Type": "application/vnd.api+json" },
      body: JSON.stringify({ documents: [] }),
    });
    expect(invalid.status).toBe(400);
    expect((await body(invalid)).error.code).toBe("validation_error");
    const { isJsonContentType } = await import("../src/http/content-type");
    expect(isJsonContentType("multipart/form-data; x=application/json")).toBe(false);
    expect(isJsonContentType("Application/JSON; charset=utf-8")).toBe(true);
  });
});

describe("quotas on the original's ingestion paths", () => {
  it("/start_chat with documents into a key's collection is held to the collection's quota", async () => {
    const col = await createCollection();
    const key = await tempKey(col);
    const tight = { QUOTA_COLLECTION_DOCUMENTS: "1" } as unknown as Partial<Env>;
    const send = (text: string) =>
      call(
        "/start_chat",
        { method: "POST", headers: { "X-API-Key": key.temp_api_key }, json: { model: "m", document: [{ text }] } },
        tight,
      );
    expect((await send("first document text")).status).toBe(200);
    const over = await send("second document text");
    expect(over.status).toBe(403);
    expect((await body(over)).code).toBe("quota_exceeded");
  });
});

describe("request costs", () => {
  it("a collection reindex costs RATE_COST_REINDEX, one document's reindex an upload's, a read 1", async () => {
    const { accessTableOf, createApp } = await import("../src/app");
    const { mountRoutes } = await import("../src/routes");
    const { costUnits } = await import("../src/auth/access");
    const { parseSettings } = await import("../src/config");
    const s = parseSettings({});
    const table = accessTableOf(createApp(mountRoutes));
    const costOf = (method: string, path: string) => costUnits(table.match(method, path)?.access.cost, s);
    expect(costOf("POST", "/v1/collections/col_x/reindex")).toBe(s.RATE_COST_REINDEX);
    expect(costOf("POST", "/v1/collections/col_x/documents/doc_y/reindex")).toBe(s.RATE_COST_UPLOAD);
    expect(costOf("POST", "/v1/collections/col_x/documents")).toBe(s.RATE_COST_UPLOAD);
    expect(costOf("POST", "/v1/chat")).toBe(s.RATE_COST_CHAT);
    expect(costOf("POST", "/api/chat")).toBe(s.RATE_COST_CHAT);
    expect(costOf("POST", "/v1/chat/completions")).toBe(s.RATE_COST_CHAT);
    expect(costOf("POST", "/v1/collections/col_x/search")).toBe(1);
    expect(costOf("GET", "/v1/collections/col_x")).toBe(1);
    expect([s.RATE_COST_CHAT, s.RATE_COST_UPLOAD, s.RATE_COST_REINDEX]).toEqual([5, 5, 50]);
  });
});
