#!/usr/bin/env node
// Abuse benchmark (issue 10): legitimate search latency while the service is attacked.
//
//   node bench/abuse.mjs [--quick] [--seconds S] [--url URL --key KEY]      (or: npm run bench -- --only abuse)
//
// One private `wrangler dev` with the rate limits ON, at their production defaults (every other
// bench step turns the IP and key limiters off). Two phases of the same legitimate traffic, in one run:
//   1. solo:   3 legitimate clients (own temporary key and own address each) search at a steady,
//              within-limits pace (4 requests/s each);
//   2. flood only: the same, while the 4 flooding clients below run (no uploads), for comparison;
//   3. attack: the same, while 4 clients flood POST /get_temp_api_key with wrong master keys as fast
//              as they can (one request in flight each; --flood-in-flight N for more), and one client uploads pathological
//              markdown (`<!--`×500,000, `[`×2,000,000, `![`×1,000,000: the inputs that once hung
//              the service) and waits for them to be processed.
// Printed: legitimate p50/p95 in each phase and their ratio (target: attack p95 ≤ 2× solo p95), the
// flood's statuses (target: every request past the failed-auth limit answered 429 with Retry-After),
// server errors (target: 0), and how long the pathological documents took to be processed.
//
// Addresses: on Cloudflare the edge sets CF-Connecting-IP and a client cannot choose it; `wrangler
// dev` keeps a CF-Connecting-IP the client sends, which is how one machine plays several clients here.
import { randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";
import { serverFromArgs } from "./lib/server.mjs";
import { fmt, latencySummary, machineInfo, parseArgs, printTable, sleep, writeResult } from "./lib/util.mjs";

/**
 * Each flooding client keeps one request in flight and sends the next the moment an answer arrives
 * (4 clients = 4 connections at full speed). `--flood-in-flight N` makes each one N connections.
 */
let FLOOD_IN_FLIGHT = 1;

/** The production defaults (src/config.ts); the IP limit must match wrangler.jsonc `ratelimits`. */
export const ABUSE_VARS = { RATE_LIMIT_IP_PER_MINUTE: "600", RATE_LIMIT_KEY_PER_MINUTE: "300", RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: "10" };

const WORDS =
  "refund shipping warehouse invoice battery charger warranty display keyboard sensor firmware update router cable adapter monitor printer scanner laptop tablet phone camera speaker headset battery license account password billing order delivery return exchange support manual setup install reset network wireless bluetooth storage memory processor graphics".split(
    " ",
  );

function corpus(n) {
  const docs = [];
  for (let i = 0; i < n; i++) {
    const paras = [];
    for (let p = 0; p < 6; p++) {
      const words = [];
      for (let w = 0; w < 60; w++) words.push(WORDS[(i * 7 + p * 13 + w * 31) % WORDS.length]);
      paras.push(`${words.join(" ")}.`);
    }
    docs.push({ name: `doc-${i}.md`, text: `# Document ${i}\n\n${paras.join("\n\n")}` });
  }
  return docs;
}

/** The first few server-error answers, to tell what failed (a 503 of the app, or of wrangler dev). */
const serverErrorSamples = [];

async function http(base, method, path, { headers = {}, json, body, timeoutMs = 60_000 } = {}) {
  const h = { ...headers };
  if (json !== undefined) h["Content-Type"] = "application/json";
  const t = performance.now();
  try {
    const res = await fetch(base + path, {
      method,
      headers: h,
      body: json !== undefined ? JSON.stringify(json) : body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // keep text
    }
    if (res.status >= 500 && serverErrorSamples.length < 5)
      serverErrorSamples.push({ method, path: path.replace(/(col|doc)_[\w-]+/g, "$1_…"), status: res.status, body: text.slice(0, 300) });
    return { status: res.status, ms: performance.now() - t, body: parsed, headers: res.headers };
  } catch (err) {
    if (serverErrorSamples.length < 5) serverErrorSamples.push({ method, path, status: 0, body: String(err.cause?.code ?? err.message) });
    return { status: 0, ms: performance.now() - t, body: String(err.cause?.code ?? err.message), headers: new Headers() };
  }
}

/** Paced searches of one legitimate client until `until`; one request at a time. */
async function legitClient(base, { key, ip, collectionId, until, perSecond }) {
  const lat = [];
  const statuses = {};
  let q = 0;
  while (performance.now() < until) {
    const started = performance.now();
    const query = `${WORDS[q % WORDS.length]} ${WORDS[(q * 3 + 1) % WORDS.length]}`;
    q++;
    const r = await http(base, "POST", `/v1/collections/${collectionId}/search`, {
      headers: { "X-API-Key": key, "CF-Connecting-IP": ip },
      json: { query, top_k: 5, mode: "hybrid" },
    });
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    if (r.status === 200) lat.push(r.ms);
    const wait = 1000 / perSecond - (performance.now() - started);
    if (wait > 0) await sleep(wait);
  }
  return { lat, statuses };
}

/**
 * GET /healthz at a steady pace until `until` (issue 17 item 5: its p95 while the pathological
 * uploads index must stay ≤ 100 ms). It touches no binding, so its latency is the isolate's
 * availability: a long loop without a yield anywhere in the process shows up here first.
 */
async function healthClient(base, { until, perSecond }) {
  const lat = [];
  const statuses = {};
  while (performance.now() < until) {
    const started = performance.now();
    const r = await http(base, "GET", "/healthz", { headers: { "CF-Connecting-IP": "10.30.0.1" } });
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    if (r.status === 200) lat.push(r.ms);
    const wait = 1000 / perSecond - (performance.now() - started);
    if (wait > 0) await sleep(wait);
  }
  return { lat, statuses };
}

/** A client guessing the master key as fast as it can (`inFlight` requests at once). */
async function floodClient(base, { ip, until, inFlight }) {
  const out = { total: 0, statuses: {}, rateLimitedWithoutRetryAfter: 0, first429At: null, before429: 0 };
  const worker = async () => {
    while (performance.now() < until) {
      const guess = `mk_${randomBytes(24).toString("base64url")}`;
      const r = await http(base, "POST", "/get_temp_api_key", {
        headers: { "X-Master-API-Key": guess, "CF-Connecting-IP": ip },
        json: { collection_id: "col_x" },
        timeoutMs: 30_000,
      });
      out.total++;
      out.statuses[r.status] = (out.statuses[r.status] ?? 0) + 1;
      if (r.status === 429) {
        if (!r.headers.get("Retry-After")) out.rateLimitedWithoutRetryAfter++;
        out.first429At ??= out.total;
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return out;
}

async function pathologicalUploads(base, masterKey, collectionId, until) {
  const inputs = [
    { name: "comments.md", text: "<!--".repeat(500_000) },
    { name: "brackets.md", text: "[".repeat(2_000_000) },
    { name: "images.md", text: "![".repeat(1_000_000) },
  ];
  const headers = { "X-Master-API-Key": masterKey, "CF-Connecting-IP": "10.66.0.1" };
  const t0 = performance.now();
  const accepted = [];
  const statuses = {};
  for (const input of inputs) {
    const r = await http(base, "POST", `/v1/collections/${collectionId}/documents`, { headers, json: { documents: [input] } });
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    if (r.status === 202) accepted.push(...r.body.documents.map((d) => d.id));
  }
  const done = {};
  while (performance.now() < until + 60_000 && Object.keys(done).length < accepted.length) {
    for (const id of accepted) {
      if (done[id]) continue;
      const r = await http(base, "GET", `/v1/collections/${collectionId}/documents/${id}`, { headers });
      if (r.status === 200 && (r.body.status === "ready" || r.body.status === "failed")) {
        done[id] = { status: r.body.status, error: r.body.error?.code ?? null, seconds: (performance.now() - t0) / 1000 };
      }
    }
    await sleep(250);
  }
  return { uploads: inputs.length, statuses, accepted: accepted.length, processed: Object.values(done) };
}

export async function runAbuse(server, { seconds = 20 } = {}) {
  const base = server.url;
  const admin = { "X-Master-API-Key": server.masterKey, "CF-Connecting-IP": "10.10.0.1" };
  const col = await http(base, "POST", "/v1/collections", { headers: admin, json: { name: "abuse bench" } });
  if (col.status !== 201) throw new Error(`create collection: ${col.status} ${JSON.stringify(col.body)}`);
  const collectionId = col.body.id;
  const up = await http(base, "POST", `/v1/collections/${collectionId}/documents`, { headers: admin, json: { documents: corpus(60) } });
  if (up.status !== 202) throw new Error(`upload: ${up.status} ${JSON.stringify(up.body)}`);
  for (let i = 0; ; i++) {
    const c = await http(base, "GET", `/v1/collections/${collectionId}/documents?limit=1`, { headers: admin });
    const counts = c.body?.counts ?? {};
    if ((counts.ready ?? 0) + (counts.failed ?? 0) >= 60) break;
    if (i > 600) throw new Error(`corpus not indexed: ${JSON.stringify(counts)}`);
    await sleep(200);
  }
  const legit = [];
  for (let i = 0; i < 3; i++) {
    const k = await http(base, "POST", "/get_temp_api_key", {
      headers: admin,
      json: { collection_id: collectionId, scopes: ["read"], ttl_seconds: 3600 },
    });
    if (k.status !== 200) throw new Error(`temp key: ${k.status} ${JSON.stringify(k.body)}`);
    legit.push({ key: k.body.temp_api_key, ip: `10.20.0.${i + 1}` });
  }
  const perSecond = 4; // 240 per minute per key and address: inside both limits
  const phase = async (label, attack, withUploads = attack) => {
    const until = performance.now() + seconds * 1000;
    const work = legit.map((l) => legitClient(base, { ...l, collectionId, until, perSecond }));
    const floods = attack
      ? [1, 2, 3, 4].map((i) => floodClient(base, { ip: `10.99.${label.length}.${i}`, until, inFlight: FLOOD_IN_FLIGHT }))
      : [];
    const uploads = withUploads ? pathologicalUploads(base, server.masterKey, collectionId, until) : null;
    const health = healthClient(base, { until, perSecond });
    const results = await Promise.all(work);
    const h = await health;
    const flood = await Promise.all(floods);
    const patho = uploads ? await uploads : null;
    const lat = results.flatMap((r) => r.lat);
    const statuses = {};
    for (const r of results) for (const [s, n] of Object.entries(r.statuses)) statuses[s] = (statuses[s] ?? 0) + n;
    return {
      label,
      legit: { ...latencySummary(lat), statuses },
      healthz: { ...latencySummary(h.lat), statuses: h.statuses },
      flood,
      pathological: patho,
    };
  };
  const solo = await phase("solo", false);
  // The flood alone (its own addresses), then the flood with the hostile uploads (the target).
  const floodOnly = await phase("flood-only", true, false);
  const attack = await phase("attack", true);

  const limit = Number(ABUSE_VARS.RATE_LIMIT_AUTH_FAILURES_PER_MINUTE);
  const windows = Math.ceil(seconds / 60) + 1; // fixed windows the attack can straddle
  const floodTotals = attack.flood.reduce(
    (a, f) => {
      a.total += f.total;
      for (const [s, n] of Object.entries(f.statuses)) a.statuses[s] = (a.statuses[s] ?? 0) + n;
      a.noRetryAfter += f.rateLimitedWithoutRetryAfter;
      return a;
    },
    { total: 0, statuses: {}, noRetryAfter: 0 },
  );
  const allowedPerClient = limit * windows;
  const past = attack.flood.reduce((a, f) => a + Math.max(0, f.total - allowedPerClient), 0);
  const pastAnswered429 = attack.flood.reduce((a, f) => a + Math.min(Math.max(0, f.total - allowedPerClient), f.statuses[429] ?? 0), 0);
  const serverErrors = [
    solo.legit.statuses,
    floodOnly.legit.statuses,
    attack.legit.statuses,
    solo.healthz.statuses,
    floodOnly.healthz.statuses,
    attack.healthz.statuses,
    floodTotals.statuses,
    ...floodOnly.flood.map((f) => f.statuses),
  ]
    .flatMap((s) => Object.entries(s))
    .reduce((a, [s, n]) => a + (Number(s) >= 500 || Number(s) === 0 ? n : 0), 0);
  const ratio = solo.legit.p95 ? attack.legit.p95 / solo.legit.p95 : null;
  return {
    seconds_per_phase: seconds,
    settings: ABUSE_VARS,
    legit_clients: legit.length,
    legit_rate_per_client: perSecond,
    solo: solo.legit,
    flood_only: floodOnly.legit,
    flood_only_p95_ratio: solo.legit.p95 ? floodOnly.legit.p95 / solo.legit.p95 : null,
    attack: attack.legit,
    p95_ratio: ratio,
    healthz: { solo: solo.healthz, flood_only: floodOnly.healthz, attack: attack.healthz },
    flood: {
      clients: attack.flood.length,
      in_flight_per_client: FLOOD_IN_FLIGHT,
      total: floodTotals.total,
      statuses: floodTotals.statuses,
      share_429: floodTotals.total ? (floodTotals.statuses[429] ?? 0) / floodTotals.total : null,
      answered_401: floodTotals.statuses[401] ?? 0,
      failed_auth_allowed_per_client: allowedPerClient,
      past_the_limit: past,
      past_the_limit_answered_429: pastAnswered429,
      rate_limited_without_retry_after: floodTotals.noRetryAfter,
      per_client: attack.flood.map((f) => ({ total: f.total, statuses: f.statuses, first_429_at_request: f.first429At })),
    },
    pathological: attack.pathological,
    server_errors: serverErrors,
    server_error_samples: serverErrorSamples,
    targets: {
      legit_p95_within_2x: { value: ratio, met: ratio !== null && ratio <= 2 },
      healthz_p95_under_attack_100ms: { value: attack.healthz.p95, met: attack.healthz.p95 !== null && attack.healthz.p95 <= 100 },
      flood_past_limit_all_429: { value: `${pastAnswered429}/${past}`, met: pastAnswered429 === past && floodTotals.noRetryAfter === 0 },
      zero_server_errors: { value: serverErrors, met: serverErrors === 0 },
    },
  };
}

export function printAbuse(r) {
  printTable(
    ["phase", "requests", "p50 ms", "p95 ms", "statuses"],
    [
      ["solo", r.solo.n, fmt(r.solo.p50), fmt(r.solo.p95), JSON.stringify(r.solo.statuses)],
      ["flood only", r.flood_only.n, fmt(r.flood_only.p50), fmt(r.flood_only.p95), JSON.stringify(r.flood_only.statuses)],
      ["under attack", r.attack.n, fmt(r.attack.p50), fmt(r.attack.p95), JSON.stringify(r.attack.statuses)],
    ],
    `Legitimate search (${r.legit_clients} clients × ${r.legit_rate_per_client}/s, ${r.seconds_per_phase} s per phase)`,
  );
  const h = r.healthz;
  printTable(
    ["phase", "requests", "p50 ms", "p95 ms", "max ms", "statuses"],
    [
      ["solo", h.solo.n, fmt(h.solo.p50), fmt(h.solo.p95), fmt(h.solo.max), JSON.stringify(h.solo.statuses)],
      [
        "flood only",
        h.flood_only.n,
        fmt(h.flood_only.p50),
        fmt(h.flood_only.p95),
        fmt(h.flood_only.max),
        JSON.stringify(h.flood_only.statuses),
      ],
      ["under attack", h.attack.n, fmt(h.attack.p50), fmt(h.attack.p95), fmt(h.attack.max), JSON.stringify(h.attack.statuses)],
    ],
    `GET /healthz (1 client × ${r.legit_rate_per_client}/s, in the same phases)`,
  );
  const f = r.flood;
  printTable(
    ["measure", "value"],
    [
      ["flood requests (4 clients, wrong master keys)", f.total],
      ["statuses", JSON.stringify(f.statuses)],
      ["share answered 429", f.share_429 === null ? "–" : `${fmt(f.share_429 * 100)} %`],
      ["past the failed-auth limit / of those 429", `${f.past_the_limit} / ${f.past_the_limit_answered_429}`],
      ["429 without Retry-After", f.rate_limited_without_retry_after],
      [
        "pathological uploads processed",
        r.pathological
          ? r.pathological.processed.map((p) => `${p.status}${p.error ? ` (${p.error})` : ""} ${fmt(p.seconds)} s`).join(", ") || "none"
          : "–",
      ],
      ["server errors (5xx or no answer)", r.server_errors],
      ...r.server_error_samples.map((e) => [`  e.g. ${e.method} ${e.path}`, `${e.status} ${e.body.slice(0, 80)}`]),
    ],
    "Flood and hostile uploads",
  );
  printTable(
    ["target", "value", "met"],
    [
      ["legit p95 under attack ≤ 2× solo", fmt(r.p95_ratio, 2), r.targets.legit_p95_within_2x.met ? "yes" : "NO"],
      ["  (flood alone, no uploads: p95 ratio)", fmt(r.flood_only_p95_ratio, 2), ""],
      [
        "/healthz p95 under attack ≤ 100 ms",
        fmt(r.targets.healthz_p95_under_attack_100ms.value),
        r.targets.healthz_p95_under_attack_100ms.met ? "yes" : "NO",
      ],
      [
        "every flood request past the limit → 429 + Retry-After",
        r.targets.flood_past_limit_all_429.value,
        r.targets.flood_past_limit_all_429.met ? "yes" : "NO",
      ],
      ["0 server errors", r.server_errors, r.targets.zero_server_errors.met ? "yes" : "NO"],
    ],
    "Targets",
  );
}

async function main() {
  const args = parseArgs(process.argv.slice(2), { boolean: ["quick"] });
  const quick = !!args.quick || process.env.BENCH_QUICK === "1";
  const seconds = Number(args.seconds ?? (quick ? 5 : 20));
  FLOOD_IN_FLIGHT = Number(args.floodInFlight ?? 1);
  const server = await serverFromArgs(args, { vars: ABUSE_VARS });
  try {
    const r = await runAbuse(server, { seconds });
    printAbuse(r);
    const file = await writeResult(`abuse${quick ? ".quick" : ""}.json`, { benchmark: "abuse", machine: machineInfo(), quick, ...r });
    console.log(`\nwrote ${file}`);
  } finally {
    await server.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((err) => {
    console.error(`abuse bench: ${err.stack ?? err}`);
    process.exit(1);
  });
}
