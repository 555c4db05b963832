#!/usr/bin/env node
// `npm run bench`: runs every benchmark, prints their tables and writes bench/results/*.json.
//
//   npm run bench [-- --quick] [--only bundle,ingest,serve,abuse,chunker,vector-scan,keyword-index,answerer] [--skip ...] [--url URL --key KEY] [--wait-quiet S]
//   npm run bench -- --only ingest,serve --ratios [--as-key] [--rounds 3] [--duration 10]
//
// The serving step starts with issue 18's ratio measurement (bench/serve.mjs runRatios:
// /healthz, search, uncached and cached chat one after another at 8 connections, several rounds,
// unique queries) and writes bench/results/serve-ratios.json; then the load matrix (serve.json) unless
// --ratios, which runs the ratios alone. --as-key sends the requests with a
// temporary key, with the per-key limiter on (a limit no run reaches), so the key guard's call is
// part of every request as in production.
//
// Order: bundle size and cold start first (fresh processes, quiet machine), then ingestion and
// serving on one private `wrangler dev` (rate limits off), then the abuse step on its own private
// `wrangler dev` (rate limits on, as in production), then the chunker, vector-scan and keyword-index micro-benchmarks (other
// helpers' bench/chunker.* and bench/vector-scan.* scripts, run as child processes when present;
// TypeScript ones bundled with esbuild first). --quick is a smoke run: 500 documents,
// 3 s per load step, 10 iterations of the original flow, one cold start. Exits non-zero only when a
// piece fails to run, never because a figure misses its target.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ABUSE_VARS, printAbuse, runAbuse } from "./abuse.mjs";
import { printBundle, runBundle } from "./bundle.mjs";
import { ingestScifact, printIngest } from "./ingest.mjs";
import { ROOT, serverFromArgs } from "./lib/server.mjs";
import { checkQuiet, fmt, machineInfo, parseArgs, printTable, writeResult } from "./lib/util.mjs";
import { printRatios, printServe, runRatios, runServe } from "./serve.mjs";

const PIECES = ["bundle", "ingest", "serve", "abuse", "chunker", "vector-scan", "keyword-index", "answerer"];

/**
 * bench/<name>.* scripts written by other helpers (e.g. vector-scan.ts and vector-scan.workerd.ts).
 * JavaScript runs as is. TypeScript is bundled first with the esbuild that wrangler installs (Node 20
 * cannot run .ts), packages left external and resolved through a node_modules link next to the
 * bundle, as the scripts' own headers do it. They run from the repo root with no arguments (their
 * argv conventions differ); a smoke run is signalled with BENCH_QUICK=1 in the environment.
 */
function findScripts(name) {
  return readdirSync(path.join(ROOT, "bench"))
    .filter((f) => f.startsWith(`${name}.`) && /\.(mjs|js|cjs|mts|ts)$/.test(f) && !f.endsWith(".d.ts") && !f.endsWith(".d.mts"))
    .sort()
    .map((f) => ({ file: path.join(ROOT, "bench", f), ts: /\.m?ts$/.test(f) }));
}

function runScript(s, quick) {
  const rel = path.relative(ROOT, s.file);
  let entry = s.file;
  let tmp = null;
  if (s.ts) {
    const esbuild = path.join(ROOT, "node_modules/.bin/esbuild");
    if (!existsSync(esbuild)) return { status: "skipped", note: "TypeScript script and no esbuild in node_modules" };
    tmp = mkdtempSync(path.join(tmpdir(), "bench-script-"));
    symlinkSync(path.join(ROOT, "node_modules"), path.join(tmp, "node_modules"), "dir");
    entry = path.join(tmp, "script.mjs");
    const b = spawnSync(
      esbuild,
      [s.file, "--bundle", "--platform=node", "--format=esm", "--packages=external", "--log-level=warning", `--outfile=${entry}`],
      { cwd: ROOT, stdio: "inherit" },
    );
    if (b.status !== 0) {
      rmSync(tmp, { recursive: true, force: true });
      return { status: "failed", note: `esbuild could not bundle ${rel}`, exit: b.status };
    }
  }
  console.log(`\n== ${rel}${quick ? " (BENCH_QUICK=1)" : ""}`);
  const before = quick ? resultFiles() : null;
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [entry], {
    cwd: ROOT,
    stdio: "inherit",
    env: { ...process.env, ...(quick ? { BENCH_QUICK: "1" } : {}) },
  });
  const seconds = (performance.now() - t0) / 1000;
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  if (before) keepFullResults(before);
  if (r.status !== 0) return { status: "failed", exit: r.status, signal: r.signal, seconds };
  return { status: "ok", seconds };
}

/** Contents of bench/results/*.json (full runs only), to tell what a script wrote. */
function resultFiles() {
  const dir = path.join(ROOT, "bench/results");
  const out = new Map();
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir)) if (f.endsWith(".json") && !f.endsWith(".quick.json")) out.set(f, readFileSync(path.join(dir, f)));
  return out;
}

/**
 * The helpers' scripts write the same file in a smoke run as in a full one: move what a smoke run
 * wrote to <name>.quick.json and put the full run's file back, so --quick never clobbers figures.
 */
function keepFullResults(before) {
  const dir = path.join(ROOT, "bench/results");
  for (const [f, now] of resultFiles()) {
    const old = before.get(f);
    if (old?.equals(now)) continue;
    writeFileSync(path.join(dir, f.replace(/\.json$/, ".quick.json")), now);
    if (old) writeFileSync(path.join(dir, f), old);
    else rmSync(path.join(dir, f));
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2), { boolean: ["quick", "ratios", "asKey"] });
  const quick = !!args.quick;
  const only = args.only ? String(args.only).split(",") : PIECES;
  const skip = new Set(args.skip ? String(args.skip).split(",") : []);
  const want = (p) => only.includes(p) && !skip.has(p);
  // --wait-quiet S: before each timed piece, wait up to S seconds for the load average to drop.
  const waitQuiet = Number(args.waitQuiet ?? 0);
  const suffix = quick ? ".quick.json" : ".json";
  const summary = { machine: machineInfo(), quick, pieces: {} };
  let failed = false;
  const t0 = performance.now();
  console.log(
    `bench${quick ? " --quick" : ""}: ${summary.machine.cpu_model}, ${summary.machine.cores} cores, Node ${summary.machine.node}`,
  );

  if (want("bundle")) {
    console.log("\n== bundle size and start-up");
    try {
      await checkQuiet("bundle", waitQuiet);
      const r = await runBundle({ runs: quick ? 1 : 3 });
      printBundle(r);
      await writeResult(`bundle${suffix}`, { benchmark: "bundle", machine: summary.machine, quick, ...r });
      summary.pieces.bundle = {
        status: "ok",
        total_kib: Math.round(r.size.total_bytes / 1024),
        gzip_kib: Math.round(r.size.gzip_bytes / 1024),
        spawn_to_healthy_ms: Math.round(r.startup.median.spawn_to_healthy_ms),
        first_search_ms: Math.round(r.startup.median.first_search_ms),
        before_first_search_kib: Math.round(r.size.evaluated_before_first_search_bytes / 1024),
        top_level_cpu_ms: r.size.top_level_cpu.top_level_ms ?? null,
      };
    } catch (err) {
      failed = true;
      summary.pieces.bundle = { status: "failed", error: err.message };
      console.error(`bundle failed: ${err.message}`);
    }
  }

  if (want("ingest") || want("serve")) {
    let server = null;
    // The piece a failure is recorded against.
    let stage = "ingest";
    try {
      await checkQuiet("ingest", waitQuiet);
      // --as-key: the per-key limiter on, at a limit no run reaches (the guard's call is what is measured).
      server = await serverFromArgs(args, args.asKey ? { vars: { RATE_LIMIT_KEY_PER_MINUTE: "1000000" } } : {});
      console.log(`\n== ingest SciFact${quick ? " (first 500 documents)" : ""} into ${server.url}`);
      const ing = await ingestScifact(server, { limit: quick ? 500 : undefined });
      printIngest(ing.measurement);
      await writeResult(`ingest-scifact${suffix}`, { benchmark: "ingest-scifact", machine: summary.machine, quick, ...ing.measurement });
      const m = ing.measurement;
      summary.pieces.ingest = {
        status: m.settled ? "ok" : "failed",
        documents: m.documents,
        ready: m.ready,
        failed: m.failed,
        seconds_until_all_ready: Math.round(m.end_to_end.seconds_until_all_ready * 10) / 10,
        docs_per_s: Math.round(m.end_to_end.docs_per_s),
        peak_rss_mb: m.memory_mb?.peak.total ?? null,
        target_met: m.target.met,
      };
      if (!m.settled) throw new Error("ingestion did not settle; skipping the serving benchmark");
      // The ratios (issue 18's measurement) run in every serving run, first, on a quiet server;
      // --ratios runs them alone, without the longer load matrix that follows them otherwise.
      if (want("serve")) {
        stage = "serve-ratios";
        console.log(`\n== serving ratios${args.asKey ? " (temporary key)" : ""}`);
        await checkQuiet("serve", waitQuiet);
        const r = await runRatios(server, {
          collectionId: ing.collection.id,
          queries: ing.queries,
          rounds: Number(args.rounds ?? (quick ? 1 : 3)),
          durationS: Number(args.duration ?? (quick ? 3 : 10)),
          asKey: !!args.asKey,
        });
        printRatios(r);
        await writeResult(`serve-ratios${suffix}`, { benchmark: "serve-ratios", machine: summary.machine, quick, ...r });
        summary.pieces["serve-ratios"] = {
          status: r.failures === 0 ? "ok" : "failed",
          as_key: r.as_key,
          ratios: Object.fromEntries(Object.entries(r.ratios).map(([k, v]) => [k, v.median])),
          load_avg: r.rounds.map((rd) => rd.load_avg.before[0]),
        };
        if (r.failures > 0) throw new Error(`${r.failures} failed requests in the ratios step`);
      }
      if (want("serve") && !args.ratios) {
        stage = "serve";
        console.log("\n== serving");
        await checkQuiet("serve", waitQuiet);
        const r = await runServe(server, {
          collectionId: ing.collection.id,
          queries: ing.queries,
          durationS: quick ? 3 : 20,
          legacyIterations: quick ? 10 : 50,
        });
        printServe(r);
        await writeResult(`serve${suffix}`, { benchmark: "serve", machine: summary.machine, quick, ...r });
        const s8 = (k) => r.steps.find((s) => s.kind === k && s.connections === 8);
        summary.pieces.serve = {
          status: "ok",
          search_p95_ms_at_8: s8("search")?.latency_ms.p95 ?? null,
          search_rps_at_8: s8("search")?.requests_per_s ?? null,
          chat_p95_ms_at_8: s8("chat")?.latency_ms.p95 ?? null,
          chat_rps_at_8: s8("chat")?.requests_per_s ?? null,
          non2xx: r.steps.reduce((a, s) => a + s.non2xx + s.errors, 0),
          legacy_total_p50_ms: r.legacy.steps.total.p50,
          targets: r.targets,
          // Side by side (issues 9, 14): each kind's p95 over /healthz's p95 in the same run.
          mixed: Object.fromEntries(
            r.mixed.map((m) => [
              `c${m.connections}`,
              Object.fromEntries(
                m.kinds.map((k) => [
                  k.kind,
                  {
                    p95_ms: k.latency_ms.p95,
                    ratio: k.p95_ratio_to_healthz,
                    rps: Math.round(k.requests_per_s),
                    errors: k.errors + k.timeouts + k.non2xx,
                  },
                ]),
              ),
            ]),
          ),
        };
        const mixedErrors = r.mixed.reduce((a, m) => a + m.kinds.reduce((b, k) => b + k.errors + k.timeouts + k.non2xx, 0), 0);
        if (mixedErrors > 0) throw new Error(`${mixedErrors} failed requests in the side-by-side serving step`);
      }
    } catch (err) {
      failed = true;
      const key = stage;
      summary.pieces[key] = { ...(summary.pieces[key] ?? {}), status: "failed", error: err.message };
      console.error(`${key} failed: ${err.message}`);
    } finally {
      await server?.stop();
    }
  }

  if (want("abuse")) {
    let server = null;
    try {
      await checkQuiet("abuse", waitQuiet);
      // Its own server: the limits on (every other step turns them off), fresh windows and counters.
      server = await serverFromArgs(args, { vars: ABUSE_VARS });
      console.log(`\n== abuse: legitimate search under a failed-auth flood and hostile uploads (${server.url})`);
      const r = await runAbuse(server, { seconds: quick ? 5 : 20 });
      printAbuse(r);
      await writeResult(`abuse${suffix}`, { benchmark: "abuse", machine: summary.machine, quick, ...r });
      summary.pieces.abuse = {
        status: "ok",
        solo_p95_ms: r.solo.p95,
        attack_p95_ms: r.attack.p95,
        p95_ratio: r.p95_ratio,
        flood_total: r.flood.total,
        flood_share_429: r.flood.share_429,
        server_errors: r.server_errors,
        targets: r.targets,
      };
    } catch (err) {
      failed = true;
      summary.pieces.abuse = { status: "failed", error: err.message };
      console.error(`abuse failed: ${err.message}`);
    } finally {
      await server?.stop();
    }
  }

  for (const name of ["chunker", "vector-scan", "keyword-index", "answerer"]) {
    if (!want(name)) continue;
    const scripts = findScripts(name);
    if (scripts.length === 0) {
      summary.pieces[name] = { status: "absent", note: `bench/${name}.* not present` };
      console.log(`\n== ${name}: absent (bench/${name}.* not present)`);
    }
    for (const s of scripts) {
      const key = path.basename(s.file);
      const r = runScript(s, quick);
      summary.pieces[key] = r;
      if (r.status === "failed") failed = true;
      if (r.status !== "ok") console.log(`\n== ${key}: ${r.status}${r.note ? ` (${r.note})` : ""}`);
    }
  }

  summary.seconds = (performance.now() - t0) / 1000;
  printTable(
    ["piece", "status", "headline"],
    Object.entries(summary.pieces).map(([k, v]) => [k, v.status, headline(k, v)]),
    `Summary (${fmt(summary.seconds / 60, 1)} min${quick ? ", QUICK smoke run: figures are not comparable" : ""})`,
  );
  // A partial run (--only/--skip) updates its pieces in the summary and keeps the others.
  const summaryPath = path.join(ROOT, "bench/results", `bench-summary${suffix}`);
  if ((args.only || args.skip) && existsSync(summaryPath)) {
    try {
      const prev = JSON.parse(readFileSync(summaryPath, "utf8"));
      summary.pieces = { ...prev.pieces, ...summary.pieces };
      summary.partial_run = { pieces: Object.keys(summary.pieces), date: summary.machine.date };
    } catch {
      // unreadable: overwrite
    }
  }
  const file = await writeResult(`bench-summary${suffix}`, summary);
  console.log(`\nwrote ${file} (and the per-piece files next to it)`);
  return failed ? 1 : 0;
}

function headline(k, v) {
  if (v.status !== "ok") return v.error ?? v.note ?? (v.exit !== undefined ? `exit ${v.exit}` : "");
  if (k === "bundle")
    return `${v.total_kib} KiB (${v.gzip_kib} KiB gzip), ${v.before_first_search_kib} KiB before the first search, top level ${v.top_level_cpu_ms} ms CPU, cold start ${v.spawn_to_healthy_ms} ms`;
  if (k === "ingest")
    return `${v.ready}/${v.documents} ready in ${v.seconds_until_all_ready} s (${v.docs_per_s} docs/s), target ≤ 60 s ${v.target_met === null ? "n/a" : v.target_met ? "met" : "NOT met"}`;
  if (k === "serve-ratios")
    return `p95/healthz @8, one after another${v.as_key ? " (key)" : ""}: ${Object.entries(v.ratios)
      .map(([kind, x]) => `${kind} ${fmt(x, 2)}×`)
      .join(", ")}`;
  if (k === "serve" && v.mixed?.c8) {
    const m = v.mixed.c8;
    const r = (kind) => (m[kind]?.ratio == null ? "–" : `${fmt(m[kind].ratio, 2)}×`);
    return `p95/healthz @8: search ${r("search (hybrid)")}, local hit ${r("chat, local hit")}, global hit ${r("chat, global hit")}, uncached ${r("chat, uncached")}`;
  }
  if (k === "serve")
    return `p95 @8: search ${fmt(v.search_p95_ms_at_8)} ms (≤ 50 ${v.targets.search.met ? "met" : "NOT met"}), chat ${fmt(v.chat_p95_ms_at_8)} ms (≤ 80 ${v.targets.chat.met ? "met" : "NOT met"})`;
  if (k === "abuse")
    return `legit p95 ${fmt(v.solo_p95_ms)} → ${fmt(v.attack_p95_ms)} ms under attack (${fmt(v.p95_ratio, 2)}×, ≤ 2 ${v.targets.legit_p95_within_2x.met ? "met" : "NOT met"}), flood 429 ${fmt((v.flood_share_429 ?? 0) * 100)} %, 5xx ${v.server_errors}`;
  return `${fmt(v.seconds)} s`;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`bench: ${err.stack ?? err}`);
    process.exit(1);
  },
);
