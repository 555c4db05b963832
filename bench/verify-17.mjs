#!/usr/bin/env node
// Issue 17's "Done when", the items that are stated against `npm run dev`, checked end to end over HTTP.
//
//   node bench/verify-17.mjs                     starts its own `npm run dev` (free port and inspector
//                                                port, fresh --persist-to, private WRANGLER_REGISTRY_PATH,
//                                                the production rate limits) and stops it afterwards
//   node bench/verify-17.mjs --url URL --key MASTER_KEY   against a server somebody else runs (it must
//                                                use the production limits: key 300/min, failed auth 10/min)
//
// Each check prints one line, PASS or FAIL with what was seen; the exit code is the number of FAILs.
// The same properties are tested in workerd by test/access.test.ts (named next to each check); this
// script shows them through wrangler dev's own HTTP stack, as a client sees them.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort, ROOT } from "./lib/server.mjs";
import { parseArgs, sleep } from "./lib/util.mjs";

/** The production defaults (src/config.ts, wrangler.jsonc `ratelimits`). */
const LIMITS = { RATE_LIMIT_IP_PER_MINUTE: "600", RATE_LIMIT_KEY_PER_MINUTE: "300", RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: "10" };

const results = [];
function check(name, ok, seen, test) {
  results.push({ name, ok });
  console.log(`${ok ? "PASS" : "FAIL"}  ${name}\n      seen: ${seen}${test ? `\n      also: ${test}` : ""}`);
}

/** A fresh client address per check, so that one check's failed-auth or IP counts never reach another. */
let ipSeq = 0;
const ip = () => `10.17.${Math.floor(ipSeq / 250)}.${(ipSeq++ % 250) + 1}`;

async function http(base, method, p, { headers = {}, json, body } = {}) {
  const h = { ...headers };
  if (json !== undefined) h["Content-Type"] = "application/json";
  const res = await fetch(base + p, { method, headers: h, body: json !== undefined ? JSON.stringify(json) : body });
  const text = await res.text();
  let parsed = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

async function startDev() {
  const dir = mkdtempSync(path.join(tmpdir(), "verify-17-"));
  const port = await freePort();
  const inspector = await freePort();
  const masterKey = `mk_verify_${randomBytes(32).toString("base64url")}`;
  const envFile = path.join(dir, "verify.env");
  const vars = {
    MASTER_API_KEY: masterKey,
    JWT_SECRET_KEY: randomBytes(48).toString("base64url"),
    ANSWER_PROVIDER: "extractive",
    ...LIMITS,
  };
  writeFileSync(
    envFile,
    `${Object.entries(vars)
      .map(([k, v]) => `${k}=${v}`)
      .join("\n")}\n`,
    { mode: 0o600 },
  );
  // The server's own output (its auth_failed warnings among it) goes to a file, kept out of the report.
  const logFile = path.join(dir, "dev.log");
  const log = openSync(logFile, "a");
  const child = spawn(
    "npm",
    ["run", "dev", "--", "--port", String(port), "--inspector-port", String(inspector), "--persist-to", dir, "--env-file", envFile],
    {
      cwd: ROOT,
      // A private dev registry: another `wrangler dev` on the machine would otherwise reload this one.
      env: { ...process.env, WRANGLER_REGISTRY_PATH: process.env.WRANGLER_REGISTRY_PATH ?? "/tmp/registry-sec" },
      stdio: ["ignore", log, log],
      detached: true, // own process group: stopped as a whole, and nothing else
    },
  );
  closeSync(log);
  const stop = async () => {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      // already gone
    }
    await sleep(1500);
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 180_000; Date.now() < deadline; await sleep(250)) {
    try {
      if ((await fetch(`${url}/healthz`)).status === 200) return { url, masterKey, stop };
    } catch {
      // not listening yet
    }
  }
  const tail = readFileSync(logFile, "utf8").split("\n").slice(-30).join("\n");
  await stop();
  throw new Error(`npm run dev did not answer /healthz within 180 s:\n${tail}`);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const server = args.url
    ? { url: String(args.url).replace(/\/+$/, ""), masterKey: String(args.key), stop: async () => {} }
    : await startDev();
  const base = server.url;
  const master = (extra = {}) => ({ "X-Master-API-Key": server.masterKey, "CF-Connecting-IP": ip(), ...extra });
  try {
    // One collection with one indexed document, and a helper for fresh temporary keys on it.
    const col = (await http(base, "POST", "/v1/collections", { headers: master(), json: { name: "verify-17" } })).body.id;
    const up = await http(base, "POST", `/v1/collections/${col}/documents`, {
      headers: master(),
      json: { documents: [{ name: "office.md", text: "# Office\n\nThe office opens at 9am on weekdays and closes at 5pm." }] },
    });
    const docId = up.body.documents[0].id;
    for (let i = 0; i < 240; i++) {
      const d = await http(base, "GET", `/v1/collections/${col}/documents/${docId}`, { headers: master() });
      if (d.body.status === "ready") break;
      await sleep(250);
    }
    const newKey = async () =>
      (await http(base, "POST", "/v1/keys", { headers: master(), json: { collection_id: col } })).body.temp_api_key;

    // 1. 80 completions with one key: 300 units a minute, a chat costs 5 → 60 answered, then 429 with Retry-After.
    {
      const key = await newKey();
      const statuses = [];
      let retryAfter = null;
      for (let i = 0; i < 80; i++) {
        const r = await http(base, "POST", "/v1/chat/completions", {
          headers: { Authorization: `Bearer ${key}`, "CF-Connecting-IP": ip() },
          json: { model: "default", messages: [{ role: "user", content: "When does the office open?" }] },
        });
        statuses.push(r.status);
        if (r.status === 429 && retryAfter === null) retryAfter = r.headers.get("Retry-After");
      }
      const ok200 = statuses.filter((s) => s === 200).length;
      const first429 = statuses.indexOf(429);
      check(
        "80 completions with one key: 429 after the limit, with Retry-After",
        ok200 === 60 && first429 === 60 && statuses.slice(60).every((s) => s === 429) && Boolean(retryAfter),
        `${ok200} × 200, first 429 at request ${first429 + 1}, ${statuses.slice(60).filter((s) => s === 429).length} of the last 20 are 429, Retry-After: ${retryAfter}`,
        'test/access.test.ts "80 completions with one key: 429 with Retry-After once the key\'s budget is spent"',
      );
    }

    // 2. Unauthenticated `{}` on every operation of /openapi.json that is not public and whose method
    //    carries a body (POST, PUT, PATCH, DELETE), whether or not the operation declares one.
    {
      const doc = (await http(base, "GET", "/openapi.json")).body;
      const seen = [];
      for (const [p, item] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(item)) {
          const isPublic = op.security !== undefined && (op.security.length === 0 || op.security.some((r) => !Object.keys(r).length));
          if (isPublic || !["post", "put", "patch", "delete"].includes(method)) continue;
          const concrete = p.replace(/\{\w+\}/g, "x");
          const r = await http(base, method.toUpperCase(), concrete, { headers: { "CF-Connecting-IP": ip() }, json: {} });
          seen.push({ op: `${method.toUpperCase()} ${p}`, status: r.status });
        }
      }
      const bad = seen.filter((s) => s.status !== 401);
      check(
        "unauthenticated {} on every body route: 401",
        seen.length > 0 && bad.length === 0,
        `${seen.length} operations (${seen.map((s) => s.op).join(", ")}), ${seen.length - bad.length} × 401${bad.length ? `; not 401: ${JSON.stringify(bad)}` : ""}`,
        'test/access.test.ts "no credentials → 401; a wrong credential → 401 counted …" (the OpenAPI walk, every operation)',
      );
    }

    // 3. 15 wrong master keys on /v1/models from one address: 10 × 401, then 429 with Retry-After.
    {
      const addr = ip();
      const statuses = [];
      let retryAfter = null;
      for (let i = 0; i < 15; i++) {
        const r = await http(base, "GET", "/v1/models", {
          headers: { "X-Master-API-Key": `wrong-${i}-0123456789abcdef`, "CF-Connecting-IP": addr },
        });
        statuses.push(r.status);
        if (r.status === 429) retryAfter = r.headers.get("Retry-After");
      }
      check(
        "15 wrong master keys on /v1/models reach 429",
        statuses.slice(0, 10).every((s) => s === 401) && statuses.slice(10).every((s) => s === 429) && Boolean(retryAfter),
        `${JSON.stringify(statuses)}, Retry-After: ${retryAfter}`,
        'test/access.test.ts "15 wrong master keys on /v1/models reach 429"',
      );
    }

    // 4. /v1/%63hat behaves exactly like /v1/chat: same answers, same key's budget, same refusal.
    {
      const key = await newKey();
      const chat = (p, headers = { "X-API-Key": key }) =>
        http(base, "POST", p, { headers: { ...headers, "CF-Connecting-IP": ip() }, json: { query: "When does the office open?" } });
      const pairs = [];
      const a = await chat("/v1/chat");
      const b = await chat("/v1/%63hat");
      pairs.push(["first", a.status, a.headers.get("RateLimit"), b.status, b.headers.get("RateLimit")]);
      const anonA = await chat("/v1/chat", {});
      const anonB = await chat("/v1/%63hat", {});
      pairs.push(["no credentials", anonA.status, anonB.status]);
      let spent = 2;
      while (spent < 60 && (await chat("/v1/chat")).status === 200) spent++;
      const afterA = await chat("/v1/chat");
      const afterB = await chat("/v1/%63hat");
      pairs.push(["key spent", afterA.status, afterB.status, afterB.headers.get("Retry-After")]);
      const endA = await http(base, "DELETE", "/v1/sessions/ses_nope", { headers: master() });
      const endB = await http(base, "DELETE", "/v1/%73essions/ses_nope", { headers: master() });
      pairs.push(["DELETE session (master)", endA.status, endB.status]);
      const remaining = (h) => Number(/r=(\d+)/.exec(h ?? "")?.[1]);
      check(
        "/v1/%63hat behaves exactly like /v1/chat",
        a.status === 200 &&
          b.status === 200 &&
          remaining(a.headers.get("RateLimit")) - remaining(b.headers.get("RateLimit")) === 5 &&
          anonA.status === 401 &&
          anonB.status === 401 &&
          afterA.status === 429 &&
          afterB.status === 429 &&
          Boolean(afterB.headers.get("Retry-After")) &&
          endA.status === endB.status &&
          endB.status === 404,
        JSON.stringify(pairs),
        'test/access.test.ts "/v1/%63hat is /v1/chat …" and the encoded pass of the walk',
      );
    }

    // 5. An MCP batch of 100 `ask` calls: refused before any tool runs (the key is charged one request only).
    {
      const key = await newKey();
      const headers = { Authorization: `Bearer ${key}`, Accept: "application/json, text/event-stream", "CF-Connecting-IP": ip() };
      const ask = (id) => ({
        jsonrpc: "2.0",
        id,
        method: "tools/call",
        params: { name: "ask", arguments: { question: "When does the office open?" } },
      });
      const batch = await http(base, "POST", "/mcp", { headers, json: Array.from({ length: 100 }, (_, i) => ask(i)) });
      const single = await http(base, "POST", "/mcp", { headers: { ...headers, "CF-Connecting-IP": ip() }, json: ask(1) });
      check(
        "an MCP batch of 100 ask calls is refused (or charged 100 chats)",
        batch.status === 400 && /"key";r=293;/.test(single.headers.get("RateLimit") ?? ""),
        `batch: ${batch.status} ${JSON.stringify(batch.body?.error ?? batch.body)}; one ask afterwards: ${single.status}, RateLimit ${single.headers.get("RateLimit")} (expected 293 = 300 − 1 for the refused batch's request − 1 − 5 for this request and its ask: no tool of the batch ran or was charged)`,
        'test/access.test.ts "MCP: a batch is refused before any tool runs; each tool call is charged (ask as a chat)"',
      );
    }
  } finally {
    await server.stop();
  }
  const failed = results.filter((r) => !r.ok).length;
  console.log(`\n${results.length - failed} of ${results.length} checks passed against ${args.url ? base : "a private npm run dev"}`);
  process.exitCode = failed;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 100;
});
