#!/usr/bin/env node
// Post-deploy smoke test: `npm run smoke -- --url https://docchat.example.workers.dev [--master-key K]`.
//
// Runs against any deployment, local or production, and checks every public surface once:
//   1. the original's flow: make_embedding -> get_temp_api_key -> api/start_chat -> api/chat
//   2. the v1 flow: create a collection, upload JSON documents, poll until ready, search, chat
//   3. OpenAI-compatible chat completions through the official `openai` SDK, plain and streaming,
//      plus models.list and vectorStores.search (the README's own snippets, examples/openai-sdk.mjs)
//   4. MCP: initialize + tools/list + one tools/call through the SDK's client (examples/mcp-client.mjs)
//   5. a document delete, then cleanup of everything it created (collections and keys), even on failure.
//   6. webhooks: with --local, a receiver this script runs on 127.0.0.1 (the local server is started
//      with WEBHOOK_ALLOW_LOOPBACK=1) gets a signed document.ready per upload and a document.deleted,
//      each signature verified here, and the delivery log says `succeeded`. Against --url, the
//      deployment must refuse a loopback endpoint, and an https one is registered, listed and removed.
// Exits 0 when every step passed, 1 on the first failure (after cleaning up).
//
// `--local` starts its own `npm run dev` (a private wrangler registry and state directory, port
// --port, else a free one) with fresh secrets, runs the checks against it and stops it: the CI mode.
// The master key comes from --master-key, else $MASTER_API_KEY, else MASTER_API_KEY in .dev.vars.
import { spawn } from "node:child_process";
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { freePort } from "../bench/lib/server.mjs";

const { values: args } = parseArgs({
  options: {
    url: { type: "string" },
    "master-key": { type: "string" },
    local: { type: "boolean", default: false },
    port: { type: "string", default: process.env.SMOKE_PORT },
    "timeout-ms": { type: "string", default: "60000" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (args.help || (!args.url && !args.local)) {
  console.log("Usage: npm run smoke -- --url URL [--master-key KEY]\n       npm run smoke -- --local [--port N]");
  process.exit(args.help ? 0 : 2);
}

const TIMEOUT = Number(args["timeout-ms"]);
let failed = false;
const created = { collections: new Set(), keys: new Set() };
let base = args.url?.replace(/\/+$/, "");
let masterKey = args["master-key"] ?? process.env.MASTER_API_KEY;
let server = null;
let stateDir = null;

class SmokeError extends Error {}
const check = (ok, step, detail) => {
  if (!ok) throw new SmokeError(`${step}: ${typeof detail === "string" ? detail : JSON.stringify(detail).slice(0, 500)}`);
};

async function api(step, pathname, init = {}, expected = [200]) {
  const headers = new Headers(init.headers);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("Content-Type", "application/json");
    body = JSON.stringify(init.json);
  }
  let res;
  try {
    res = await fetch(`${base}${pathname}`, { ...init, headers, body, signal: AbortSignal.timeout(TIMEOUT) });
  } catch (err) {
    throw new SmokeError(`${step}: cannot reach ${base}${pathname} (${err.cause?.code ?? err.message})`);
  }
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    throw new SmokeError(`${step}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
  }
  if (!expected.includes(res.status)) {
    const e = typeof json.error === "object" ? json.error : json;
    throw new SmokeError(
      `${step}: HTTP ${res.status} ${e.code ?? ""} ${e.message ?? e.error ?? ""} (request ${res.headers.get("x-request-id") ?? "?"})`,
    );
  }
  return { status: res.status, headers: res.headers, json };
}

const master = () => ({ "X-Master-API-Key": masterKey });
const ok = (step, note = "") => console.log(`ok   ${step}${note ? `: ${note}` : ""}`);

async function waitReady(collectionId, documentId) {
  const deadline = Date.now() + TIMEOUT;
  for (;;) {
    const { json } = await api("poll document", `/v1/collections/${collectionId}/documents/${documentId}`, { headers: master() });
    if (json.status === "ready") return json;
    check(json.status !== "failed", "poll document", json.error ?? json);
    check(Date.now() < deadline, "poll document", `still ${json.status} after ${TIMEOUT} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A webhook receiver on 127.0.0.1 (local mode): records each request; `verify` checks its Standard Webhooks signature. */
let receiver = null;
async function startReceiver() {
  const events = [];
  const srv = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      events.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  receiver = { srv, events, url: `http://127.0.0.1:${srv.address().port}/hook` };
}

function verifySignature(secret, headers, body) {
  const id = headers["webhook-id"];
  const ts = headers["webhook-timestamp"];
  if (!id || !ts || Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false;
  const expected = createHmac("sha256", Buffer.from(secret.slice("whsec_".length), "base64"))
    .update(`${id}.${ts}.${body}`)
    .digest();
  return String(headers["webhook-signature"] ?? "")
    .split(" ")
    .some((s) => {
      const [v, sig] = s.split(",");
      const got = Buffer.from(sig ?? "", "base64");
      return v === "v1" && got.length === expected.length && timingSafeEqual(got, expected);
    });
}

async function waitForEvent(secret, predicate, what) {
  const deadline = Date.now() + TIMEOUT;
  for (;;) {
    const hit = receiver.events.find((e) => predicate(JSON.parse(e.body)));
    if (hit) {
      check(verifySignature(secret, hit.headers, hit.body), what, "signature does not verify");
      return JSON.parse(hit.body);
    }
    check(Date.now() < deadline, what, `no ${what} after ${TIMEOUT} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const DOC = `# The Kallvik lighthouse

The Kallvik lighthouse was first lit on 3 October 1874. The light flashes white twice every 12 seconds.
The light was automated in 1968, when the last keeper, Anders Lind, left the island.`;

async function run() {
  const health = await api("healthz", "/healthz");
  ok("healthz", `${health.json.status}; answerer ${health.json.providers?.answerer?.id ?? "?"}`);

  // 1. The original's flow.
  const form = new FormData();
  form.append("file", new Blob([DOC], { type: "text/markdown" }), "smoke-kallvik.md");
  const made = (await api("make_embedding", "/make_embedding", { method: "POST", headers: master(), body: form })).json;
  if (made.collection_id) created.collections.add(made.collection_id);
  check(made.results?.[0]?.status === "ready", "make_embedding", made);
  ok("make_embedding", `collection ${made.collection_id}`);
  const temp = (
    await api("get_temp_api_key", "/get_temp_api_key", {
      method: "POST",
      headers: master(),
      json: { collection_id: made.collection_id, ttl_seconds: 600 },
    })
  ).json;
  created.keys.add(temp.key_id);
  ok("get_temp_api_key", temp.key_id);
  const chat = (await api("api/start_chat", "/api/start_chat", { method: "POST", headers: { "X-API-Key": temp.temp_api_key } })).json;
  ok("api/start_chat", chat.session_id);
  const answer = (
    await api("api/chat", "/api/chat", {
      method: "POST",
      headers: { Authorization: chat.jwt_token },
      json: { query: "When was the Kallvik light automated?", url: chat.url },
    })
  ).json;
  check(/1968/.test(answer.answer) && answer.sources?.length > 0, "api/chat", answer);
  ok("api/chat", answer.answer.slice(0, 80));

  // 2. The v1 flow.
  const col = (
    await api("create collection", "/v1/collections", { method: "POST", headers: master(), json: { name: "smoke-test" } }, [201])
  ).json.id;
  created.collections.add(col);
  // 6. Webhooks, registered before the upload so that its events reach the receiver.
  const loopback = await api(
    "webhook on loopback",
    `/v1/collections/${col}/webhooks`,
    {
      method: "POST",
      headers: master(),
      json: { url: receiver?.url ?? "http://127.0.0.1:9/hook", events: ["document.ready", "document.deleted"] },
    },
    receiver ? [201] : [400],
  );
  const hook = receiver ? loopback.json : null;
  ok(
    receiver ? "webhook registered (loopback allowed locally)" : "webhook to loopback refused",
    receiver ? hook.id : loopback.json.error?.message,
  );
  if (!receiver) {
    const remote = (
      await api(
        "webhook (https)",
        `/v1/collections/${col}/webhooks`,
        {
          method: "POST",
          headers: master(),
          json: { url: "https://webhook-smoke.invalid/hook", events: ["collection.deleted"] },
        },
        [201],
      )
    ).json;
    check(/^whsec_/.test(remote.secret), "webhook (https)", "no whsec_ secret");
    const listed = (await api("list webhooks", `/v1/collections/${col}/webhooks`, { headers: master() })).json;
    check(
      listed.webhooks.some((w) => w.id === remote.id && w.secret === undefined),
      "list webhooks",
      listed,
    );
    await api("delete webhook", `/v1/collections/${col}/webhooks/${remote.id}`, { method: "DELETE", headers: master() });
    ok("webhook (https) registered, listed, removed");
  }
  const up = (
    await api(
      "upload",
      `/v1/collections/${col}/documents`,
      {
        method: "POST",
        headers: master(),
        json: {
          documents: [
            {
              name: "smoke-hours.md",
              text: "# Hours\n\nThe Lisbon office opens at 9am and closes at 6pm on weekdays.",
              metadata: { lang: "en", team: "red" },
            },
            {
              name: "smoke-expenses.md",
              text: "# Expenses\n\nTravel expenses are reimbursed within 30 days.",
              metadata: { lang: "en", team: "blue" },
            },
          ],
        },
      },
      [202],
    )
  ).json;
  const docIds = Object.fromEntries(up.documents.map((d) => [d.name, d.id]));
  for (const id of Object.values(docIds)) await waitReady(col, id);
  ok("upload + index", `${up.documents.length} documents`);
  if (hook) {
    for (const id of Object.values(docIds)) {
      await waitForEvent(hook.secret, (e) => e.type === "document.ready" && e.data.document_id === id, "document.ready event");
    }
    const log = (await api("webhook deliveries", `/v1/collections/${col}/webhooks/${hook.id}/deliveries`, { headers: master() })).json;
    check(log.deliveries.filter((d) => d.status === "succeeded").length >= 2, "webhook deliveries", log);
    ok("webhook: signed document.ready received and verified", `${log.deliveries.length} deliveries logged`);
  }
  const key = (
    await api("v1 key", "/get_temp_api_key", { method: "POST", headers: master(), json: { collection_id: col, ttl_seconds: 600 } })
  ).json;
  created.keys.add(key.key_id);
  const hits = (
    await api("search", `/v1/collections/${col}/search`, {
      method: "POST",
      headers: { "X-API-Key": key.temp_api_key },
      json: { query: "travel expenses", top_k: 3 },
    })
  ).json;
  check(hits.results?.[0]?.document_id === docIds["smoke-expenses.md"], "search", hits);
  ok("search", `${hits.results.length} results`);
  const v1 = (
    await api("v1/chat", "/v1/chat", {
      method: "POST",
      headers: { "X-API-Key": key.temp_api_key },
      json: { query: "When does the Lisbon office open?" },
    })
  ).json;
  check(/9/.test(v1.answer) && v1.sources.length > 0, "v1/chat", v1);
  ok("v1/chat", v1.answer.slice(0, 80));

  // 3. OpenAI-compatible routes through the official SDK (the README's snippets).
  const sdk = await import("../examples/openai-sdk.mjs");
  const plain = await sdk.askWithSources(`${base}/v1`, key.temp_api_key, "How long until travel expenses are reimbursed?");
  check(/30 days/.test(plain.answer ?? "") && plain.sources?.length > 0, "chat.completions", plain);
  ok("chat.completions", plain.answer.slice(0, 80));
  const streamed = await sdk.streamAnswer(`${base}/v1`, key.temp_api_key, "How long until travel expenses are reimbursed?");
  check(/30 days/.test(streamed.answer) && streamed.sources.length > 0 && streamed.usage, "chat.completions (stream)", streamed);
  ok("chat.completions (stream)", `${streamed.usage.completion_tokens} completion tokens`);
  const found = await sdk.searchDocuments(`${base}/v1`, key.temp_api_key, col, "travel expenses");
  check(found.models.includes(col) && found.results.length > 0, "models.list + vectorStores.search", found);
  ok("models.list + vectorStores.search", `${found.results.length} results`);

  // 4. MCP through the SDK's client.
  const mcp = await import("../examples/mcp-client.mjs");
  const viaMcp = await mcp.askOverMcp(base, key.temp_api_key, "When does the Lisbon office open?");
  check(
    ["ask", "list_documents", "read_document", "search_documents"].every((t) => viaMcp.tools.includes(t)),
    "mcp tools/list",
    viaMcp.tools,
  );
  check(/9/.test(viaMcp.answer ?? ""), "mcp tools/call ask", viaMcp);
  ok("mcp tools/list + ask", viaMcp.tools.join(", "));

  // 5. A key bound to team=red: blue is never returned, cited or readable (404), even when asked for.
  const bound = (
    await api(
      "v1/keys (bound)",
      "/v1/keys",
      {
        method: "POST",
        headers: master(),
        json: { collection_id: col, ttl_seconds: 600, scopes: ["read", "chat"], filter: { type: "eq", key: "team", value: "red" } },
      },
      [201],
    )
  ).json;
  created.keys.add(bound.key_id);
  check(bound.binding?.filter?.value === "red", "v1/keys (bound)", bound);
  const blue = docIds["smoke-expenses.md"];
  const boundHits = (
    await api("search (bound key)", `/v1/collections/${col}/search`, {
      method: "POST",
      headers: { "X-API-Key": bound.temp_api_key },
      json: { query: "travel expenses reimbursed office", top_k: 10 },
    })
  ).json;
  check(boundHits.results.length > 0 && boundHits.results.every((r) => r.document_id !== blue), "search (bound key)", boundHits);
  const widened = (
    await api("search (bound key, blue filter)", `/v1/collections/${col}/search`, {
      method: "POST",
      headers: { "X-API-Key": bound.temp_api_key },
      json: { query: "travel expenses", filter: { document_ids: [blue] } },
    })
  ).json;
  check(widened.results.length === 0, "search (bound key, blue filter)", widened);
  const boundChat = (
    await api("v1/chat (bound key)", "/v1/chat", {
      method: "POST",
      headers: { "X-API-Key": bound.temp_api_key },
      json: { query: "How long until travel expenses are reimbursed?" },
    })
  ).json;
  check(boundChat.sources.every((x) => x.document_id !== blue) && !/30 days/.test(boundChat.answer), "v1/chat (bound key)", boundChat);
  await api(
    "blue document (bound key)",
    `/v1/collections/${col}/documents/${blue}/content`,
    { headers: { "X-API-Key": bound.temp_api_key } },
    [404],
  );
  ok("bound key", "search, chat and download never reach the blue document");

  // 6. A delete.
  await api("delete document", `/v1/collections/${col}/documents/${docIds["smoke-hours.md"]}`, { method: "DELETE", headers: master() });
  await api("deleted document is gone", `/v1/collections/${col}/documents/${docIds["smoke-hours.md"]}`, { headers: master() }, [404]);
  ok("delete document");
  if (hook) {
    const id = docIds["smoke-hours.md"];
    await waitForEvent(hook.secret, (e) => e.type === "document.deleted" && e.data.document_id === id, "document.deleted event");
    ok("webhook: signed document.deleted received and verified");
  }
}

async function cleanup() {
  for (const id of created.keys) {
    await api(`revoke key ${id}`, `/v1/keys/${id}`, { method: "DELETE", headers: master() }, [200, 404]).catch((e) => {
      failed = true;
      console.error(`FAIL cleanup: ${e.message}`);
    });
  }
  for (const id of created.collections) {
    // 202: the collection is `deleting` at once and the queue removes it in pages; it must read as gone now.
    await api(`delete collection ${id}`, `/v1/collections/${id}`, { method: "DELETE", headers: master() }, [202, 404])
      .then(() => api(`collection ${id} is gone`, `/v1/collections/${id}`, { headers: master() }, [404]))
      .catch((e) => {
        failed = true;
        console.error(`FAIL cleanup: ${e.message}`);
      });
  }
  if (created.collections.size || created.keys.size) ok("cleanup", `${created.collections.size} collections, ${created.keys.size} keys`);
}

async function startLocal() {
  stateDir = mkdtempSync(path.join(tmpdir(), "docchat-smoke-"));
  masterKey = `mk_${randomBytes(32).toString("base64url")}`;
  const port = args.port ?? String(await freePort());
  base = `http://127.0.0.1:${port}`;
  // A private registry, so that other local dev servers starting or stopping never reload this one.
  const env = { ...process.env, WRANGLER_REGISTRY_PATH: path.join(stateDir, "registry") };
  // Secrets for this run only, in a 0600 file: with an explicit --env-file wrangler ignores any
  // .dev.vars, and the secrets stay out of the process list (where --var would put them).
  const vars = path.join(stateDir, "smoke.env");
  // WEBHOOK_ALLOW_LOOPBACK: this throwaway server may deliver to the receiver this script runs on
  // 127.0.0.1 (never set in production: there the same registration must be refused).
  writeFileSync(vars, `MASTER_API_KEY=${masterKey}\nJWT_SECRET_KEY=${randomBytes(48).toString("base64url")}\nWEBHOOK_ALLOW_LOOPBACK=1\n`, {
    mode: 0o600,
  });
  server = spawn(
    process.execPath,
    [
      "scripts/dev.mjs",
      "--port",
      port,
      "--inspector-port",
      String(await freePort()),
      "--persist-to",
      path.join(stateDir, "state"),
      "--env-file",
      vars,
    ],
    { env, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  let log = "";
  server.stdout.on("data", (d) => (log += d));
  server.stderr.on("data", (d) => (log += d));
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (server.exitCode !== null) throw new SmokeError(`local server exited (${server.exitCode}):\n${log.slice(-2000)}`);
    try {
      const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new SmokeError(`local server not up after 120 s:\n${log.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  ok("local server", base);
}

function stopLocal() {
  if (server && server.exitCode === null) {
    try {
      process.kill(-server.pid, "SIGTERM"); // the whole group: npm, wrangler and workerd
    } catch {
      // already gone
    }
  }
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  receiver?.srv.close();
}

function readDevVarsKey() {
  try {
    const line = readFileSync(".dev.vars", "utf8")
      .split(/\r?\n/)
      .find((l) => /^\s*MASTER_API_KEY\s*=/.test(l));
    return line
      ?.slice(line.indexOf("=") + 1)
      .trim()
      .replace(/^(["'])(.*)\1$/, "$2");
  } catch {
    return undefined;
  }
}

try {
  if (args.local) {
    await startReceiver();
    await startLocal();
  }
  masterKey ??= readDevVarsKey();
  if (!masterKey) throw new SmokeError("no master key: pass --master-key, set MASTER_API_KEY, or keep it in .dev.vars");
  await run();
} catch (err) {
  failed = true;
  console.error(`FAIL ${err instanceof SmokeError ? err.message : (err.stack ?? err)}`);
} finally {
  if (masterKey && base) await cleanup();
  stopLocal();
}
console.log(failed ? "\nsmoke: FAILED" : "\nsmoke: OK");
process.exit(failed ? 1 : 0);
