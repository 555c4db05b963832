#!/usr/bin/env node
// The original's api_test.ipynb flow against a running server (`npm run dev`), in plain Node 20:
//   1. POST /make_embedding     upload a small document with the master key (-> a new collection)
//   2. POST /get_temp_api_key   a temporary key bound to that collection
//   3. POST /api/start_chat     a chat session with the temporary key
//   4. POST /api/chat           ask a question; print query, answer and sources
//
// Usage: npm run example -- [--url http://127.0.0.1:8787] [--key <master key>] [--question "..."]
// The master key comes from --key, else $MASTER_API_KEY, else MASTER_API_KEY in .dev.vars.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    url: { type: "string", default: process.env.DOCCHAT_URL ?? "http://127.0.0.1:8787" },
    key: { type: "string" },
    question: { type: "string", default: "When was the Kallvik light automated?" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (args.help) {
  console.log("Usage: node examples/api-test.mjs [--url URL] [--key MASTER_API_KEY] [--question TEXT]");
  process.exit(0);
}

const DOCUMENT = `# The Kallvik lighthouse

The Kallvik lighthouse stands on the northern skerry of Kallvik harbour. It was designed by the engineer
Margit Holm and first lit on 3 October 1874.

## The light

Its lamp sits 41 metres above the sea and can be seen from 19 nautical miles away in clear weather.
The light flashes white twice every 12 seconds. A fog horn sounds one long blast every 30 seconds in fog.

## Today

The light was automated in 1968, when the last keeper, Anders Lind, left the island. The keeper's cottage
now houses a small museum of fog signals, open daily from May to September.
`;

function fail(message) {
  console.error(`\napi-test: FAILED: ${message}`);
  process.exit(1);
}

function masterKey() {
  if (args.key) return args.key;
  if (process.env.MASTER_API_KEY) return process.env.MASTER_API_KEY;
  try {
    const line = readFileSync(".dev.vars", "utf8")
      .split(/\r?\n/)
      .find((l) => /^\s*MASTER_API_KEY\s*=/.test(l));
    const value = line
      ?.slice(line.indexOf("=") + 1)
      .trim()
      .replace(/^(["'])(.*)\1$/, "$2");
    if (value) return value;
  } catch {
    // no .dev.vars: reported below
  }
  return fail("no master key: pass --key, set MASTER_API_KEY, or run `npm run dev` once to write .dev.vars");
}

const base = args.url.replace(/\/+$/, "");

/** Calls the API; any non-2xx answer stops the run with the server's code, message and request id. */
async function call(step, path, init) {
  let res;
  try {
    res = await fetch(`${base}${path}`, init);
  } catch (err) {
    return fail(`${step}: cannot reach ${base} (${err.cause?.code ?? err.message}). Is the server running (npm run dev)?`);
  }
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    return fail(`${step}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
  }
  if (!res.ok) {
    const e = typeof body.error === "object" ? body.error : body;
    const detail = e.message ?? (typeof body.error === "string" ? body.error : "");
    return fail(
      `${step}: HTTP ${res.status} ${e.code ?? ""} ${detail} (request ${e.request_id ?? res.headers.get("x-request-id") ?? "?"})`,
    );
  }
  return body;
}

const key = masterKey();

const health = await call("healthz", "/healthz", { headers: { "X-Master-API-Key": key } });
console.log(`server ${base}: ${health.status}; answerer ${health.providers?.answerer?.id ?? "none"}`);

// 1. Upload and index a document. With the master key and no collection_id, a new collection is made.
const form = new FormData();
form.append("file", new Blob([DOCUMENT], { type: "text/markdown" }), "kallvik-lighthouse.md");
const made = await call("make_embedding", "/make_embedding", { method: "POST", headers: { "X-Master-API-Key": key }, body: form });
const result = made.results?.[0];
if (!made.collection_id || result?.status !== "ready") {
  fail(`make_embedding: the document was not indexed: ${JSON.stringify(result ?? made)}`);
}
console.log(`1. make_embedding: ${made.message}; collection ${made.collection_id}; ${result.chunk_count} chunk(s)`);

// 2. A temporary key for that collection, as a client application would hold.
const temp = await call("get_temp_api_key", "/get_temp_api_key", {
  method: "POST",
  headers: { "X-Master-API-Key": key, "Content-Type": "application/json" },
  body: JSON.stringify({ collection_id: made.collection_id, ttl_seconds: 600, scopes: ["read", "chat"] }),
});
console.log(`2. get_temp_api_key: key ${temp.key_id}, expires ${temp.expires_at}`);

// 3. Start a chat, as the notebook does: X-API-Key -> {jwt_token, url}.
const chat = await call("api/start_chat", "/api/start_chat", { method: "POST", headers: { "X-API-Key": temp.temp_api_key } });
console.log(`3. api/start_chat: session ${chat.session_id}, url ${chat.url}`);

// 4. Ask. The original sends the JWT raw in Authorization and echoes the url back.
const answer = await call("api/chat", "/api/chat", {
  method: "POST",
  headers: { Authorization: chat.jwt_token, "Content-Type": "application/json" },
  body: JSON.stringify({ query: args.question, url: chat.url }),
});
if (typeof answer.answer !== "string" || !answer.answer.trim()) fail(`api/chat: empty answer: ${JSON.stringify(answer)}`);

console.log(`\nquery:  ${answer.query}`);
console.log(`answer: ${answer.answer}`);
if (answer.sources?.length) {
  console.log("sources:");
  for (const s of answer.sources) {
    const where = [s.heading, s.page != null ? `page ${s.page}` : ""].filter(Boolean).join(", ");
    const snippet = s.text.replace(/\s+/g, " ").slice(0, 100);
    console.log(`  [${s.n}] ${s.document_name}${where ? ` (${where})` : ""} score ${s.score.toFixed(3)}: ${snippet}…`);
  }
}
console.log("\napi-test: OK");
