#!/usr/bin/env node
// Where an uncached chat turn spends the Worker's CPU: a private `wrangler dev` with SciFact loaded,
// a sampling CPU profile of the Worker's isolate (DevTools protocol on workerd's inspector port)
// while `connections` clients ask unique first-turn questions, and the self time per function and
// per source file, heaviest first. Server-Timing shows only I/O waits (workerd's clock stands still
// while JavaScript runs), so the CPU a turn burns on the one isolate thread is invisible there; at 8
// connections that CPU, queued, is most of an uncached chat's latency.
//
//   node bench/profile-chat.mjs [--limit N] [--duration 10] [--connections 8] [--kind chat,search] [--out PREFIX]
import { rm, writeFile } from "node:fs/promises";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire, SourceMap } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { apiClient } from "./lib/api.mjs";
import { startServer } from "./lib/server.mjs";
import { loadAvg, parseArgs } from "./lib/util.mjs";
import { loadStep } from "./serve.mjs";

const require = createRequire(import.meta.url);
// Node's own WebSocket cannot send the Origin header wrangler's inspector proxy insists on.
const WebSocketClient = require("ws");

/** A DevTools session on the first target workerd's inspector lists (the Worker's isolate). */
export async function devtools(port) {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  const target = targets.find((t) => t.webSocketDebuggerUrl) ?? targets[0];
  const ws = new WebSocketClient(target.webSocketDebuggerUrl, { origin: "http://127.0.0.1" });
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  let id = 0;
  const pending = new Map();
  ws.on("message", (data) => {
    const msg = JSON.parse(String(data));
    // workerd answers a command with no result (Profiler.enable, .start) by echoing it: any reply with the id settles it.
    const p = msg.id !== undefined ? pending.get(msg.id) : undefined;
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(msg.error.message));
    else p.resolve(msg.result);
  });
  return {
    targets,
    send: (method, params = {}) =>
      new Promise((resolve, reject) => {
        const n = ++id;
        pending.set(n, { resolve, reject });
        ws.send(JSON.stringify({ id: n, method, params }));
      }),
    close: () => ws.close(),
  };
}

/** wrangler's bundle of the snapshot (dev builds write a source map beside it), to name src/ lines. */
export function bundleMap(snapshotDir) {
  const tmp = path.join(snapshotDir, ".wrangler/tmp");
  if (!existsSync(tmp)) return null;
  for (const d of readdirSync(tmp)) {
    const map = path.join(tmp, d, "index.js.map");
    if (existsSync(map)) return new SourceMap(JSON.parse(readFileSync(map, "utf8")));
  }
  return null;
}

/** Self time (ms) per function and per file from a V8 CPU profile (`map`: the bundle's source map). */
export function selfTimes(profile, map = null) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map();
  for (const s of profile.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
  const total = profile.samples.length;
  const msPerSample = (profile.endTime - profile.startTime) / 1000 / Math.max(total, 1);
  const fn = new Map();
  const file = new Map();
  for (const [nid, c] of counts) {
    const cf = byId.get(nid).callFrame;
    let where = cf.url ? cf.url.replace(/^.*\//, "") : "(native)";
    let line = cf.lineNumber + 1;
    const origin = map && cf.url && cf.lineNumber >= 0 ? map.findEntry(cf.lineNumber, cf.columnNumber) : null;
    if (origin?.originalSource) {
      where = origin.originalSource.replace(/^.*?\/(src|node_modules)\//, "$1/");
      line = origin.originalLine + 1;
    }
    const key = `${cf.functionName || "(anonymous)"} ${where}:${line}`;
    fn.set(key, (fn.get(key) ?? 0) + c);
    file.set(where, (file.get(where) ?? 0) + c);
  }
  const rank = (m) => [...m.entries()].sort((a, b) => b[1] - a[1]).map(([k, c]) => ({ where: k, ms: c * msPerSample, share: c / total }));
  return { samples: total, ms: total * msPerSample, functions: rank(fn), files: rank(file) };
}

/** One load step of `kind` under the profiler; prints the Worker isolate's self time per file and function. */
async function profileKind(server, dt, { kind, collectionId, q, tag, connections, durationS, out, map }) {
  await dt.send("Profiler.setSamplingInterval", { interval: 250 });
  await dt.send("Profiler.start");
  const headers = { "X-Master-API-Key": server.masterKey };
  const step =
    kind === "search"
      ? {
          path: `/v1/collections/${collectionId}/search`,
          makeBody: (n) => ({ query: `${q(n)} zp${tag}n${n}`, top_k: 10, mode: "hybrid" }),
        }
      : { path: "/v1/chat", makeBody: (n) => ({ query: `${q(n + 20)} (p ${tag} n${n})`, collection_id: collectionId, top_k: 5 }) };
  const load = loadAvg();
  const r = await loadStep({ url: server.url, headers, connections, durationS, label: kind, ...step });
  const { profile } = await dt.send("Profiler.stop");
  if (out) await writeFile(`${out}.${kind}.cpuprofile`, JSON.stringify(profile));
  const t = selfTimes(profile, map);
  console.log(
    `${kind}: ${r.requests} requests, ${r.requests_per_s.toFixed(0)}/s, p50 ${r.latency_ms.p50?.toFixed(1)} p95 ${r.latency_ms.p95?.toFixed(1)} ms; load ${load.join(" ")}`,
  );
  console.log(
    `Server-Timing means: ${JSON.stringify(Object.fromEntries(Object.entries(r.server_timing_ms ?? {}).map(([k, v]) => [k, +v.mean.toFixed(2)])))}`,
  );
  const perReq = (ms) => (ms / Math.max(r.requests, 1)).toFixed(3);
  console.log(`\nWorker isolate CPU samples: ${t.samples} (${t.ms.toFixed(0)} ms over the step; ms per request in brackets)`);
  console.log("\nby file:");
  for (const f of t.files.slice(0, 25)) console.log(`  ${(f.share * 100).toFixed(1).padStart(5)}%  [${perReq(f.ms)}]  ${f.where}`);
  console.log("\nby function:");
  for (const f of t.functions.slice(0, 40)) console.log(`  ${(f.share * 100).toFixed(1).padStart(5)}%  [${perReq(f.ms)}]  ${f.where}`);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const connections = Number(args.connections ?? 8);
  const durationS = Number(args.duration ?? 10);
  const kinds = String(args.kind ?? "chat").split(",");
  // The state is kept so that the bundle's source map can be read; the directory is removed below.
  const server = await startServer({ keepState: true });
  try {
    const { ingestScifact } = await import("./ingest.mjs");
    console.log(`loading SciFact into ${server.url} ...`);
    const ing = await ingestScifact(server, { limit: args.limit ? Number(args.limit) : undefined });
    if (!ing.measurement.settled) throw new Error("ingestion did not finish");
    const collectionId = ing.collection.id;
    const q = (n) => ing.queries[n % ing.queries.length].text;
    const api = apiClient(server.url, server.masterKey);
    const tag = Date.now().toString(36);
    for (let i = 0; i < 20; i++) await api.chat({ query: `${q(i)} (warm-up ${tag})`, collection_id: collectionId, top_k: 5 });
    const map = bundleMap(path.join(server.persistTo, "src-snapshot"));
    if (!map) console.log("(no source map found: lines are the bundle's)");
    const dt = await devtools(server.inspectorPort);
    await dt.send("Profiler.enable");
    for (const kind of kinds) await profileKind(server, dt, { kind, collectionId, q, tag, connections, durationS, out: args.out, map });
    dt.close();
  } finally {
    await server.stop();
    await rm(server.persistTo, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(`bench/profile-chat: ${err.stack ?? err}`);
      process.exit(1);
    },
  );
}
