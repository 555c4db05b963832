#!/usr/bin/env node
// Serving benchmark against a SciFact collection: search (hybrid, top_k 10) and extractive chat
// (/v1/chat), each for a fixed time at 1, 8 and 32 concurrent connections with autocannon, then the
// original's three-step flow (temp key -> start chat -> chat) N times in sequence.
//
//   node bench/serve.mjs [--quick] [--limit N] [--duration 20] [--connections 1,8,32] [--url URL --key KEY --collection ID]
//
// Every request carries a different SciFact query. The chat answer is cached at the edge per
// (collection, normalised query, model, top_k); a repeated question would measure the cache, so the
// chat steps make each question unique (a request number appended) and report the X-Cache counts.
// A separate step measures cache hits on purpose; diagnostic steps at 8 connections measure the
// floor of the local stack (GET /healthz) and each side of the hybrid search. Targets at 8
// connections: search p95 ≤ 50 ms, chat p95 ≤ 80 ms. autocannon reports no p95, so latencies are
// collected per response here.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { apiClient } from "./lib/api.mjs";
import { rssSampler } from "./lib/proc.mjs";
import { serverFromArgs } from "./lib/server.mjs";
import {
  checkQuiet,
  fmt,
  latencySummary,
  loadAvg,
  machineInfo,
  parseArgs,
  printTable,
  serverTimingCollector,
  sleep,
  writeResult,
} from "./lib/util.mjs";

const require = createRequire(import.meta.url);
const autocannon = require("autocannon");

export const TARGETS_P95_MS = { search: 50, chat: 80 };

/**
 * One load step: `connections` clients for `durationS` seconds, each request built by `makeBody(n)`.
 * @returns {Promise<object>} requests/s, latency percentiles (2xx only, as autocannon), errors, non-2xx, cache counts
 */
export async function loadStep({ url, path, method = "POST", headers, makeBody, connections, durationS, label }) {
  let n = 0;
  const latencies = [];
  const statuses = {};
  const cache = {};
  const timing = serverTimingCollector();
  const instance = autocannon({
    url: url + path,
    connections,
    duration: durationS,
    timeout: 30,
    title: label,
    requests: [
      {
        method,
        headers: makeBody ? { "content-type": "application/json", ...headers } : headers,
        ...(makeBody ? { setupRequest: (req) => ({ ...req, body: JSON.stringify(makeBody(n++)) }) } : {}),
        onResponse: (_status, _body, _ctx, resHeaders) => {
          for (const [k, v] of Object.entries(resHeaders ?? {})) {
            const name = k.toLowerCase();
            if (name === "x-cache") cache[v] = (cache[v] ?? 0) + 1;
            else if (name === "server-timing") timing.add(v);
          }
        },
      },
    ],
  });
  instance.on("response", (_client, statusCode, _bytes, responseTime) => {
    statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
  });
  const result = await instance;
  const lat = latencySummary(latencies);
  return {
    label,
    connections,
    duration_s: durationS,
    requests: result.requests.total,
    requests_per_s: result.requests.total / (result.duration || durationS),
    latency_ms: { p50: lat.p50, p95: lat.p95, p99: lat.p99, mean: lat.mean, max: lat.max },
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statuses,
    cache,
    server_timing_ms: timing.summary(),
  };
}

/**
 * The request kinds of the edge data plane side by side: GET /healthz, hybrid search, a cached
 * first-turn chat answered by the local tier (Cache API), one answered by the global tier (KV; the
 * master-key diagnostic header `X-Answer-Cache: global-only` skips the local tier) and uncached
 * chats (unique questions), all running at once, each with `connections` clients. Each p95 is
 * reported with its ratio to /healthz's p95 in the same run, which holds on a noisy machine where
 * absolute figures do not.
 */
export async function mixedStep(server, { collectionId, queries, connections, durationS, runTag }) {
  const headers = { "X-Master-API-Key": server.masterKey };
  const api = apiClient(server.url, server.masterKey);
  const q = (n) => queries[n % queries.length].text;
  // Searches never repeat within a run (the object caches results per query): a unique tag that
  // matches no indexed term makes each one new without changing what it finds.
  const uq = (n) => `${q(n)} zq${runTag}m${connections}n${n}`;
  const localQs = Array.from({ length: 10 }, (_, i) => `${q(i)} (local ${runTag} c${connections})`);
  const globalQs = Array.from({ length: 10 }, (_, i) => `${q(i + 10)} (global ${runTag} c${connections})`);
  // Fill both tiers for the cached questions (the writes run in waitUntil; give them a moment). A
  // first miss writes the Cache API only; KV is written when a question comes back, so the global
  // kind's questions are asked twice.
  for (const query of [...localQs, ...globalQs, ...globalQs]) await api.chat({ query, collection_id: collectionId, top_k: 5 });
  await sleep(1000);
  const chatBody = (query) => ({ query, collection_id: collectionId, top_k: 5 });
  const kinds = [
    { kind: "healthz", path: "/healthz", method: "GET", headers: {} },
    {
      kind: "search (hybrid)",
      path: `/v1/collections/${collectionId}/search`,
      headers,
      makeBody: (n) => ({ query: uq(n), top_k: 10, mode: "hybrid" }),
    },
    { kind: "chat, local hit", path: "/v1/chat", headers, makeBody: (n) => chatBody(localQs[n % localQs.length]) },
    {
      kind: "chat, global hit",
      path: "/v1/chat",
      headers: { ...headers, "X-Answer-Cache": "global-only" },
      makeBody: (n) => chatBody(globalQs[n % globalQs.length]),
    },
    {
      kind: "chat, uncached",
      path: "/v1/chat",
      headers,
      makeBody: (n) => chatBody(`${q(n + 20)} (mixed ${runTag} c${connections} n${n})`),
    },
  ];
  const results = await Promise.all(
    kinds.map((k) =>
      loadStep({ url: server.url, ...k, connections, durationS, label: `${k.kind} c=${connections} (mixed)` }).then((r) => ({
        kind: k.kind,
        ...r,
      })),
    ),
  );
  const floor = results[0].latency_ms.p95;
  for (const r of results) r.p95_ratio_to_healthz = floor && r.latency_ms.p95 !== null ? r.latency_ms.p95 / floor : null;
  return { connections, duration_s: durationS, kinds: results };
}

/** Issue 9 and 14 targets at 8 connections: p95 ratio to /healthz's p95 in the same mixed run. */
export const MIXED_TARGETS = { "search (hybrid)": 3, "chat, local hit": 1.5, "chat, global hit": 2, "chat, uncached": 4 };

export function printMixed(mixed) {
  for (const m of mixed) {
    printTable(
      ["request", "req/s", "p50 ms", "p95 ms", "p95 / healthz", "target", "errors", "non-2xx", "X-Cache"],
      m.kinds.map((k) => [
        k.kind,
        fmt(k.requests_per_s, 0),
        fmt(k.latency_ms.p50),
        fmt(k.latency_ms.p95),
        k.p95_ratio_to_healthz === null ? "–" : `${fmt(k.p95_ratio_to_healthz, 2)}×`,
        m.connections === 8 && MIXED_TARGETS[k.kind] ? `≤ ${MIXED_TARGETS[k.kind]}×` : "–",
        k.errors + k.timeouts,
        k.non2xx,
        Object.entries(k.cache)
          .map(([x, v]) => `${x} ${v}`)
          .join(", ") || "–",
      ]),
      `Side by side, ${m.connections} connections per kind, ${m.duration_s} s (all kinds at once; master key)`,
    );
  }
}

/** The original's flow, one step after another, `iterations` times: latency of each step. */
export async function legacyFlow(server, collectionId, queries, iterations) {
  const api = apiClient(server.url, server.masterKey);
  const steps = { get_temp_api_key: [], start_chat: [], chat: [], total: [] };
  const failures = [];
  const cache = {};
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    try {
      const k = await api.request("POST", "/get_temp_api_key", { json: { collection_id: collectionId }, retries: 0 });
      steps.get_temp_api_key.push(k.ms);
      const s = await api.request("POST", "/api/start_chat", { auth: "none", headers: { "X-API-Key": k.body.temp_api_key }, retries: 0 });
      steps.start_chat.push(s.ms);
      const q = `${queries[i % queries.length].text} (legacy ${i})`;
      const c = await api.request("POST", "/api/chat", {
        auth: "none",
        headers: { Authorization: s.body.jwt_token },
        json: { query: q, url: s.body.url },
        retries: 0,
      });
      steps.chat.push(c.ms);
      const x = c.headers.get("x-cache") ?? "none";
      cache[x] = (cache[x] ?? 0) + 1;
      if (typeof c.body?.answer !== "string") throw new Error(`no answer in ${JSON.stringify(c.body).slice(0, 200)}`);
      steps.total.push(performance.now() - t0);
    } catch (err) {
      failures.push(err.message);
    }
  }
  return {
    iterations,
    failures: failures.length,
    failure_examples: [...new Set(failures)].slice(0, 3),
    cache,
    steps: Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, latencySummary(v)])),
  };
}

/**
 * @param {import("./lib/server.mjs").Server} server
 * @param {{collectionId: string, queries: Array<{id: string, text: string}>, durationS?: number, connections?: number[],
 *   legacyIterations?: number, quiet?: boolean}} opts
 */
export async function runServe(server, opts) {
  const { collectionId, queries } = opts;
  const durationS = opts.durationS ?? 20;
  const connections = opts.connections ?? [1, 8, 32];
  const headers = { "X-Master-API-Key": server.masterKey };
  const reloadsBefore = server.reloads();
  const loadBefore = loadAvg();
  const sampler = rssSampler(server.pid);
  const log = (s) => {
    if (!opts.quiet) console.log(s);
  };

  // Warm-up (not measured): first calls load modules, open the Durable Object and fill caches.
  const api = apiClient(server.url, server.masterKey);
  for (const q of queries.slice(0, 20)) {
    await api.search(collectionId, { query: q.text, top_k: 10, mode: "hybrid" });
    await api.chat({ query: `${q.text} (warm-up)`, collection_id: collectionId, top_k: 5 });
  }

  const q = (n) => queries[n % queries.length].text;
  const searchPath = `/v1/collections/${collectionId}/search`;
  const steps = [];
  // Each run gets its own tag so repeated questions never hit a cache filled by an earlier run.
  const runTag = Date.now().toString(36);

  const mixed = [];
  for (const c of opts.mixedConnections ?? [8, 32]) {
    log(`  side by side (healthz, search, chat local hit, global hit, uncached), ${c} connections each, ${durationS} s ...`);
    mixed.push(await mixedStep(server, { collectionId, queries, connections: c, durationS, runTag }));
    await sleep(500);
  }
  for (const c of connections) {
    log(`  search, ${c} connection(s), ${durationS} s ...`);
    steps.push({
      kind: "search",
      ...(await loadStep({
        url: server.url,
        path: searchPath,
        headers,
        makeBody: (n) => ({ query: `${q(n)} zq${runTag}s${c}n${n}`, top_k: 10, mode: "hybrid" }),
        connections: c,
        durationS,
        label: `search c=${c}`,
      })),
    });
    await sleep(500);
  }
  // The object's result cache on purpose: the same 10 searches again and again (reported apart).
  log(`  search (repeated queries, result cache), 8 connections, ${durationS} s ...`);
  steps.push({
    kind: "search-repeated",
    ...(await loadStep({
      url: server.url,
      path: searchPath,
      headers,
      makeBody: (n) => ({ query: q(n % 10), top_k: 10, mode: "hybrid" }),
      connections: 8,
      durationS,
      label: "search repeated c=8",
    })),
  });
  for (const c of connections) {
    log(`  chat (unique questions, cache misses), ${c} connection(s), ${durationS} s ...`);
    steps.push({
      kind: "chat",
      ...(await loadStep({
        url: server.url,
        path: "/v1/chat",
        headers,
        makeBody: (n) => ({ query: `${q(n)} (r${runTag}c${c}n${n})`, collection_id: collectionId, top_k: 5 }),
        connections: c,
        durationS,
        label: `chat c=${c}`,
      })),
    });
    await sleep(500);
  }
  // The cache on purpose: the same few questions again and again (first ask of each is a miss).
  log(`  chat (repeated questions, cache hits), 8 connections, ${durationS} s ...`);
  steps.push({
    kind: "chat-cached",
    ...(await loadStep({
      url: server.url,
      path: "/v1/chat",
      headers,
      makeBody: (n) => ({ query: `${q(n % 10)} (cached ${runTag})`, collection_id: collectionId, top_k: 5 }),
      connections: 8,
      durationS,
      label: "chat cached c=8",
    })),
  });

  // Diagnostics at 8 connections: the floor of the local stack (wrangler's proxy and request log,
  // routing, no storage) and each side of the hybrid search alone.
  log(`  diagnostics at 8 connections: GET /healthz, keyword-only and vector-only search, ${durationS} s each ...`);
  steps.push({
    kind: "healthz (floor)",
    ...(await loadStep({ url: server.url, path: "/healthz", method: "GET", headers: {}, connections: 8, durationS, label: "healthz c=8" })),
  });
  for (const mode of ["keyword", "vector"]) {
    steps.push({
      kind: `search ${mode}`,
      ...(await loadStep({
        url: server.url,
        path: searchPath,
        headers,
        makeBody: (n) => ({ query: `${q(n)} zq${runTag}${mode}n${n}`, top_k: 10, mode }),
        connections: 8,
        durationS,
        label: `search ${mode} c=8`,
      })),
    });
  }

  log(`  original flow (temp key -> start_chat -> chat), ${opts.legacyIterations ?? 50} iterations ...`);
  const legacy = await legacyFlow(server, collectionId, queries, opts.legacyIterations ?? 50);
  const memory = sampler.stop();

  const at8 = (kind) => steps.find((s) => s.kind === kind && s.connections === 8);
  const targets = Object.fromEntries(
    Object.entries(TARGETS_P95_MS).map(([kind, ms]) => {
      const s = at8(kind);
      return [
        kind,
        {
          p95_ms_at_8: s?.latency_ms.p95 ?? null,
          target_ms: ms,
          met: s ? s.latency_ms.p95 !== null && s.latency_ms.p95 <= ms && s.non2xx === 0 && s.errors === 0 : null,
        },
      ];
    }),
  );
  return {
    duration_s: durationS,
    connections,
    mixed,
    steps,
    legacy,
    targets,
    memory_mb: memory ? { peak_total: Math.round(memory.peak.totalMb), peak_workerd: Math.round(memory.peak.workerdMb) } : null,
    server_reloads: server.reloads() - reloadsBefore,
    server_source_hash: server.sourceHash ?? null,
    load_avg: { before: loadBefore, after: loadAvg() },
  };
}

/** Issue 18 item 5's targets: each kind's p95 over /healthz's p95, kinds one after another at 8 connections. */
export const RATIO_TARGETS = { search: 2, "chat, uncached": 3, "chat, cached": 1.5 };

const median = (xs) => {
  const v = xs.filter((x) => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};

/**
 * Serving ratios (issue 18's "Done when"): GET /healthz, hybrid search, an uncached first-turn chat
 * and a cached one, ONE AFTER ANOTHER (never side by side) at `connections` clients, `rounds` times.
 * Each round's ratio is a kind's p95 over /healthz's p95 in that round, so the machine's load at the
 * moment cancels as far as it can; the headline is the median over rounds. Queries never repeat (a
 * run tag and a request number), so neither the object's result cache nor the answer cache serves
 * the search or uncached steps; the cached step asks 10 questions asked once beforehand.
 * `asKey`: requests carry a temporary key, so every one also goes through the per-key limiter (the
 * key guard's call; the server must run with RATE_LIMIT_KEY_PER_MINUTE > 0), as production traffic does.
 */
export async function runRatios(
  server,
  { collectionId, queries, rounds = 3, durationS = 10, connections = 8, asKey = false, log = console.log },
) {
  const api = apiClient(server.url, server.masterKey);
  let headers = { "X-Master-API-Key": server.masterKey };
  if (asKey) {
    const k = await api.request("POST", "/get_temp_api_key", { json: { collection_id: collectionId, ttl_seconds: 3600 } });
    headers = { "X-API-Key": k.body.temp_api_key };
  }
  const q = (n) => queries[n % queries.length].text;
  const runTag = Date.now().toString(36);
  const chatBody = (query) => ({ query, collection_id: collectionId, top_k: 5 });
  // Warm-up (not measured): modules, the collection object, its index and the caches' first entries.
  for (let i = 0; i < 20; i++) {
    await api.search(collectionId, { query: `${q(i)} zw${runTag}`, top_k: 10, mode: "hybrid" });
    await api.chat(chatBody(`${q(i)} (warm-up ${runTag})`));
  }
  const out = [];
  for (let r = 0; r < rounds; r++) {
    const cachedQs = Array.from({ length: 10 }, (_, i) => `${q(i + 40)} (cached ${runTag} r${r})`);
    for (const query of cachedQs) await api.request("POST", "/v1/chat", { json: chatBody(query), headers, auth: "none" });
    await sleep(1000); // the cache writes run in waitUntil
    const kinds = [
      { kind: "healthz", path: "/healthz", method: "GET", headers: {} },
      {
        kind: "search",
        path: `/v1/collections/${collectionId}/search`,
        headers,
        makeBody: (n) => ({ query: `${q(n)} zq${runTag}r${r}n${n}`, top_k: 10, mode: "hybrid" }),
      },
      { kind: "chat, uncached", path: "/v1/chat", headers, makeBody: (n) => chatBody(`${q(n + 20)} (u ${runTag} r${r} n${n})`) },
      { kind: "chat, cached", path: "/v1/chat", headers, makeBody: (n) => chatBody(cachedQs[n % cachedQs.length]) },
    ];
    const load = loadAvg();
    const steps = [];
    for (const k of kinds) {
      log(`  round ${r + 1}/${rounds}: ${k.kind}, ${connections} connections, ${durationS} s ...`);
      steps.push({ kind: k.kind, ...(await loadStep({ url: server.url, ...k, connections, durationS, label: `${k.kind} r${r}` })) });
      await sleep(300);
    }
    const floor = steps[0].latency_ms.p95;
    for (const st of steps) st.p95_ratio_to_healthz = floor && st.latency_ms.p95 !== null ? st.latency_ms.p95 / floor : null;
    out.push({ round: r + 1, load_avg: { before: load, after: loadAvg() }, steps });
  }
  const kindsNames = Object.keys(RATIO_TARGETS);
  const ratios = Object.fromEntries(
    kindsNames.map((kind) => {
      const per = out.map((rd) => rd.steps.find((s) => s.kind === kind)?.p95_ratio_to_healthz ?? null);
      const m = median(per);
      return [kind, { median: m, per_round: per, target: RATIO_TARGETS[kind], met: m !== null && m <= RATIO_TARGETS[kind] }];
    }),
  );
  const failures = out.reduce((a, rd) => a + rd.steps.reduce((b, s) => b + s.errors + s.timeouts + s.non2xx, 0), 0);
  return { connections, duration_s: durationS, rounds: out, ratios, as_key: asKey, failures };
}

export function printRatios(r) {
  for (const rd of r.rounds) {
    printTable(
      ["kind", "req/s", "p50 ms", "p95 ms", "p95 / healthz", "non-2xx", "X-Cache", "Server-Timing mean ms"],
      rd.steps.map((s) => [
        s.kind,
        fmt(s.requests_per_s, 0),
        fmt(s.latency_ms.p50),
        fmt(s.latency_ms.p95),
        s.p95_ratio_to_healthz === null ? "–" : `${fmt(s.p95_ratio_to_healthz, 2)}×`,
        s.non2xx + s.errors + s.timeouts,
        Object.entries(s.cache)
          .map(([x, v]) => `${x} ${v}`)
          .join(", ") || "–",
        Object.entries(s.server_timing_ms ?? {})
          .map(([k, v]) => `${k} ${fmt(v.mean)}`)
          .join(", ") || "–",
      ]),
      `Ratios round ${rd.round} (one kind after another, ${r.connections} connections, ${r.duration_s} s each; ${r.as_key ? "temporary key" : "master key"}; load ${rd.load_avg.before.join(" ")})`,
    );
  }
  for (const [kind, v] of Object.entries(r.ratios)) {
    console.log(
      `ratio ${kind}: median ${fmt(v.median, 2)}× (rounds ${v.per_round.map((x) => fmt(x, 2)).join(", ")}), target ≤ ${v.target}× -> ${v.met ? "met" : "NOT met"}`,
    );
  }
}

export function printServe(r) {
  if (r.mixed?.length) printMixed(r.mixed);
  printTable(
    ["endpoint", "conns", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "non-2xx", "X-Cache"],
    r.steps.map((s) => [
      s.kind,
      s.connections,
      fmt(s.requests_per_s, 0),
      fmt(s.latency_ms.p50),
      fmt(s.latency_ms.p95),
      fmt(s.latency_ms.p99),
      s.errors + s.timeouts,
      s.non2xx,
      Object.entries(s.cache)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ") || "–",
    ]),
    `Serving (${r.duration_s} s per step; search = hybrid top_k 10; chat = /v1/chat extractive top_k 5)`,
  );
  for (const st of r.steps) {
    if (!st.server_timing_ms) continue;
    const parts = Object.entries(st.server_timing_ms).map(([k, v]) => `${k} ${fmt(v.mean)}/${fmt(v.p95)}`);
    console.log(`  Server-Timing ${st.kind} c=${st.connections} (mean/p95 ms): ${parts.join(", ")}`);
  }
  for (const [kind, t] of Object.entries(r.targets)) {
    console.log(`target ${kind} p95 ≤ ${t.target_ms} ms at 8 connections: ${fmt(t.p95_ms_at_8)} ms -> ${t.met ? "met" : "NOT met"}`);
  }
  const l = r.legacy;
  printTable(
    ["original flow step", "p50 ms", "p95 ms", "max ms"],
    Object.entries(l.steps).map(([k, v]) => [k, fmt(v.p50), fmt(v.p95), fmt(v.max)]),
    `Original flow, ${l.iterations} iterations in sequence (failures ${l.failures}; chat X-Cache ${JSON.stringify(l.cache)})`,
  );
  for (const e of l.failure_examples) console.log(`  failure: ${e}`);
  if (r.server_reloads > 0) console.log(`WARNING: wrangler reloaded the worker ${r.server_reloads}× during the load steps.`);
  console.log(`load average (1 min) before / after: ${r.load_avg.before[0]} / ${r.load_avg.after[0]}`);
}

async function main() {
  const args = parseArgs(process.argv.slice(2), { boolean: ["quick", "keep"] });
  await checkQuiet("serve", Number(args.waitQuiet ?? 0));
  const server = await serverFromArgs(args, { keepState: !!args.keep });
  try {
    const { loadScifact } = await import("./lib/scifact.mjs");
    let collectionId = args.collection;
    let queries;
    if (!collectionId) {
      const { ingestScifact } = await import("./ingest.mjs");
      console.log(`loading SciFact${args.quick ? " (500 documents)" : ""} ...`);
      const r = await ingestScifact(server, { limit: args.limit ? Number(args.limit) : args.quick ? 500 : undefined });
      if (!r.measurement.settled) throw new Error("ingestion did not finish");
      collectionId = r.collection.id;
      queries = r.queries;
    } else {
      queries = loadScifact({ limit: 1 }).queries;
    }
    const r = await runServe(server, {
      collectionId,
      queries,
      durationS: Number(args.duration ?? (args.quick ? 3 : 20)),
      connections: args.connections ? String(args.connections).split(",").map(Number) : undefined,
      legacyIterations: Number(args.iterations ?? (args.quick ? 10 : 50)),
    });
    printServe(r);
    const file = await writeResult(args.quick ? "serve.quick.json" : "serve.json", {
      benchmark: "serve",
      machine: machineInfo(),
      quick: !!args.quick,
      ...r,
    });
    console.log(`\nwrote ${file}`);
    if (args.keep) {
      server.detach();
      console.log(`--keep: server left running at ${server.url}, collection ${collectionId}`);
    }
  } finally {
    if (!args.keep) await server.stop();
  }
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(`bench/serve: ${err.stack ?? err}`);
      process.exit(1);
    },
  );
}
