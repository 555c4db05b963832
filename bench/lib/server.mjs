// Starts a private `wrangler dev` for a benchmark: free port on 127.0.0.1, fresh --persist-to
// directory, secrets generated for this run only, migrations applied, ready when /healthz says ok.
//
// Why these choices:
// - secrets go through `--env-file <tmp file, mode 0600>`: with an explicit env file wrangler does
//   not read the developer's .dev.vars at all (so a local ANSWER_PROVIDER or key cannot leak into
//   the figures), and the secrets stay out of the process list, where `--var` would put them;
// - wrangler is started as `node .../wrangler.js` in its own process group, so stop() ends exactly
//   the processes this run started (wrangler, esbuild, workerd) and nothing else;
// - a free inspector port too: the default 9229 collides with another engineer's `wrangler dev`;
// - wrangler dev rebuilds and restarts workerd whenever a watched file changes, and other people
//   edit src/ while we measure. A restart answers in-flight POSTs with 503 ("Your worker restarted
//   mid-request") and drops every message held by the local queue broker (it lives in memory), so
//   documents stay `queued` for ever. The server therefore runs from a snapshot of the source taken
//   at start (copied to a temp dir, node_modules symlinked): one build, measured as it was.
//   A private dev registry too: another `wrangler dev` starting or stopping anywhere on the machine
//   updates the shared registry and that alone reloads every running server.
//   Reloads are still counted (wrangler logs them at level "log") and reported.
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, cpSync, existsSync, openSync, readdirSync, readFileSync, statSync, symlinkSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export const WRANGLER_ENV = {
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  CI: "true",
  // No colour codes in the captured log, so reload lines can be matched.
  FORCE_COLOR: "0",
  NO_COLOR: "1",
};

/** Runs wrangler synchronously (for short commands such as migrations or the dry-run build). */
export function wranglerSync(args, opts = {}) {
  const res = spawnSync(process.execPath, [path.join(opts.cwd ?? ROOT, "node_modules/wrangler/bin/wrangler.js"), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...WRANGLER_ENV },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    ...opts,
  });
  return { status: res.status, stdout: res.stdout ?? "", stderr: res.stderr ?? "", error: res.error };
}

/** Top-level entries never copied into a source snapshot (state, tests, secrets, outputs). */
const SNAPSHOT_SKIP = new Set(["node_modules", ".git", ".wrangler", "test-results", "dist", "coverage", "bench", "test", "docs", ".ci"]);

/**
 * Copies what `wrangler dev` builds from (config, src/, migrations/, static assets ...) into `dir`
 * and links node_modules, so edits made in the tree during a run cannot reload the server.
 * @returns {string} sha256 of the copied src/, to name the build that was measured
 */
export function snapshotSource(dir) {
  for (const name of readdirSync(ROOT)) {
    if (SNAPSHOT_SKIP.has(name) || name.startsWith(".dev.vars")) continue;
    cpSync(path.join(ROOT, name), path.join(dir, name), { recursive: true });
  }
  symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
  const hash = createHash("sha256");
  const visit = (d) => {
    for (const name of readdirSync(d).sort()) {
      const full = path.join(d, name);
      if (statSync(full).isDirectory()) visit(full);
      else hash.update(path.relative(dir, full)).update(readFileSync(full));
    }
  };
  if (existsSync(path.join(dir, "src"))) visit(path.join(dir, "src"));
  return hash.digest("hex").slice(0, 12);
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Every live server this process started, stopped on exit or signal. */
const live = new Set();
let hooksInstalled = false;
function installExitHooks() {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // Last resort: synchronous kill of each process group we own.
  process.on("exit", () => {
    for (const s of live) s.killGroup("SIGKILL");
  });
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.once(sig, async () => {
      await Promise.allSettled([...live].map((s) => s.stop()));
      process.exit(sig === "SIGINT" ? 130 : 143);
    });
  }
}

/**
 * @param {{port?: number, vars?: Record<string,string>, timeoutMs?: number, keepState?: boolean}} [opts]
 * @returns {Promise<Server>}
 *
 * @typedef {object} Server
 * @property {string} url
 * @property {string} masterKey
 * @property {number|null} pid pid of wrangler (leader of its process group), null for an external server
 * @property {string|null} persistTo
 * @property {string|null} logFile
 * @property {{migrateMs: number, spawnToHealthyMs: number, firstHealthMs: number}|null} timings
 * @property {() => number} reloads how many times wrangler reloaded the worker since start
 * @property {() => Promise<void>} stop
 * @property {boolean} external
 */
export async function startServer(opts = {}) {
  installExitHooks();
  const persistTo = await mkdtemp(path.join(tmpdir(), "docchat-bench-"));
  const srcDir = path.join(persistTo, "src-snapshot");
  const sourceHash = snapshotSource(srcDir);
  const port = opts.port ?? (await freePort());
  const inspectorPort = await freePort();
  const masterKey = `mk_bench_${randomBytes(32).toString("base64url")}`;
  const jwtSecret = randomBytes(48).toString("base64url");
  const envFile = path.join(persistTo, "bench.env");
  // The IP and key rate limiters are off for the benchmarks (many requests from one address and one
  // key are the point); only the abuse step turns them on, through opts.vars.
  const vars = {
    MASTER_API_KEY: masterKey,
    JWT_SECRET_KEY: jwtSecret,
    ANSWER_PROVIDER: "extractive",
    RATE_LIMIT_IP_PER_MINUTE: "0",
    RATE_LIMIT_KEY_PER_MINUTE: "0",
    ...(opts.vars ?? {}),
  };
  await writeFile(
    envFile,
    `${Object.entries(vars)
      .map(([k, v]) => `${k}=${v}`)
      .join("\n")}\n`,
    { mode: 0o600 },
  );

  const cleanupDir = () => (opts.keepState ? Promise.resolve() : rm(persistTo, { recursive: true, force: true }));

  const tMigrate = performance.now();
  const mig = wranglerSync(["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo], { cwd: srcDir });
  const migrateMs = performance.now() - tMigrate;
  if (mig.status !== 0) {
    await cleanupDir();
    throw new Error(`wrangler d1 migrations apply failed (exit ${mig.status}):\n${tail(mig.stdout + mig.stderr)}`);
  }

  // wrangler writes straight into a log file (not a pipe), so a server kept with --keep outlives us.
  const logFile = path.join(persistTo, "wrangler-dev.log");
  const logFd = openSync(logFile, "a");
  const args = [
    path.join(srcDir, "node_modules/wrangler/bin/wrangler.js"),
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--persist-to",
    persistTo,
    "--env-file",
    envFile,
    "--show-interactive-dev-session=false",
    "--log-level",
    "log", // "log" is more verbose than "info" in wrangler: it includes the reload messages
  ];
  const t0 = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: srcDir,
    env: {
      ...process.env,
      ...WRANGLER_ENV,
      // A private dev registry: every other `wrangler dev` on the machine (tests, other engineers)
      // registers in the shared one, and each change there makes this server reload.
      WRANGLER_REGISTRY_PATH: path.join(persistTo, "registry"),
      WRANGLER_CI_DISABLE_CONFIG_WATCHING: "true",
    },
    stdio: ["ignore", logFd, logFd],
    detached: true, // own process group: stop() kills exactly this tree
  });
  closeSync(logFd);
  const output = () => {
    try {
      return readFileSync(logFile, "utf8");
    } catch {
      return "";
    }
  };
  let readyOffset = 0;
  const reloads = () =>
    (
      output()
        .slice(readyOffset)
        .match(/Reloading local server/g) ?? []
    ).length;
  let exited = null;
  const exitPromise = new Promise((resolve) => {
    child.on("exit", (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
  });

  let stopped = false;
  // The whole group, even when wrangler itself is gone: workerd may outlive its parent.
  const killGroup = (sig) => {
    if (stopped) return;
    try {
      process.kill(-child.pid, sig);
    } catch {
      // already gone
    }
  };
  const server = {
    url: `http://127.0.0.1:${port}`,
    masterKey,
    pid: child.pid,
    /** workerd's DevTools port (bench/profile-chat.mjs takes CPU profiles through it). */
    inspectorPort,
    sourceHash,
    persistTo: opts.keepState ? persistTo : null,
    logFile: opts.keepState ? logFile : null,
    timings: null,
    external: false,
    reloads,
    killGroup,
    /** Leaves the server running after this process exits (--keep). */
    detach: () => {
      live.delete(server);
      child.unref();
    },
    stop: async () => {
      live.delete(server);
      killGroup("SIGTERM");
      const done = await Promise.race([exitPromise, sleep(5000).then(() => null)]);
      if (!done) {
        killGroup("SIGKILL");
        await Promise.race([exitPromise, sleep(2000)]);
      }
      killGroup("SIGKILL"); // stragglers of the group, if any
      stopped = true;
      await cleanupDir();
    },
  };
  live.add(server);

  // Ready = first 200 on /healthz; the first answer also shows whether the secrets were accepted.
  const deadline = Date.now() + (opts.timeoutMs ?? 180_000);
  let firstHealthMs = 0;
  for (;;) {
    if (exited) {
      await server.stop();
      throw new Error(`wrangler dev exited (code ${exited.code}, signal ${exited.signal}) before /healthz answered:\n${tail(output())}`);
    }
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`wrangler dev did not answer /healthz within ${(opts.timeoutMs ?? 180_000) / 1000}s:\n${tail(output())}`);
    }
    const t = performance.now();
    try {
      const res = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(5000) });
      const body = await res.text();
      if (res.status === 200) {
        firstHealthMs = performance.now() - t;
        const health = JSON.parse(body);
        if (health.status !== "ok") {
          await server.stop();
          throw new Error(`/healthz answered status=${health.status}: ${body}`);
        }
        server.health = health;
        break;
      }
    } catch (err) {
      if (err instanceof Error && err.message.startsWith("/healthz answered")) throw err;
      // not listening yet
    }
    await sleep(50);
  }
  readyOffset = output().length;
  server.timings = { migrateMs, spawnToHealthyMs: performance.now() - t0, firstHealthMs };
  return server;
}

/** A server somebody else runs (`--url`); stop() does nothing. */
export function externalServer(url, key) {
  return {
    url: url.replace(/\/+$/, ""),
    masterKey: key,
    pid: null,
    persistTo: null,
    logFile: null,
    timings: null,
    external: true,
    reloads: () => 0,
    detach: () => {},
    stop: async () => {},
  };
}

/** The master key for an external server: --key, then env, then the developer's .dev.vars. */
export function resolveKey(explicit) {
  if (explicit) return explicit;
  if (process.env.DOCCHAT_API_KEY) return process.env.DOCCHAT_API_KEY;
  if (process.env.MASTER_API_KEY) return process.env.MASTER_API_KEY;
  const devVars = path.join(ROOT, ".dev.vars");
  if (existsSync(devVars)) {
    const m = /^\s*MASTER_API_KEY\s*=\s*"?([^"\n]+)"?\s*$/m.exec(readFileSync(devVars, "utf8"));
    if (m) return m[1].trim();
  }
  return null;
}

/** `--url` given: use that server (key from --key/env/.dev.vars); otherwise start a private one. */
export async function serverFromArgs(args, opts = {}) {
  if (args.url) {
    const key = resolveKey(args.key);
    if (!key) throw new Error("--url given but no key: pass --key, set MASTER_API_KEY, or keep one in .dev.vars");
    const server = externalServer(args.url, key);
    const res = await fetch(`${server.url}/healthz`).catch((err) => {
      throw new Error(`${server.url}/healthz is not reachable: ${err.message}`);
    });
    if (res.status !== 200) throw new Error(`${server.url}/healthz answered ${res.status}`);
    return server;
  }
  return startServer(opts);
}

function tail(s, lines = 40) {
  return s.split("\n").slice(-lines).join("\n");
}
