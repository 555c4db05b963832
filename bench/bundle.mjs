#!/usr/bin/env node
// Bundle size (`wrangler deploy --dry-run`) and worker start-up time under `wrangler dev`.
//
//   node bench/bundle.mjs [--quick] [--runs 3]
//
// Size: every file wrangler would upload (source maps and its README excluded), raw and gzip
// (level 9 per file), next to wrangler's own "Total Upload ... / gzip ..." line.
// Modules: from esbuild's metafile, the bytes evaluated at start-up (static imports from the entry:
// what a cold isolate runs before /healthz, a search or a chat turn) vs. those loaded on first use
// (dynamic `import()`: pdf.js, CMaps, mammoth, the MCP SDK), per package (bench/lib/eager.mjs).
// Start-up CPU: the main-thread CPU time of the bundle's top level in fresh V8 isolates (median of
// several, bench/lib/startup/run.mjs), and `wrangler check startup` (a CPU profile of the same in
// local workerd; "active" = sampled non-idle time, garbage collection and script compile included;
// it samples every ~9 ms, so one run is coarse). The route modules load on the first request:
// "before the first search" counts them with the start-up ones. The previous full run's figures
// (bench/results/bundle.json before it is overwritten) are printed next to this run's.
// Start-up: spawn of `wrangler dev` (migrations already applied, not counted) to the first 200 on
// /healthz, which includes wrangler's own esbuild bundling; then the latency of the first requests
// of a fresh worker (health, first D1 write, first Durable Object call through a search).
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { apiClient } from "./lib/api.mjs";
import { byGroup, eagerModules } from "./lib/eager.mjs";
import { snapshotSource, startServer, wranglerSync } from "./lib/server.mjs";
import { checkQuiet, fmt, loadAvg, machineInfo, parseArgs, printTable, RESULTS_DIR, writeResult } from "./lib/util.mjs";

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)],
  );
}

// The app and its route modules: src/index.ts imports them on the first request (not at start-up),
// and every search goes through them, so they count as evaluated before the first search.
const FIRST_REQUEST = ["src/app.ts", "src/routes/index.ts"];

export async function bundleSize({ runs = 5 } = {}) {
  // Built from a snapshot of the tree, like the servers: the custom build step (web/ -> public/)
  // then writes into the snapshot, never into files other people are editing.
  const work = await mkdtemp(path.join(tmpdir(), "docchat-bundle-"));
  const outdir = path.join(work, "out");
  const src = path.join(work, "src-snapshot");
  try {
    const sourceHash = snapshotSource(src);
    const t0 = performance.now();
    const metafile = path.join(work, "meta.json");
    const r = wranglerSync(["deploy", "--dry-run", "--outdir", outdir, "--metafile", metafile], { cwd: src });
    const buildMs = performance.now() - t0;
    const out = r.stdout + r.stderr;
    if (r.status !== 0) throw new Error(`wrangler deploy --dry-run failed (exit ${r.status}):\n${out.split("\n").slice(-30).join("\n")}`);
    const files = walk(outdir)
      .filter((f) => !f.endsWith(".map") && path.basename(f) !== "README.md")
      .map((f) => {
        const buf = readFileSync(f);
        return { file: path.relative(outdir, f), bytes: statSync(f).size, gzip_bytes: gzipSync(buf, { level: 9 }).length };
      })
      .sort((a, b) => b.bytes - a.bytes);
    const m = /Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/.exec(out);
    const split = eagerModules(JSON.parse(readFileSync(metafile, "utf8")), undefined, { firstRequest: FIRST_REQUEST });
    const startup = startupCpu(src, work);
    const topLevel = topLevelCpu(path.join(outdir, "index.js"), runs);
    return {
      evaluated_before_first_search_bytes: split.eagerBytes,
      evaluated_at_startup_bytes: split.startupBytes,
      evaluated_by_first_request_bytes: split.firstRequestBytes,
      loaded_on_first_use_bytes: split.lazyBytes,
      evaluated_before_first_search_modules: Object.fromEntries([...split.eager].sort((a, b) => b[1] - a[1]).slice(0, 40)),
      evaluated_before_first_search_by_package: Object.fromEntries(byGroup(split.eager).slice(0, 15)),
      loaded_on_first_use_by_package: Object.fromEntries(byGroup(split.lazy).slice(0, 10)),
      startup_cpu: startup,
      top_level_cpu: topLevel,
      source_hash: sourceHash,
      build_ms: buildMs,
      total_bytes: files.reduce((a, f) => a + f.bytes, 0),
      gzip_bytes: files.reduce((a, f) => a + f.gzip_bytes, 0),
      wrangler_reported: m ? { total_kib: Number(m[1]), gzip_kib: Number(m[2]) } : null,
      files,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * The bundle's top level in fresh V8 isolates (Node, bench/lib/startup/run.mjs): main-thread CPU
 * time to evaluate it, and to compile and link it, median of `runs` processes.
 */
export function topLevelCpu(bundle, runs) {
  const all = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, [path.join(import.meta.dirname, "lib/startup/run.mjs"), bundle], { encoding: "utf8" });
    if (r.status !== 0) return { error: (r.stderr || r.stdout).split("\n").slice(-10).join("\n") };
    all.push(JSON.parse(r.stdout.trim().split("\n").pop()));
  }
  const median = (k) => {
    const v = all.map((x) => x[k]).sort((a, b) => a - b);
    return v[Math.floor((v.length - 1) / 2)];
  };
  return {
    runs,
    top_level_ms: median("top_level_ms"),
    compile_and_link_ms: median("compile_and_link_ms"),
    first_request_ms: median("first_request_ms"),
    all: all.map((x) => x.top_level_ms),
  };
}

/** `wrangler check startup`: CPU profile of the Worker's top-level evaluation (works offline). */
export function startupCpu(cwd, work) {
  const r = wranglerSync(["check", "startup", "--outfile", path.join(work, "startup.cpuprofile")], { cwd });
  const out = r.stdout + r.stderr;
  const num = (re) => {
    const m = re.exec(out);
    return m ? Number(m[1]) : null;
  };
  if (r.status !== 0) return { error: out.split("\n").slice(-10).join("\n") };
  return {
    active_ms: num(/Active:\s*([\d.]+)\s*ms/),
    gc_ms: num(/including\s*([\d.]+)\s*ms garbage collection/),
    sampled_ms: num(/Sampled time:\s*([\d.]+)\s*ms/),
    samples: num(/Samples:\s*(\d+)/),
  };
}

/** One cold start: spawn -> healthy, then the first requests of the fresh worker. */
export async function startupOnce() {
  const server = await startServer();
  try {
    const api = apiClient(server.url, server.masterKey);
    const health2 = await api.request("GET", "/healthz", { auth: "none" });
    const col = await api.request("POST", "/v1/collections", { json: { name: "startup" }, retries: 0 });
    const search = await api.search(col.body.id, { query: "first query of a fresh worker", top_k: 10, mode: "hybrid" });
    const search2 = await api.search(col.body.id, { query: "second query of a fresh worker", top_k: 10, mode: "hybrid" });
    return {
      migrate_ms: server.timings.migrateMs,
      spawn_to_healthy_ms: server.timings.spawnToHealthyMs,
      first_healthz_ms: server.timings.firstHealthMs,
      second_healthz_ms: health2.ms,
      first_create_collection_ms: col.ms,
      first_search_ms: search.ms,
      second_search_ms: search2.ms,
    };
  } finally {
    await server.stop();
  }
}

export async function runBundle({ runs = 3 } = {}) {
  const loadBefore = loadAvg();
  const size = await bundleSize({ runs: Math.max(5, runs) });
  const starts = [];
  for (let i = 0; i < runs; i++) starts.push(await startupOnce());
  const median = (k) => {
    const v = starts.map((s) => s[k]).sort((a, b) => a - b);
    return v[Math.floor((v.length - 1) / 2)];
  };
  const keys = Object.keys(starts[0]);
  return {
    size,
    startup: { runs, median: Object.fromEntries(keys.map((k) => [k, median(k)])), all: starts },
    load_avg: { before: loadBefore, after: loadAvg() },
  };
}

/** The last full run's figures (bench/results/bundle.json, before this run overwrites it), if any. */
function previousRun() {
  try {
    return JSON.parse(readFileSync(path.join(RESULTS_DIR, "bundle.json"), "utf8"));
  } catch {
    return null;
  }
}

export function printBundle(r, prev = previousRun()) {
  const kib = (b) => `${fmt(b / 1024, 0)} KiB`;
  if (prev?.size) {
    // Before/after: the previous run's figures next to this one's (older runs lack some fields; a
    // run from before the app loaded on first use counted only the start-up modules).
    const p = prev.size;
    const row = (label, before, after, f) => [label, before == null ? "n/a" : f(before), after == null ? "n/a" : f(after)];
    printTable(
      [`against the previous run (${prev.machine?.git_commit ?? "?"}, ${prev.machine?.date ?? "?"})`, "previous", "this run"],
      [
        row("upload (raw)", p.total_bytes, r.size.total_bytes, kib),
        row(
          "modules evaluated before the first search",
          p.evaluated_before_first_search_bytes ?? p.evaluated_at_startup_bytes,
          r.size.evaluated_before_first_search_bytes,
          kib,
        ),
        row("top-level CPU, V8 median (ms)", p.top_level_cpu?.top_level_ms, r.size.top_level_cpu?.top_level_ms, (v) => fmt(v)),
        row("wrangler check startup active (ms)", p.startup_cpu?.active_ms, r.size.startup_cpu?.active_ms, (v) => fmt(v)),
      ],
    );
  }
  printTable(
    ["bundle (wrangler deploy --dry-run)", "raw", "gzip -9"],
    [
      ["total", kib(r.size.total_bytes), kib(r.size.gzip_bytes)],
      ...(r.size.wrangler_reported
        ? [["as wrangler reports it", `${r.size.wrangler_reported.total_kib} KiB`, `${r.size.wrangler_reported.gzip_kib} KiB`]]
        : []),
      ...r.size.files.slice(0, 5).map((f) => [`  ${f.file}`, kib(f.bytes), kib(f.gzip_bytes)]),
    ],
  );
  printTable(
    ["modules in the bundle", "bytes"],
    [
      ["evaluated before the first search", kib(r.size.evaluated_before_first_search_bytes)],
      ["  at start-up (static imports of the entry)", kib(r.size.evaluated_at_startup_bytes)],
      ["  by the first request (the app and its routes)", kib(r.size.evaluated_by_first_request_bytes)],
      ...Object.entries(r.size.evaluated_before_first_search_by_package)
        .slice(0, 6)
        .map(([g, b]) => [`  ${g}`, kib(b)]),
      ["loaded on first use (dynamic import)", kib(r.size.loaded_on_first_use_bytes)],
      ...Object.entries(r.size.loaded_on_first_use_by_package)
        .slice(0, 6)
        .map(([g, b]) => [`  ${g}`, kib(b)]),
    ],
  );
  const cpu = r.size.startup_cpu;
  const top = r.size.top_level_cpu;
  printTable(
    ["start-up CPU", "ms"],
    [
      ...(top.error
        ? [["top level in V8 (bench/lib/startup/run.mjs)", `failed: ${top.error}`]]
        : [
            [`top level, median of ${top.runs} fresh isolates (V8, main thread)`, fmt(top.top_level_ms)],
            ["  compile and link the script (same runs)", fmt(top.compile_and_link_ms)],
            ["  then the first request (builds the app)", fmt(top.first_request_ms)],
          ]),
      ...(cpu.error
        ? [["wrangler check startup", `failed: ${cpu.error}`]]
        : [
            ["wrangler check startup: active (incl. GC, ~9 ms samples)", fmt(cpu.active_ms)],
            ["  of which garbage collection", fmt(cpu.gc_ms)],
          ]),
    ],
  );
  const m = r.startup.median;
  printTable(
    [`start-up (median of ${r.startup.runs})`, "ms"],
    [
      ["spawn wrangler dev -> first 200 /healthz", fmt(m.spawn_to_healthy_ms, 0)],
      ["  first /healthz request", fmt(m.first_healthz_ms)],
      ["  second /healthz request", fmt(m.second_healthz_ms)],
      ["first POST /v1/collections (D1)", fmt(m.first_create_collection_ms)],
      ["first search (Durable Object, D1 FTS)", fmt(m.first_search_ms)],
      ["second search", fmt(m.second_search_ms)],
      ["(not counted) d1 migrations apply", fmt(m.migrate_ms, 0)],
    ],
  );
}

async function main() {
  const args = parseArgs(process.argv.slice(2), { boolean: ["quick"] });
  await checkQuiet("bundle", Number(args.waitQuiet ?? 0));
  const r = await runBundle({ runs: Number(args.runs ?? (args.quick ? 1 : 3)) });
  printBundle(r);
  const file = await writeResult(args.quick ? "bundle.quick.json" : "bundle.json", {
    benchmark: "bundle",
    machine: machineInfo(),
    quick: !!args.quick,
    ...r,
  });
  console.log(`\nwrote ${file}`);
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(`bench/bundle: ${err.stack ?? err}`);
      process.exit(1);
    },
  );
}
