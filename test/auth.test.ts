import { env } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../src/util/crypto";
import { JWT_AUDIENCE, JWT_ISSUER } from "../src/auth/jwt";
import { BASE, body, call, createCollection, master, startChat, tempKey } from "./helpers";

const b64url = (s: string) => btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

async function token(overrides: Record<string, unknown> = {}, secret = env.JWT_SECRET_KEY) {
  const now = Math.floor(Date.now() / 1000);
  return sign(
    {
      iss: JWT_ISSUER,
      aud: JWT_AUDIENCE,
      sub: "key_x",
      sid: "ses_x",
      col: null,
      iat: now,
      nbf: now,
      exp: now + 600,
      jti: "j",
      ...overrides,
    },
    secret,
    "HS256",
  );
}

async function chat(auth: string | undefined, json: unknown = { query: "hello" }, path = "/api/chat") {
  const headers: Record<string, string> = auth === undefined ? {} : { Authorization: auth };
  return call(path, { method: "POST", headers, json });
}

describe("the original's flow", () => {
  it("issues a temporary key, starts a chat and verifies the token", async () => {
    const col = await createCollection();
    const key = await tempKey(col);
    expect(key.temp_api_key).toMatch(/^dck_[A-Za-z0-9_-]{43}$/);
    expect(key.key_id).toMatch(/^key_/);
    expect(key.collection_id).toBe(col);
    expect(Date.parse(key.expires_at) - Date.now()).toBeGreaterThan(3500_000);

    // KV holds only the digest of the key, never the key itself.
    const stored = await env.API_KEYS.get(`apikey:${await sha256Hex(key.temp_api_key)}`, "json");
    expect(stored).toMatchObject({ id: key.key_id, collection_id: col });
    const listing = await env.API_KEYS.list();
    expect(JSON.stringify(listing)).not.toContain(key.temp_api_key);

    const session = await startChat(key.temp_api_key);
    expect(session.url).toBe(`${BASE}/api/chat`);
    expect(session.session_id).toMatch(/^ses_/);
    expect(session.jwt_token.split(".")).toHaveLength(3);
    const payload = JSON.parse(atob(session.jwt_token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    expect(payload).toMatchObject({ iss: JWT_ISSUER, aud: JWT_AUDIENCE, sub: key.key_id, sid: session.session_id, col });
    expect(payload.exp).toBeLessThanOrEqual(Math.floor(Date.parse(key.expires_at) / 1000));
    expect(typeof payload.jti).toBe("string");

    // The raw token (as the original sent it) and the Bearer form are both accepted.
    for (const auth of [session.jwt_token, `Bearer ${session.jwt_token}`]) {
      const res = await chat(auth, { query: "anything there?", url: session.url });
      expect(res.status).toBe(200);
      const out = await body(res);
      expect(out.query).toBe("anything there?");
      expect(typeof out.answer).toBe("string");
      expect(out.session_id).toBe(session.session_id);
    }
  });

  it("a session token never outlives its key", async () => {
    const col = await createCollection();
    const key = await tempKey(col, { ttl_seconds: 120 });
    const session = await startChat(key.temp_api_key);
    expect(Date.parse(session.expires_at)).toBeLessThanOrEqual(Date.parse(key.expires_at));
  });
});

describe("master key failures", () => {
  it("missing or wrong master key gets the original's 401", async () => {
    for (const headers of [{}, { "X-Master-API-Key": "1234567890" }, { "X-Master-API-Key": `${env.MASTER_API_KEY}x` }] as Record<
      string,
      string
    >[]) {
      const res = await call("/get_temp_api_key", { method: "POST", headers, json: { collection_id: "x" } });
      expect(res.status).toBe(401);
      const out = await body(res);
      expect(out.message).toBe("Invalid master API key");
      expect(out.code).toBe("invalid_master_key");
      expect(out.request_id).toBeTruthy();
    }
  });

  it("missing fields get the original's 400", async () => {
    const res = await call("/get_temp_api_key", { method: "POST", headers: master(), json: { model: "m" } });
    expect(res.status).toBe(400);
    expect(await body(res)).toMatchObject({ error: "Missing required fields (model, embeddings, document)", code: "missing_fields" });
  });

  it("rejects a TTL below KV's 60 s minimum and above the configured maximum", async () => {
    const col = await createCollection();
    for (const ttl_seconds of [59, 1, 86401]) {
      const res = await call("/get_temp_api_key", { method: "POST", headers: master(), json: { collection_id: col, ttl_seconds } });
      expect(res.status).toBe(400);
      expect((await body(res)).code).toBe("ttl_out_of_range");
    }
  });

  it("unknown collection is 404", async () => {
    const res = await call("/get_temp_api_key", { method: "POST", headers: master(), json: { collection_id: "col_nope" } });
    expect(res.status).toBe(404);
  });
});

describe("temporary key failures on start_chat", () => {
  it("missing, unknown, expired and revoked keys get 401", async () => {
    const col = await createCollection();
    expect((await call("/api/start_chat", { method: "POST" })).status).toBe(401);
    const unknown = await call("/api/start_chat", {
      method: "POST",
      headers: { "X-API-Key": "dck_unknownunknownunknownunknownunknownunknown" },
    });
    expect(unknown.status).toBe(401);
    expect((await body(unknown)).message).toBe("Invalid API key");

    // Expired: the record says so even if KV has not evicted it yet.
    const expired = await tempKey(col);
    const hash = await sha256Hex(expired.temp_api_key);
    const rec = (await env.API_KEYS.get(`apikey:${hash}`, "json")) as Record<string, number>;
    await env.API_KEYS.put(`apikey:${hash}`, JSON.stringify({ ...rec, expires_at: Math.floor(Date.now() / 1000) - 1 }));
    expect((await call("/api/start_chat", { method: "POST", headers: { "X-API-Key": expired.temp_api_key } })).status).toBe(401);

    const revoked = await tempKey(col);
    const session = await startChat(revoked.temp_api_key);
    const del = await call(`/v1/keys/${revoked.key_id}`, { method: "DELETE", headers: master() });
    expect(del.status).toBe(200);
    expect((await call("/api/start_chat", { method: "POST", headers: { "X-API-Key": revoked.temp_api_key } })).status).toBe(401);
    // Sessions of a revoked key end with it.
    const res = await chat(session.jwt_token);
    expect(res.status).toBe(401);
    expect((await body(res)).message).toBe("Invalid session");
  });

  it("the master key gets the original's 400", async () => {
    const res = await call("/api/start_chat", { method: "POST", headers: { "X-API-Key": env.MASTER_API_KEY } });
    expect(res.status).toBe(400);
    expect((await body(res)).error).toBe("Master API key cannot be used to start a chat. Please use a temporary API key.");
  });

  it("/start_chat requires a key (a deliberate change from the original)", async () => {
    const res = await call("/start_chat", { method: "POST", json: {} });
    expect(res.status).toBe(401);
    const col = await createCollection();
    const key = await tempKey(col);
    const ok = await call("/start_chat", { method: "POST", headers: { "X-API-Key": key.temp_api_key }, json: {} });
    expect(ok.status).toBe(200);
    expect((await body(ok)).collection_id).toBe(col);
  });
});

describe("token failures", () => {
  it("missing token", async () => {
    const res = await chat(undefined);
    expect(res.status).toBe(401);
    expect((await body(res)).message).toBe("Token is missing");
  });

  it("malformed, tampered, alg none, wrong audience, wrong issuer, wrong secret and expired tokens", async () => {
    const col = await createCollection();
    const good = (await startChat((await tempKey(col)).temp_api_key)).jwt_token as string;
    const [h, p, s] = good.split(".");
    const payload = JSON.parse(atob(p.replace(/-/g, "+").replace(/_/g, "/")));
    const now = Math.floor(Date.now() / 1000);
    const bad = [
      "not-a-jwt",
      "a.b.c",
      `${h}.${b64url(JSON.stringify({ ...payload, col: "col_other" }))}.${s}`,
      `${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${p}.`,
      `${b64url(JSON.stringify({ alg: "HS512", typ: "JWT" }))}.${p}.${s}`,
      await token({ ...payload, aud: "someone-else" }),
      await token({ ...payload, iss: "evil" }),
      await token({ ...payload }, "another-secret-another-secret-another-secret"),
      await token({ ...payload, iat: now - 7200, nbf: now - 7200, exp: now - 60 }),
      await token({ ...payload, nbf: now + 120 }),
      await token({ ...payload, sid: undefined }),
    ];
    for (const t of bad) {
      const res = await chat(t);
      expect(res.status, t).toBe(401);
      expect((await body(res)).message).toBe("Token is invalid");
    }
    // Within the 30 s clock skew an expired-just-now token still passes.
    const skew = await token({ ...payload, exp: now - 10 });
    expect((await chat(skew)).status).toBe(200);
  });

  it("a valid token for an unknown session is refused", async () => {
    const res = await chat(await token({ sid: "ses_unknown" }));
    expect(res.status).toBe(401);
    expect((await body(res)).message).toBe("Invalid session");
  });

  it("url_mismatch: a foreign url is refused and never fetched", async () => {
    const col = await createCollection();
    const session = await startChat((await tempKey(col)).temp_api_key);
    for (const url of ["http://169.254.169.254/latest/meta-data", "https://evil.example/query", `${BASE}/api/chat/../../admin`]) {
      const res = await chat(session.jwt_token, { query: "hi", url });
      expect(res.status).toBe(400);
      expect((await body(res)).code).toBe("url_mismatch");
    }
  });
});

describe("keys admin", () => {
  it("lists and revokes keys with the master key only", async () => {
    const col = await createCollection();
    const key = await tempKey(col, { scopes: ["read"] });
    const list = await call("/v1/keys?limit=100", { headers: master() });
    expect(list.status).toBe(200);
    const out = await body(list);
    const found = out.keys.find((k: { id: string }) => k.id === key.key_id);
    expect(found).toMatchObject({ collection_id: col, scopes: ["read"], revoked_at: null });
    expect(JSON.stringify(out)).not.toContain(key.temp_api_key);

    const noMaster = await call("/v1/keys", { headers: { "X-API-Key": key.temp_api_key } });
    expect(noMaster.status).toBe(401);
    expect((await body(noMaster)).error.code).toBe("invalid_master_key");
    expect((await call("/v1/keys/key_missing", { method: "DELETE", headers: master() })).status).toBe(404);
  });

  it("a key without the chat scope cannot start a chat", async () => {
    const col = await createCollection();
    const key = await tempKey(col, { scopes: ["read"] });
    expect((await call("/api/start_chat", { method: "POST", headers: { "X-API-Key": key.temp_api_key } })).status).toBe(403);
  });
});

describe("configuration fails closed", () => {
  it("missing or weak secrets give 500 misconfigured naming the variable, not its value", async () => {
    const cases: [Partial<Env>, string][] = [
      [{ MASTER_API_KEY: "" } as Partial<Env>, "MASTER_API_KEY"],
      [{ MASTER_API_KEY: "1234567890" } as Partial<Env>, "MASTER_API_KEY"],
      [{ JWT_SECRET_KEY: "chatwithme" } as Partial<Env>, "JWT_SECRET_KEY"],
    ];
    for (const [override, name] of cases) {
      for (const [path, init] of [
        ["/get_temp_api_key", { method: "POST", headers: { "X-Master-API-Key": "1234567890" }, json: { collection_id: "x" } }],
        ["/api/start_chat", { method: "POST", headers: { "X-API-Key": "dck_x" } }],
        ["/api/chat", { method: "POST", headers: { Authorization: "a.b.c" }, json: { query: "q" } }],
      ] as const) {
        const res = await call(path, init as RequestInit & { json?: unknown }, override);
        expect(res.status, `${path} ${name}`).toBe(500);
        const text = await res.text();
        expect(text).toContain("misconfigured");
        expect(text).toContain(name);
        expect(text).not.toContain("1234567890");
        expect(text).not.toContain("chatwithme");
      }
    }
  });

  it("healthz reports providers and no secrets (details to the master key only, issue 10)", async () => {
    const res = await call("/healthz", { headers: master() });
    expect(res.status).toBe(200);
    const out = await body(res);
    expect(out.providers.embedder.mode).toBe("local");
    expect(out.providers.vector_index.id).toBe("local");
    expect(out.providers.answerer.id).toBe("extractive");
    expect(JSON.stringify(out)).not.toContain(env.MASTER_API_KEY);
    expect(res.headers.get("X-Request-Id")).toBeTruthy();
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
  });

  it("bodies over MAX_JSON_BYTES get 413 payload_too_large", async () => {
    const res = await call("/v1/collections", { method: "POST", headers: master(), json: { name: "x".repeat(5000) } }, {
      MAX_JSON_BYTES: "2048",
    } as unknown as Partial<Env>);
    expect(res.status).toBe(413);
    expect((await body(res)).error.code).toBe("payload_too_large");
  });

  it("unknown routes and bad JSON use the one error envelope", async () => {
    const res = await call("/nope");
    expect(res.status).toBe(404);
    expect((await body(res)).error).toMatchObject({ code: "not_found" });
    const bad = await call("/v1/collections", { method: "POST", headers: { ...master(), "Content-Type": "application/json" }, body: "{" });
    expect(bad.status).toBe(400);
    expect((await body(bad)).error.code).toBe("invalid_json");
  });
});
