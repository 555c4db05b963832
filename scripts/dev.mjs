#!/usr/bin/env node
// `npm run dev`: first run writes .dev.vars with strong random secrets (printing the master key
// once), applies the D1 migrations locally, then serves on http://127.0.0.1:8787 without prompts,
// telemetry or the Request.cf look-up. Everything runs offline on the local providers.
// Port: `npm run dev -- --port 9000`, or PORT=9000 (default 8787); address: `--ip`, or IP (default 127.0.0.1).
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";

const env = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_LOG: process.env.WRANGLER_LOG ?? "info",
  CI: "true", // wrangler asks no questions in CI mode
};
const port = process.env.PORT ?? "8787";

const userArgs = process.argv.slice(2);
const gave = (flag) => userArgs.some((a) => a === flag || a.startsWith(`${flag}=`));

// With --env-file the caller brings its own secrets (wrangler then ignores .dev.vars).
if (!existsSync(".dev.vars") && !gave("--env-file")) {
  const master = `mk_${randomBytes(32).toString("base64url")}`;
  const jwt = randomBytes(48).toString("base64url");
  writeFileSync(
    ".dev.vars",
    `# Written by npm run dev on ${new Date().toISOString()}. Local only; never commit (it is git-ignored).\nMASTER_API_KEY=${master}\nJWT_SECRET_KEY=${jwt}\n`,
    { mode: 0o600 },
  );
  console.log("\nCreated .dev.vars with fresh secrets. Your local master API key (shown once):\n");
  console.log(`  ${master}\n`);
  console.log("It stays in .dev.vars (git-ignored) if you need it again.\n");
}

// Migrations go where the server will keep its state (`--persist-to DIR` included).
const persistAt = userArgs.findIndex((a) => a === "--persist-to" || a.startsWith("--persist-to="));
const persist =
  persistAt === -1 ? [] : userArgs[persistAt].includes("=") ? [userArgs[persistAt]] : userArgs.slice(persistAt, persistAt + 2);

const wrangler = (args, opts = {}) => spawnSync("npx", ["wrangler", ...args], { stdio: "inherit", env, ...opts });
const migrate = wrangler(["d1", "migrations", "apply", "DB", "--local", ...persist]);
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

// Defaults only for what the user did not give: wrangler refuses a repeated --port or --ip
// ("The argument --port expects a single value").
const defaults = [
  ...(gave("--ip") ? [] : ["--ip", process.env.IP ?? "127.0.0.1"]),
  ...(gave("--port") ? [] : ["--port", port]),
  ...(gave("--show-interactive-dev-session") ? [] : ["--show-interactive-dev-session=false"]),
];
const child = spawn("npx", ["wrangler", "dev", ...defaults, ...userArgs], { stdio: "inherit", env });
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code) => process.exit(code ?? 0));
