#!/usr/bin/env node
// How busy each workerd thread is under each kind of load, from /proc (Linux): a private `wrangler
// dev`, a client polling /healthz at a steady rate, and phases one after another:
//   solo     only the probes;
//   uploads  the abuse bench's three pathological Markdown uploads (a fresh collection each time);
//   flood    four clients guessing the master key as fast as they can;
//   attack   the flood and the uploads together (what `npm run bench -- --only abuse` measures).
// For each phase: /healthz p50/p95/max, the uploads' time to `ready`, the flood's request count,
// and each workerd thread's CPU time and its share of the phase's wall time.
//
// Why threads: an isolate's CPU profile shows only the isolate's own JavaScript, and its gaps read
// like waiting on something else. A thread near 100% busy says the work queued behind is the app's
// own (issue 17.5: round 6 read the gaps as `wrangler dev`'s storage; the thread was saturated by the
// app's per-statement cost, docs/performance.md "Round 7").
//
//   node bench/thread-cpu.mjs [--phases solo,uploads,flood,attack] [--seconds 15] [--probe-hz 20] [--var NAME=VALUE ...]
import { randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";
import { workerdThreadCpuMs } from "./lib/proc.mjs";
import { startServer } from "./lib/server.mjs";
import { fmt, latencySummary, loadAvg, parseArgs, printTable, sleep } from "./lib/util.mjs";
import { HOSTILE } from "./profile-ingest.mjs";

const PHASES = ["solo", "uploads", "flood", "attack"];

async function json(res) {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

async function probes(base, until, hz) {
  const lat = [];
  const statuses = {};
  // From 32 addresses in turn: 20 probes a second from one would meet the per-address limit.
  for (let i = 0; performance.now() < until; i++) {
    const t = performance.now();
    const r = await fetch(`${base}/healthz`, { headers: { "CF-Connecting-IP": `10.30.0.${i % 32}` } });
    await r.arrayBuffer();
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    if (r.status === 200) lat.push(performance.now() - t);
    await sleep(Math.max(0, 1000 / hz - (performance.now() - t)));
  }
  return { lat, statuses };
}

async function flood(base, until, label) {
  let n = 0;
  await Promise.all(
    [1, 2, 3, 4].map(async (i) => {
      while (performance.now() < until) {
        const r = await fetch(`${base}/get_temp_api_key`, {
          method: "POST",
          headers: {
            "X-Master-API-Key": `mk_${randomBytes(24).toString("base64url")}`,
            "CF-Connecting-IP": `10.99.${label.length}.${i}`,
            "content-type": "application/json",
          },
          body: '{"collection_id":"col_x"}',
        });
        await r.arrayBuffer();
        n++;
      }
    }),
  );
  return n;
}

/** The three hostile uploads into a collection of their own; seconds until all are ready or failed. */
async function uploads(base, masterKey, t0) {
  const headers = { "X-Master-API-Key": masterKey, "content-type": "application/json", "CF-Connecting-IP": "10.66.0.1" };
  const col = await json(await fetch(`${base}/v1/collections`, { method: "POST", headers, body: JSON.stringify({ name: "thread-cpu" }) }));
  const ids = [];
  for (const doc of HOSTILE) {
    const r = await fetch(`${base}/v1/collections/${col.id}/documents`, {
      method: "POST",
      headers,
      body: JSON.stringify({ documents: [doc] }),
    });
    const body = await json(r);
    if (r.status !== 202) throw new Error(`upload ${doc.name}: ${r.status} ${JSON.stringify(body).slice(0, 200)}`);
    ids.push(body.documents[0].id);
  }
  const done = new Map();
  while (done.size < ids.length && performance.now() - t0 < 180_000) {
    for (const id of ids) {
      if (done.has(id)) continue;
      const d = await json(await fetch(`${base}/v1/collections/${col.id}/documents/${id}`, { headers }));
      if (d.status === "ready" || d.status === "failed") done.set(id, `${d.status} ${fmt((performance.now() - t0) / 1000)} s`);
    }
    await sleep(250);
  }
  return [...done.values()];
}

export async function runThreadCpu(server, { phases = PHASES, seconds = 15, hz = 20 } = {}) {
  const out = [];
  for (const label of phases) {
    if (!PHASES.includes(label)) throw new Error(`unknown phase ${label} (${PHASES.join(", ")})`);
    const before = workerdThreadCpuMs(server.pid);
    const t0 = performance.now();
    const until = t0 + seconds * 1000;
    const withFlood = label === "flood" || label === "attack";
    const withUploads = label === "uploads" || label === "attack";
    const [health, floodN, ready] = await Promise.all([
      probes(server.url, until, hz),
      withFlood ? flood(server.url, until, label) : 0,
      withUploads ? uploads(server.url, server.masterKey, t0) : null,
    ]);
    const wallMs = performance.now() - t0;
    const after = workerdThreadCpuMs(server.pid);
    const threads = Object.entries(after)
      .map(([thread, ms]) => ({ thread, cpu_ms: ms - (before[thread] ?? 0) }))
      .filter((t) => t.cpu_ms >= 50)
      .sort((a, b) => b.cpu_ms - a.cpu_ms)
      .map((t) => ({ ...t, share: t.cpu_ms / wallMs }));
    out.push({
      phase: label,
      wall_s: wallMs / 1000,
      healthz: { ...latencySummary(health.lat), statuses: health.statuses },
      flood_requests: floodN,
      uploads: ready,
      threads,
    });
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = parseArgs(process.argv.slice(2));
  const vars = Object.fromEntries([args.var ?? []].flat().map((v) => String(v).split("=")));
  const phases = args.phases ? String(args.phases).split(",") : PHASES;
  // The abuse bench's limits: the flood meets the failed-auth limiter as it does there.
  const server = await startServer({
    vars: { RATE_LIMIT_IP_PER_MINUTE: "600", RATE_LIMIT_KEY_PER_MINUTE: "300", RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: "10", ...vars },
  });
  try {
    console.log(`load at start ${loadAvg().join(" ")}; ${args.seconds ?? 15} s per phase; /healthz ${args.probeHz ?? 20} per second`);
    const rows = await runThreadCpu(server, { phases, seconds: Number(args.seconds ?? 15), hz: Number(args.probeHz ?? 20) });
    printTable(
      ["phase", "healthz 200s", "other", "p50", "p95", "max", "flood", "uploads", "workerd threads: CPU s (share of wall)"],
      rows.map((r) => [
        r.phase,
        r.healthz.n,
        JSON.stringify(Object.fromEntries(Object.entries(r.healthz.statuses).filter(([s]) => s !== "200"))),
        fmt(r.healthz.p50),
        fmt(r.healthz.p95),
        fmt(r.healthz.max),
        r.flood_requests,
        r.uploads ? r.uploads.join(", ") : "–",
        r.threads.map((t) => `${t.thread} ${fmt(t.cpu_ms / 1000, 2)} (${fmt(t.share * 100, 0)}%)`).join(", "),
      ]),
      "workerd threads per phase",
    );
  } finally {
    await server.stop();
  }
}
