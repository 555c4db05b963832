#!/usr/bin/env node
// End-to-end test of the web page in a real browser, against a throwaway local server:
//   build the page -> fresh state dir + random secrets -> D1 migrations -> `wrangler dev` on a free
//   port -> wait for /healthz -> run test/e2e/chat-page.e2e.mjs (Debian's chromium via playwright-core)
//   -> stop wrangler. The developer's .dev.vars and .wrangler/state are never read or touched.
// Exits non-zero on failure. Skips (exit 0) only when chromium is missing and cannot be installed,
// and REQUIRE_E2E=1 (set by .ci/run) turns that skip into a failure.
import { freePort } from "../bench/lib/server.mjs";
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const results = path.join(root, "test-results");
const wranglerBin = path.join(root, "node_modules/.bin/wrangler");
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true", NO_COLOR: "1" };
const log = (msg) => console.log(`e2e: ${msg}`);

function findChromium() {
  const candidates = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"].filter(Boolean);
  return candidates.find((p) => existsSync(p));
}

/** Debian's package, as in CI; root installs directly, others only through password-less sudo. */
function installChromium() {
  if (!existsSync("/usr/bin/apt-get")) return false;
  const asRoot = process.getuid?.() === 0;
  const run = (args) => {
    const cmd = asRoot ? "apt-get" : "sudo";
    const full = asRoot ? args : ["-n", "apt-get", ...args];
    return spawnSync(cmd, full, { stdio: "inherit", env: { ...env, DEBIAN_FRONTEND: "noninteractive" } }).status === 0;
  };
  log("chromium not found; trying apt-get install -y chromium");
  if (run(["install", "-y", "--no-install-recommends", "chromium"])) return true;
  return run(["update"]) && run(["install", "-y", "--no-install-recommends", "chromium"]);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  let chromium = findChromium();
  if (!chromium && installChromium()) chromium = findChromium();
  if (!chromium) {
    const why = "no chromium at /usr/bin/chromium (or $CHROMIUM_PATH) and it could not be installed (apt-get install -y chromium)";
    // CI sets REQUIRE_E2E=1: there a missing browser is a failure, never a silent pass.
    if (process.env.REQUIRE_E2E === "1") {
      log(`FAILED: ${why}; REQUIRE_E2E=1`);
      return 1;
    }
    log(`SKIPPED: ${why}.`);
    return 0;
  }

  const build = spawnSync(process.execPath, [path.join(root, "scripts/build-web.mjs")], { stdio: "inherit", cwd: root });
  if (build.status !== 0) throw new Error("scripts/build-web.mjs failed");

  mkdirSync(results, { recursive: true });
  for (const f of readdirSync(results)) if (/^(failure-\d+\.png|wrangler-e2e\.log)$/.test(f)) rmSync(path.join(results, f));
  const state = mkdtempSync(path.join(tmpdir(), "docchat-e2e-"));
  const envFile = path.join(state, "e2e.env");
  const master = `mk_e2e_${randomBytes(32).toString("base64url")}`;
  // Given with --env-file, so wrangler loads these instead of .dev.vars, and they never appear in `ps`.
  writeFileSync(
    envFile,
    `MASTER_API_KEY=${master}\nJWT_SECRET_KEY=${randomBytes(48).toString("base64url")}\nANSWER_PROVIDER=extractive\n`,
    { mode: 0o600 },
  );

  let child = null;
  const logFile = path.join(state, "wrangler.log");
  const stop = async () => {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    try {
      process.kill(-child.pid, "SIGTERM"); // its own process group: wrangler and its workerd
    } catch {
      return;
    }
    if ((await Promise.race([exited.then(() => true), sleep(5000).then(() => false)])) === false) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
    }
  };
  const onSignal = (sig) => {
    void stop().then(() => process.exit(sig === "SIGINT" ? 130 : 143));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  try {
    log(`state in ${state}`);
    const migrate = spawnSync(wranglerBin, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], {
      cwd: root,
      env,
      encoding: "utf8",
    });
    if (migrate.status !== 0) throw new Error(`D1 migrations failed:\n${migrate.stdout}\n${migrate.stderr}`);

    const port = await freePort();
    const inspector = await freePort();
    const args = [
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspector),
      "--persist-to",
      state,
      "--env-file",
      envFile,
      "--show-interactive-dev-session=false",
    ];
    // Until wrangler.jsonc declares `assets`, serve public/ from the command line.
    if (!/"assets"\s*:/.test(readFileSync(path.join(root, "wrangler.jsonc"), "utf8"))) args.push("--assets", "public");
    log(`starting wrangler dev on 127.0.0.1:${port}`);
    const out = createWriteStream(logFile);
    child = spawn(wranglerBin, args, { cwd: root, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.pipe(out);
    child.stderr.pipe(out);

    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 120_000;
    let health = null;
    while (Date.now() < deadline && child.exitCode === null) {
      try {
        // Provider details are for the master key only.
        const res = await fetch(`${base}/healthz`, { headers: { "X-Master-API-Key": master } });
        if (res.ok) {
          health = await res.json();
          break;
        }
      } catch {
        // not listening yet
      }
      await sleep(500);
    }
    if (!health)
      throw new Error(
        child.exitCode !== null ? `wrangler dev exited with ${child.exitCode}` : "wrangler dev did not answer /healthz within 120 s",
      );
    if (health.status !== "ok") throw new Error(`/healthz is not ok: ${JSON.stringify(health)}`);
    log(`server up: ${JSON.stringify(health.providers)}`);

    const test = spawnSync(process.execPath, [path.join(root, "test/e2e/chat-page.e2e.mjs")], {
      cwd: root,
      stdio: "inherit",
      env: {
        ...process.env,
        E2E_BASE_URL: base,
        E2E_MASTER_KEY: master,
        CHROMIUM_PATH: chromium,
        E2E_RESULTS: results,
        // Once swagger-ui-dist is installed, /docs must serve it: its checks are no longer optional.
        E2E_REQUIRE_SWAGGER: existsSync(path.join(root, "public/vendor/swagger-ui/swagger-ui-bundle.js")) ? "1" : "0",
      },
    });
    if (test.status !== 0) throw new Error(`the browser test failed (exit ${test.status ?? test.signal})`);
    return 0;
  } catch (err) {
    console.error(`e2e: FAILED: ${err.message}`);
    if (existsSync(logFile)) {
      copyFileSync(logFile, path.join(results, "wrangler-e2e.log"));
      const tail = readFileSync(logFile, "utf8").split("\n").slice(-40).join("\n");
      console.error(`--- wrangler dev log (last lines; all in test-results/wrangler-e2e.log) ---\n${tail}`);
    }
    return 1;
  } finally {
    await stop();
    rmSync(state, { recursive: true, force: true });
  }
}

process.exit(await main());
