#!/usr/bin/env node
// What holds the Worker's thread while hostile documents index (issue 17.5): a private `wrangler
// dev`, the abuse bench's three pathological Markdown uploads (`<!--`×500,000, `[`×2,000,000,
// `![`×1,000,000), a sampling CPU profile of the Worker's isolate (the queue consumer and the
// collection object run in it) while a client polls /healthz 20 times a second, and then:
//   - /healthz p50/p95/max over the window;
//   - the isolate's self time per file and function, and the garbage collector's share;
//   - the longest busy spans of the thread (consecutive non-idle samples), each with the functions
//     that filled it: a span is what a request arriving during it waits for.
//
//   node bench/profile-ingest.mjs [--spans 12] [--out PREFIX] [--var NAME=VALUE ...]
import { writeFile, rm } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { devtools, bundleMap, selfTimes } from "./profile-chat.mjs";
import { startServer } from "./lib/server.mjs";
import { latencySummary, loadAvg, parseArgs, sleep } from "./lib/util.mjs";

export const HOSTILE = [
  { name: "comments.md", text: "<!--".repeat(500_000) },
  { name: "brackets.md", text: "[".repeat(2_000_000) },
  { name: "images.md", text: "![".repeat(1_000_000) },
];

/** Runs of consecutive non-idle samples (gaps under `joinUs` joined), longest first, with their top self functions. */
export function busySpans(profile, map, { joinUs = 1000, top = 12 } = {}) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const name = (id) => {
    const cf = byId.get(id).callFrame;
    let where = cf.url ? cf.url.replace(/^.*\//, "") : "";
    let line = cf.lineNumber + 1;
    const origin = map && cf.url && cf.lineNumber >= 0 ? map.findEntry(cf.lineNumber, cf.columnNumber) : null;
    if (origin?.originalSource) {
      where = origin.originalSource.replace(/^.*?\/(src|node_modules)\//, "$1/");
      line = origin.originalLine + 1;
    }
    return where ? `${cf.functionName || "(anonymous)"} ${where}:${line}` : cf.functionName;
  };
  const spans = [];
  let t = profile.startTime;
  let cur = null;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    const n = name(profile.samples[i]);
    if (n === "(idle)") {
      if (cur && t - cur.lastUs > joinUs) {
        spans.push(cur);
        cur = null;
      }
      continue;
    }
    if (!cur || t - cur.lastUs > joinUs) {
      if (cur) spans.push(cur);
      cur = { startUs: t, lastUs: t, fns: new Map() };
    }
    cur.lastUs = t;
    cur.fns.set(n, (cur.fns.get(n) ?? 0) + 1);
  }
  if (cur) spans.push(cur);
  return spans
    .map((s) => {
      const samples = [...s.fns.values()].reduce((a, b) => a + b, 0);
      return {
        at_ms: (s.startUs - profile.startTime) / 1000,
        ms: (s.lastUs - s.startUs) / 1000,
        top: [...s.fns.entries()]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 4)
          .map(([k, c]) => `${((c / samples) * 100).toFixed(0)}% ${k}`),
      };
    })
    .sort((a, b) => b.ms - a.ms)
    .slice(0, top);
}

/** What the isolate did in [fromUs, toUs] (profile clock): sampled time per function, and the time no sample covers. */
export function during(profile, map, fromUs, toUs) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const fns = new Map();
  let t = profile.startTime;
  let sampled = 0;
  let unsampled = 0;
  let longest = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i];
    const prev = t;
    t += dt;
    if (t <= fromUs || prev >= toUs) continue;
    const span = (Math.min(t, toUs) - Math.max(prev, fromUs)) / 1000;
    if (dt > 2000) {
      unsampled += span;
      longest = Math.max(longest, span);
      continue;
    }
    sampled += span;
    const cf = byId.get(profile.samples[i]).callFrame;
    const origin = map && cf.url && cf.lineNumber >= 0 ? map.findEntry(cf.lineNumber, cf.columnNumber) : null;
    const where = origin?.originalSource ? origin.originalSource.replace(/^.*\//, "") : cf.url ? cf.url.replace(/^.*\//, "") : "";
    const k = `${cf.functionName || "(anonymous)"}${where ? ` ${where}` : ""}`;
    fns.set(k, (fns.get(k) ?? 0) + span);
  }
  const top = [...fns.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([k, ms]) => `${ms.toFixed(0)} ms ${k}`);
  return { sampledMs: sampled, unsampledMs: unsampled, longestGapMs: longest, top };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  // --var NAME=VALUE (repeatable): a setting for the private server, to compare settings.
  const vars = Object.fromEntries([args.var ?? []].flat().map((v) => String(v).split("=")));
  const server = await startServer({ keepState: true, vars });
  try {
    const headers = { "X-Master-API-Key": server.masterKey, "Content-Type": "application/json" };
    const col = await (
      await fetch(`${server.url}/v1/collections`, { method: "POST", headers, body: JSON.stringify({ name: "profile" }) })
    ).json();
    // Warm the isolate's lazy modules (extraction, chunker, embedder, the answerer's encoder) with one small document.
    const warm = await (
      await fetch(`${server.url}/v1/collections/${col.id}/documents`, {
        method: "POST",
        headers,
        body: JSON.stringify({ documents: [{ name: "warm.md", text: "# Warm\n\nA small document to load every module once." }] }),
      })
    ).json();
    for (let i = 0; i < 100; i++) {
      const d = await (await fetch(`${server.url}/v1/collections/${col.id}/documents/${warm.documents[0].id}`, { headers })).json();
      if (d.status === "ready") break;
      await sleep(200);
    }
    const map = bundleMap(path.join(server.persistTo, "src-snapshot"));
    const dt = await devtools(server.inspectorPort);
    await dt.send("Profiler.enable");
    await dt.send("Profiler.setSamplingInterval", { interval: 250 });
    await dt.send("Profiler.start");
    const load = loadAvg();
    const t0 = performance.now();
    const ids = [];
    for (const doc of HOSTILE) {
      const r = await (
        await fetch(`${server.url}/v1/collections/${col.id}/documents`, {
          method: "POST",
          headers,
          body: JSON.stringify({ documents: [doc] }),
        })
      ).json();
      ids.push(r.documents[0].id);
    }
    const lat = [];
    // Each probe's [start, end] on the monotonic clock in µs: V8's profile timestamps use the same
    // clock (CLOCK_MONOTONIC on Linux), so a slow probe can be laid over the isolate's timeline.
    const probes = [];
    let done = false;
    const prober = (async () => {
      while (!done) {
        const s = performance.now();
        const startUs = Number(process.hrtime.bigint() / 1000n);
        await (await fetch(`${server.url}/healthz`)).text();
        probes.push({ startUs, endUs: Number(process.hrtime.bigint() / 1000n) });
        lat.push(performance.now() - s);
        await sleep(Math.max(0, 50 - (performance.now() - s)));
      }
    })();
    const ready = {};
    while (Object.keys(ready).length < ids.length && performance.now() - t0 < 180_000) {
      for (const id of ids) {
        if (ready[id]) continue;
        const d = await (await fetch(`${server.url}/v1/collections/${col.id}/documents/${id}`, { headers })).json();
        if (d.status === "ready" || d.status === "failed")
          ready[id] = `${d.status} ${((performance.now() - t0) / 1000).toFixed(1)} s, ${d.chunk_count ?? "?"} chunks`;
      }
      await sleep(250);
    }
    done = true;
    await prober;
    const { profile } = await dt.send("Profiler.stop");
    dt.close();
    if (args.out) await writeFile(`${args.out}.ingest.cpuprofile`, JSON.stringify(profile));
    const h = latencySummary(lat);
    console.log(`load at start ${load.join(" ")}; documents: ${Object.values(ready).join("; ")}`);
    console.log(`/healthz during ingestion: n ${h.n}, p50 ${h.p50?.toFixed(1)} p95 ${h.p95?.toFixed(1)} max ${h.max?.toFixed(1)} ms`);
    const t = selfTimes(profile, map);
    const gc = t.functions.filter((f) => f.where.startsWith("(garbage collector)")).reduce((a, f) => a + f.ms, 0);
    const idle = t.functions.filter((f) => f.where.startsWith("(idle)")).reduce((a, f) => a + f.ms, 0);
    console.log(
      `isolate: ${(t.ms / 1000).toFixed(1)} s profiled, idle ${(idle / 1000).toFixed(1)} s, garbage collector ${(gc / 1000).toFixed(2)} s`,
    );
    console.log("\nby file (self):");
    for (const f of t.files.slice(0, 15)) console.log(`  ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.where}`);
    console.log("\nby function (self):");
    for (const f of t.functions.slice(0, 25)) console.log(`  ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.where}`);
    console.log("\nslowest probes, with what the isolate did meanwhile (sampled JS by function; unsampled: no JS of this isolate ran):");
    for (const p of probes.sort((a, b) => b.endUs - b.startUs - (a.endUs - a.startUs)).slice(0, Number(args.probes ?? 6))) {
      const w = during(profile, map, p.startUs, p.endUs);
      console.log(
        `  ${((p.endUs - p.startUs) / 1000).toFixed(0).padStart(4)} ms: sampled ${w.sampledMs.toFixed(0)} ms, unsampled ${w.unsampledMs.toFixed(0)} ms (longest ${w.longestGapMs.toFixed(0)}); ${w.top.join(" | ")}`,
      );
    }
    console.log("\nlongest busy spans (what a request arriving then waits for):");
    for (const s of busySpans(profile, map, { top: Number(args.spans ?? 12) }))
      console.log(`  ${s.ms.toFixed(1).padStart(6)} ms at ${(s.at_ms / 1000).toFixed(2)} s: ${s.top.join(" | ")}`);
  } finally {
    await server.stop();
    await rm(server.persistTo, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(`bench/profile-ingest: ${err.stack ?? err}`);
      process.exit(1);
    },
  );
}
