import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import apiDoc from "../docs/api.md?raw";
import { body, call, createCollection, type Json, master, startChat, tempKey, uploadTexts, waitForDocument } from "./helpers";
import { SCOPES } from "../src/auth/principal";

/**
 * Issue 17 item 1: every operation's access is declared once, beside its route, and denied by
 * default. This suite walks /openapi.json, so an operation added without a declaration (or with a
 * wrong one) fails it: an undeclared route answers 404 to everyone.
 */

const uniqueIp = () => `198.51.100.${Math.floor(Math.random() * 250)}-${crypto.randomUUID().slice(0, 8)}`;
// The production limits (the pool's are generous); no reindex cooldown, so that the plain and the
// encoded spelling of a path meet the same state.
const limits = (extra: Record<string, string> = {}) =>
  ({
    RATE_LIMIT_KEY_PER_MINUTE: "300",
    RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: "10",
    REINDEX_COOLDOWN_SECONDS: "0",
    ...extra,
  }) as unknown as Partial<Env>;

interface Operation {
  method: string;
  path: string;
  security: Record<string, string[]>[] | undefined;
}

async function operations(): Promise<Operation[]> {
  const doc = await body(await call("/openapi.json"));
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
    for (const [method, op] of Object.entries(item)) out.push({ method: method.toUpperCase(), path, security: op.security });
  }
  return out;
}

/** Public: no security requirement, or an empty (optional) one. */
const isPublic = (op: Operation) =>
  op.security !== undefined && (op.security.length === 0 || op.security.some((r) => !Object.keys(r).length));

/** The path with its parameters filled, and the same path with one static character percent-encoded. */
function concrete(path: string, params: Record<string, string>): { plain: string; encoded: string } {
  const plain = path.replace(/\{(\w+)\}/g, (_, name: string) => params[name] ?? "x");
  // Encode the first letter of the first static segment: `/v1/chat` → `/%761/chat`.
  const i = plain.search(/[a-z]/);
  const encoded = `${plain.slice(0, i)}%${plain.charCodeAt(i).toString(16)}${plain.slice(i + 1)}`;
  return { plain, encoded };
}

/** A wrong credential of the kind the operation's first requirement names. */
function wrongCredential(op: Operation): Record<string, string> {
  const scheme = Object.keys(op.security?.[0] ?? { apiKey: [] })[0];
  if (scheme === "masterKey") return { "X-Master-API-Key": "wrong-master-key-0123456789abcdef" };
  if (scheme === "sessionToken") return { Authorization: "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl" };
  return { "X-API-Key": "dck_wrong_key_0123456789abcdef" };
}

const send = (method: string, path: string, headers: Record<string, string>, envOverride?: Partial<Env>) =>
  call(
    path,
    method === "GET" || method === "HEAD"
      ? { method, headers }
      : { method, headers: { "Content-Type": "application/json", ...headers }, body: "{" },
    envOverride,
  );

describe("every operation of /openapi.json is declared and enforced", () => {
  it("no credentials → 401; a wrong credential → 401 counted by the failed-auth limiter; a valid one → RateLimit headers; one encoded character changes nothing", async () => {
    const ops = await operations();
    expect(ops.length).toBeGreaterThan(20);
    const col = await createCollection("walk");
    const problems: string[] = [];
    let checked = 0;
    for (const op of ops) {
      if (isPublic(op)) continue;
      checked++;
      const name = `${op.method} ${op.path}`;
      // A key of its own per operation (sessions count against a key's live-session quota).
      // Every scope (admin included, which is never a default) so that a valid key passes any declaration.
      const key = (await tempKey(col, { scopes: [...SCOPES] })).temp_api_key as string;
      const session = op.security?.some((r) => "sessionToken" in r) ? ((await startChat(key)).jwt_token as string) : undefined;
      // Master-only operations get ids that do not exist (DELETE /v1/collections/{id} would delete).
      const masterOnly = op.security?.every((r) => "masterKey" in r);
      const id = op.path.startsWith("/v1/sessions/") ? "ses_other" : masterOnly ? "col_missing" : col;
      const { plain, encoded } = concrete(op.path, { id, docId: "doc_missing" });

      // 1. No credentials, malformed body: 401 before the body is read, on both spellings of the path.
      for (const p of [plain, encoded]) {
        const res = await send(op.method, p, { "CF-Connecting-IP": uniqueIp() }, limits());
        if (res.status !== 401) problems.push(`${name} (${p}) without credentials: ${res.status}, want 401`);
      }

      // 2. A wrong credential: 401 and counted: with a limit of 1 failure, the second is 429.
      const ip = uniqueIp();
      const once = limits({ RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: "1" });
      const first = await send(op.method, plain, { ...wrongCredential(op), "CF-Connecting-IP": ip }, once);
      const second = await send(op.method, encoded, { ...wrongCredential(op), "CF-Connecting-IP": ip }, once);
      if (first.status !== 401) problems.push(`${name} with a wrong credential: ${first.status}, want 401`);
      if (second.status !== 429) problems.push(`${name}: a second wrong credential past a limit of 1: ${second.status}, want 429`);

      // 3. A valid credential: charged, so the answer carries RateLimit headers; the encoded path
      //    answers the same status. The master key is limited per address only (docs/security.md).
      const valid: Record<string, string> = masterOnly
        ? master()
        : session && !op.security?.some((r) => "apiKey" in r)
          ? { Authorization: `Bearer ${session}` }
          : { "X-API-Key": key };
      const a = await send(op.method, plain, { ...valid, "CF-Connecting-IP": uniqueIp() }, limits());
      const b = await send(op.method, encoded, { ...valid, "CF-Connecting-IP": uniqueIp() }, limits());
      if (a.status === 401 || a.status === 429) problems.push(`${name} with a valid credential: ${a.status}`);
      if (a.status !== b.status) problems.push(`${name}: ${plain} → ${a.status} but ${encoded} → ${b.status}`);
      if (!masterOnly) {
        for (const [p, res] of [
          [plain, a],
          [encoded, b],
        ] as const) {
          if (!res.headers.get("RateLimit") || !res.headers.get("RateLimit-Policy")) {
            problems.push(`${name} (${p}) with a valid key: ${res.status} without RateLimit headers`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(20);
  });

  it("a path no declaration matches is 404, never public; the public list is explicit", async () => {
    for (const p of ["/v1/nothing", "/admin", "/v1/chat/", "/v1//chat", "/api/chat/x"]) {
      const res = await call(p, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
      expect(res.status, p).toBe(404);
      expect((await body(res)).error.code).toBe("not_found");
    }
    const { accessTableOf, createApp } = await import("../src/app");
    const { mountRoutes } = await import("../src/routes");
    const publicRoutes = accessTableOf(createApp(mountRoutes))
      .all()
      .filter((d) => d.access.need.kind === "public" || d.access.need.kind === "public-or-master")
      .map((d) => `${d.method} ${d.path}`)
      .sort();
    expect(publicRoutes).toEqual(["get /docs", "get /healthz", "get /openapi.json"]);
    for (const p of ["/healthz", "/openapi.json", "/docs"]) expect((await call(p)).status, p).toBe(200);
  });

  it("a route mounted without a declaration answers 404 to everyone, the master key included", async () => {
    const { createApp, accessTableOf } = await import("../src/app");
    const { createRoute, z } = await import("@hono/zod-openapi");
    const app = createApp((a) => {
      a.openapi(
        createRoute({
          method: "get",
          path: "/v1/undeclared",
          responses: { 200: { description: "ok", content: { "application/json": { schema: z.object({}) } } } },
        }),
        (c) => c.json({}, 200),
      );
    });
    expect(accessTableOf(app).match("GET", "/v1/undeclared")).toBeUndefined();
    const { createExecutionContext } = await import("cloudflare:test");
    for (const headers of [{}, master()]) {
      const res = await app.fetch(new Request("http://127.0.0.1/v1/undeclared", { headers }), env, createExecutionContext());
      expect(res.status).toBe(404);
    }
  });

  it("a raw path whose decoding is ambiguous (encoded /, \\, %, control characters, bad escapes) is 400", async () => {
    for (const p of ["/v1/collections/a%2Fb/search", "/v1/collections/a%5cb/search", "/v1/%2563hat", "/v1/ch%00at", "/v1/ch%zzat"]) {
      const res = await call(p, { method: "POST", headers: { ...master(), "Content-Type": "application/json" }, body: "{}" });
      expect(res.status, p).toBe(400);
      expect((await body(res)).error.code).toBe("bad_request");
    }
    // Dot segments are resolved by the URL parser before anything routes: they name the resolved path.
    expect(new URL("http://h/v1/x/%2e%2e/chat").pathname).toBe("/v1/chat");
  });

  it("docs/api.md's endpoint table is the one the declarations generate", async () => {
    const { accessTableOf, createApp } = await import("../src/app");
    const { mountRoutes } = await import("../src/routes");
    const { endpointTable } = await import("../src/auth/access");
    const table = endpointTable(accessTableOf(createApp(mountRoutes)).all());
    const m = /<!-- endpoints:begin[^>]*-->\n([\s\S]*?)\n<!-- endpoints:end -->/.exec(apiDoc);
    expect(m, "docs/api.md needs <!-- endpoints:begin --> … <!-- endpoints:end -->").toBeTruthy();
    expect(m?.[1], `docs/api.md's endpoint table is stale; replace it with:\n${table}\n`).toBe(table);
  });
});

describe("issue 17's done-when checks", () => {
  it("80 completions with one key: 429 with Retry-After once the key's budget is spent", async () => {
    const col = await createCollection("completions");
    await uploadTexts(col, [{ name: "o.md", text: "The office opens at 9am on weekdays." }]);
    const key = (await tempKey(col)).temp_api_key as string;
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 80; i++) {
      const res = await call(
        "/v1/chat/completions",
        {
          method: "POST",
          headers: { Authorization: `Bearer ${key}` },
          json: { model: "default", messages: [{ role: "user", content: "When does the office open?" }] },
        },
        limits(),
      );
      statuses.push(res.status);
      if (res.status === 429) {
        retryAfter ??= res.headers.get("Retry-After");
        expect((await body(res)).error.code).toBe("rate_limited"); // OpenAI's shape, this API's code
      } else await res.arrayBuffer();
    }
    // 300 units a minute, a chat costs 5: the 61st is refused.
    expect(statuses.slice(0, 60).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(60).every((s) => s === 429)).toBe(true);
    expect(Number(retryAfter)).toBeGreaterThan(0);
  });

  it("15 wrong master keys on /v1/models reach 429", async () => {
    const ip = uniqueIp();
    const statuses: number[] = [];
    for (let i = 0; i < 15; i++) {
      const res = await call("/v1/models", { headers: { "X-Master-API-Key": `wrong-${i}`, "CF-Connecting-IP": ip } }, limits());
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual(Array(5).fill(429));
  });

  it("/v1/%63hat is /v1/chat: charged to the same key, refused once it is spent", async () => {
    const col = await createCollection("encoded");
    await uploadTexts(col, [{ name: "o.md", text: "The office opens at 9am on weekdays." }]);
    const key = (await tempKey(col)).temp_api_key as string;
    const chat = (path: string) =>
      call(
        path,
        { method: "POST", headers: { "X-API-Key": key }, json: { query: "When does the office open?" } },
        limits({ RATE_LIMIT_KEY_PER_MINUTE: "10" }),
      );
    const a = await chat("/v1/%63hat");
    expect(a.status).toBe(200);
    expect(a.headers.get("RateLimit")).toMatch(/r=5;/);
    expect((await chat("/v1/chat")).status).toBe(200);
    const spent = await chat("/v1/%63hat");
    expect(spent.status).toBe(429);
    expect(spent.headers.get("Retry-After")).toBeTruthy();
    // The handler that trusted a principal the middleware never set now always has one.
    const s = await call("/v1/%73essions/ses_nope", { method: "DELETE", headers: master() });
    expect(s.status).toBe(404);
  });

  it("MCP: a batch is refused before any tool runs; each tool call is charged (ask as a chat)", async () => {
    const col = await createCollection("mcp-charge");
    const up = await uploadTexts(col, [{ name: "o.md", text: "The office opens at 9am on weekdays." }]);
    await waitForDocument(col, up.documents[0].id);
    const key = (await tempKey(col)).temp_api_key as string;
    const headers = { Authorization: `Bearer ${key}`, Accept: "application/json, text/event-stream" };
    const ask = (id: number) => ({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name: "ask", arguments: { question: "When does the office open?" } },
    });
    const other = (await tempKey(col)).temp_api_key as string;
    const batch = await call(
      "/mcp",
      { method: "POST", headers: { ...headers, Authorization: `Bearer ${other}` }, json: Array.from({ length: 100 }, (_, i) => ask(i)) },
      limits(),
    );
    expect(batch.status).toBe(400);
    expect((await body(batch)).error.code).toBe("bad_request");

    // 20 units: the request costs 1 and `ask` 5, so three asks fit (18) and the fourth does not.
    const tight = limits({ RATE_LIMIT_KEY_PER_MINUTE: "20" });
    const results: Json[] = [];
    const remaining: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await call("/mcp", { method: "POST", headers, json: ask(i) }, tight);
      expect(res.status).toBe(200);
      remaining.push(res.headers.get("RateLimit") ?? "");
      results.push(await body(res));
    }
    expect(remaining.slice(0, 3).map((r) => /r=(\d+)/.exec(r)?.[1])).toEqual(["14", "8", "2"]);
    expect(results.slice(0, 3).every((r) => !r.result.isError)).toBe(true);
    expect(results[3].result.isError).toBe(true);
    expect(JSON.stringify(results[3].result.content)).toContain("rate_limited");
  });
});

describe("issue 17's smaller holes", () => {
  it("IPv6 clients are counted by /64: another address of the same /64 meets the same failed-auth limit", async () => {
    const { addressBucket } = await import("../src/auth/rate-limit");
    expect(addressBucket("2001:db8:1:2::1")).toBe("2001:db8:1:2::/64");
    expect(addressBucket("2001:0DB8:0001:0002:ffff:1:2:3")).toBe("2001:db8:1:2::/64");
    expect(addressBucket("::ffff:192.0.2.7")).toBe("192.0.2.7");
    expect(addressBucket("192.0.2.7")).toBe("192.0.2.7");
    expect(addressBucket("::1")).toBe("0:0:0:0::/64");
    const n = Math.floor(Math.random() * 0xffff).toString(16);
    const once = limits({ RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: "1" });
    const wrong = (ip: string) => call("/v1/models", { headers: { "X-API-Key": "dck_wrong", "CF-Connecting-IP": ip } }, once);
    expect((await wrong(`2001:db8:${n}:7::1`)).status).toBe(401);
    expect((await wrong(`2001:db8:${n}:7:abcd::42`)).status).toBe(429); // same /64
    expect((await wrong(`2001:db8:${n}:8::1`)).status).toBe(401); // the next /64 is another client
  });

  it("the original's /start_chat: at most 100 documents, ids of at most 128 characters, each document charged", async () => {
    const col = await createCollection("legacy-caps");
    const key = (await tempKey(col)).temp_api_key as string;
    const start = (document: Json[]) =>
      call("/start_chat", { method: "POST", headers: { "X-API-Key": key }, json: { model: "m", document } }, limits());
    const many = await start(Array.from({ length: 101 }, (_, i) => ({ id: i, text: `document ${i}` })));
    expect(many.status).toBe(400);
    const refused = await body(many);
    expect(refused.code).toBe("missing_fields"); // the original's flat shape and code
    expect(refused.error).toBe("Too many documents: at most 100 per request");
    expect((await start([{ id: "x".repeat(129), text: "a long id" }])).status).toBe(400);
    const three = await start([1, 2, 3].map((i) => ({ id: `id-${i}`, text: `Charged document number ${i}.` })));
    expect(three.status).toBe(200);
    // 300 a minute: the two refused requests paid their declared cost (5 each), the three documents 5 each.
    expect(three.headers.get("RateLimit")).toMatch(/"key";r=275;/);
  });

  it("the original's /get_temp_api_key: at most 100 documents or embeddings, refused in the flat shape before anything is ingested", async () => {
    const issue = (json: Json) => call("/get_temp_api_key", { method: "POST", headers: master(), json }, limits());
    const documents = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `cap-${i}`, text: `capped document ${i}` }));
    const before = (await env.DB.prepare("SELECT COUNT(*) AS n FROM collections").first<{ n: number }>())?.n;
    for (const json of [
      { model: "m", embeddings: [], document: documents(101) },
      { model: "m", embeddings: Array.from({ length: 101 }, () => [0.1]), document: documents(1) },
    ]) {
      const res = await issue(json);
      expect(res.status).toBe(400);
      expect(await body(res)).toMatchObject({ code: "missing_fields", error: "Too many documents: at most 100 per request" });
    }
    // Nothing was ingested: no collection was created for the refused bodies.
    expect((await env.DB.prepare("SELECT COUNT(*) AS n FROM collections").first<{ n: number }>())?.n).toBe(before);
    // Any other unusable body keeps the original's text.
    expect(await body(await issue({ model: "m" }))).toMatchObject({
      code: "missing_fields",
      error: "Missing required fields (model, embeddings, document)",
    });
    const ids = await body(await issue({ model: "m", embeddings: [], document: [{ id: "x".repeat(129), text: "a long id" }] }));
    expect(ids.code).toBe("missing_fields");
    // 100 is accepted.
    expect((await issue({ model: "m", embeddings: [], document: documents(100) })).status).toBe(200);
  });

  it("the original's /make_embedding: each file charged as an upload; over 100 files refused in the flat shape", async () => {
    const col = await createCollection("legacy-embed-charge");
    const key = (await tempKey(col)).temp_api_key as string;
    const post = (n: number) => {
      const form = new FormData();
      for (let i = 0; i < n; i++)
        form.append("file", new File([`Charged file number ${i} about warranties.`], `f-${i}.txt`, { type: "text/plain" }));
      return call("/make_embedding", { method: "POST", headers: { "X-API-Key": key }, body: form }, limits());
    };
    const three = await post(3);
    expect(three.status).toBe(200);
    // 300 a minute: three files at an upload's cost (5) each.
    expect(three.headers.get("RateLimit")).toMatch(/"key";r=285;/);
    const many = await post(101);
    expect(many.status).toBe(413);
    const refused = await body(many);
    expect(refused).toMatchObject({ code: "payload_too_large", error: "At most 100 files per request" });
  });

  it("a filter nested 10,000 levels deep is 400 without being parsed recursively", async () => {
    const col = await createCollection("deep-filter");
    let filter: Json = { type: "eq", key: "k", value: "v" };
    for (let i = 0; i < 10_000; i++) filter = { type: "and", filters: [filter] };
    const res = await call(`/v1/collections/${col}/search`, {
      method: "POST",
      headers: master(),
      json: { query: "x", filter: { metadata: filter } },
    });
    expect(res.status).toBe(400);
    expect((await body(res)).error.code).toBe("validation_error");
    // Five levels are still fine.
    let ok: Json = { type: "eq", key: "k", value: "v" };
    for (let i = 0; i < 4; i++) ok = { type: "and", filters: [ok] };
    const fine = await call(`/v1/collections/${col}/search`, {
      method: "POST",
      headers: master(),
      json: { query: "x", filter: { metadata: ok } },
    });
    expect(fine.status).toBe(200);
  });
});
