// Small helpers shared by the benchmark scripts: arguments, statistics, tables, result files.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ROOT } from "./server.mjs";

export const RESULTS_DIR = path.join(ROOT, "bench/results");

/**
 * `--flag`, `--name value`, `--name=value`; everything else is positional.
 * @param {string[]} argv
 * @param {{boolean?: string[]}} spec names that never take a value
 */
export function parseArgs(argv, spec = {}) {
  const bools = new Set(spec.boolean ?? []);
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) {
      out._.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = (eq > 0 ? a.slice(2, eq) : a.slice(2)).replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (eq > 0) out[name] = a.slice(eq + 1);
    else if (bools.has(name) || i + 1 >= argv.length || argv[i + 1].startsWith("--")) out[name] = true;
    else out[name] = argv[++i];
  }
  return out;
}

/** Percentile by nearest rank on a copy of the values (ms). */
export function percentile(values, p) {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const idx = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[idx];
}

export function latencySummary(values) {
  if (values.length === 0) return { n: 0, mean: null, p50: null, p95: null, p99: null, max: null };
  return {
    n: values.length,
    mean: values.reduce((a, b) => a + b, 0) / values.length,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
    max: Math.max(...values),
  };
}

export const fmt = (v, digits = 1) => (v === null || v === undefined || Number.isNaN(v) ? "–" : Number(v).toFixed(digits));

/** Prints rows as an aligned plain-text table (first column left-aligned, the rest right-aligned). */
export function printTable(headers, rows, title) {
  const cells = [headers, ...rows].map((r) => r.map((c) => String(c ?? "–")));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  if (title) console.log(`\n${title}`);
  console.log(line(cells[0]));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of cells.slice(1)) console.log(line(r));
}

/** Runs `fn` over `items` with at most `limit` in flight; results keep the input order. */
export async function mapPool(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function git(args) {
  const r = spawnSync("git", args, { cwd: ROOT, encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** What the figures were measured on. */
export function machineInfo() {
  const cpus = os.cpus();
  let wrangler = null;
  try {
    wrangler = JSON.parse(readFileSync(path.join(ROOT, "node_modules/wrangler/package.json"), "utf8")).version;
  } catch {
    // not installed
  }
  const status = git(["status", "--porcelain", "--", "src", "migrations", "wrangler.jsonc"]);
  return {
    cpu_model: cpus[0]?.model?.trim() ?? "unknown",
    cores: cpus.length,
    ram_gb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    wrangler,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    git_commit: git(["rev-parse", "--short", "HEAD"]),
    // The backend is built by several people at once: say whether src/ had uncommitted changes.
    src_dirty: status === null ? null : status.length > 0,
    date: new Date().toISOString(),
    load_avg_1_5_15: loadAvg(),
  };
}

/** 1, 5 and 15 minute load averages: other people's test runs on this 2-core machine skew timings. */
export function loadAvg() {
  return os.loadavg().map((v) => Math.round(v * 100) / 100);
}

/** Warns when the machine is already busy; optionally waits (up to maxWaitS) for it to calm down. */
export async function checkQuiet(label, maxWaitS = 0) {
  const cores = os.cpus().length;
  const busy = () => os.loadavg()[0] > cores * 0.5;
  const until = Date.now() + maxWaitS * 1000;
  if (busy() && maxWaitS > 0)
    process.stderr.write(`${label}: load ${loadAvg()[0]} on ${cores} cores, waiting up to ${maxWaitS} s for it to drop ...\n`);
  while (busy() && Date.now() < until) await sleep(5000);
  const load = loadAvg();
  if (busy())
    console.log(
      `WARNING (${label}): load average ${load.join(" / ")} on ${cores} cores: other processes compete for the CPU; timings are pessimistic.`,
    );
  return load;
}

/** Writes bench/results/<name> atomically (the *.tmp file is git-ignored). */
export async function writeResult(name, data) {
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, name);
  await writeFile(`${file}.tmp`, `${JSON.stringify(data, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
  return path.relative(ROOT, file);
}

/** Prints a one-line progress update on a TTY (rewriting the line), or a plain line every `every` ms. */
export function progressPrinter(every = 5000) {
  const tty = process.stderr.isTTY;
  let lastPlain = 0;
  return {
    update(text) {
      if (tty) process.stderr.write(`\r\x1b[2K${text}`);
      else if (Date.now() - lastPlain >= every) {
        lastPlain = Date.now();
        process.stderr.write(`${text}\n`);
      }
    },
    done(text) {
      if (tty) process.stderr.write(`\r\x1b[2K${text ?? ""}${text ? "\n" : ""}`);
      else if (text) process.stderr.write(`${text}\n`);
    },
  };
}

/**
 * Collects `Server-Timing` headers (`name;dur=1.2, other;dur=3`) and summarises each metric (ms):
 * where the server says its time went, next to the latency seen by the client.
 */
export function serverTimingCollector() {
  const values = {};
  return {
    add(header) {
      if (!header) return;
      for (const part of String(header).split(",")) {
        const [name, ...params] = part.trim().split(";");
        const dur = params.map((p) => /^\s*dur=([\d.]+)/.exec(p)).find(Boolean);
        if (!name || !dur) continue;
        const key = name.trim();
        if (!values[key]) values[key] = [];
        values[key].push(Number(dur[1]));
      }
    },
    summary() {
      const out = {};
      for (const [name, v] of Object.entries(values)) {
        const l = latencySummary(v);
        out[name] = { n: l.n, mean: l.mean, p50: l.p50, p95: l.p95 };
      }
      return Object.keys(out).length ? out : null;
    },
  };
}
