#!/usr/bin/env node
// `npm run deploy`: one command from an empty Cloudflare account (after `npx wrangler login`) to a
// deployed, smoke-tested Worker; run again, it creates nothing and just deploys.
//
//   npm run deploy [-- --env production] [--no-smoke]
//   npm run setup  [-- --env production]          # provision only (no deploy), e.g. before a first CI deploy
//   npm run deploy -- --plan                      # list what exists and what would be created; change nothing
//
// What is created where (everything derived from wrangler.jsonc's environment, nothing to paste back):
// - KV namespace and R2 bucket: wrangler's automatic resource provisioning at `wrangler deploy` (the
//   bindings carry no id; the deployed Worker keeps them linked on later deploys).
// - D1 database: `wrangler d1 create` here when missing (automatic provisioning would also create it,
//   but only at deploy, and the migrations must be applied before the new code serves).
// - Queues (ingest + its dead-letter queue) and one Vectorize index per embedding model (dimensions from src/retrieval/models.ts;
//   cosine): wrangler commands, which automatic provisioning does not cover.
// - Secrets MASTER_API_KEY and JWT_SECRET_KEY: only those the Worker does not have yet, from the
//   environment variable of that name or freshly generated, uploaded with the deploy itself
//   (`wrangler deploy --secrets-file`, additive), so no version ever runs without them. A generated
//   master key is printed once.
// Then migrations (remote), deploy, and `npm run smoke -- --url <deployed url>`.
//
// Every wrangler invocation goes through one function (`provision({ wrangler })`), which
// scripts/deploy.test.mjs replaces with a recorded fake of the account to check idempotency.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
export const SECRETS = ["MASTER_API_KEY", "JWT_SECRET_KEY"];
export const VECTORIZE_METRIC = "cosine";

/** JSON with comments and trailing commas (wrangler.jsonc), without a dependency. */
export function parseJsonc(text) {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
      out += text.slice(start, i + 1);
    } else if (ch === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (ch === "/" && text[i + 1] === "*") {
      i = text.indexOf("*/", i + 2) + 1;
    } else out += ch;
  }
  return JSON.parse(out.replace(/,(\s*[}\]])/g, "$1"));
}

/**
 * Each Vectorize binding's dimensions, read from where the embedding models are declared
 * (src/retrieval/models.ts: every model names its dimensions and the binding of its index).
 */
export function embeddingDimensions(source = readFileSync(path.join(ROOT, "src/retrieval/models.ts"), "utf8")) {
  const byBinding = {};
  for (const m of source.matchAll(/dimensions:\s*(\d+),\s*binding:\s*"(\w+)"/g)) byBinding[m[2]] = Number(m[1]);
  if (Object.keys(byBinding).length === 0) throw new Error("src/retrieval/models.ts declares no model with dimensions and binding");
  return byBinding;
}

/** What the environment needs, from the wrangler config. */
export function planFor(config, envName, dimensions) {
  const env = envName ? config.env?.[envName] : config;
  if (!env) throw new Error(`wrangler.jsonc has no env.${envName}`);
  const d1 = env.d1_databases ?? [];
  const queueNames = new Set();
  for (const p of env.queues?.producers ?? []) queueNames.add(p.queue);
  for (const c of env.queues?.consumers ?? []) {
    queueNames.add(c.queue);
    if (c.dead_letter_queue) queueNames.add(c.dead_letter_queue);
  }
  return {
    worker: env.name ?? config.name,
    d1: d1.map((d) => ({
      binding: d.binding,
      name: d.database_name,
      hasId: Boolean(d.database_id),
      migrations: Boolean(d.migrations_dir),
    })),
    queues: [...queueNames],
    vectorize: (env.vectorize ?? []).map((v) => {
      // Unknown means refused: an index whose dimensions no model declares would be created wrong.
      if (!(v.binding in dimensions))
        throw new Error(`no embedding model in src/retrieval/models.ts uses the Vectorize binding ${v.binding}`);
      return { name: v.index_name, dimensions: dimensions[v.binding], metric: VECTORIZE_METRIC };
    }),
    autoProvisioned: [
      ...(env.kv_namespaces ?? []).filter((k) => !k.id).map((k) => `KV namespace for ${k.binding}`),
      ...(env.r2_buckets ?? []).map((b) => `R2 bucket ${b.bucket_name}`),
    ],
  };
}

/** First JSON value in wrangler's output (it may print a banner or warnings before it). */
export function jsonIn(text) {
  const i = text.search(/[[{]/);
  if (i === -1) throw new Error(`no JSON in wrangler output: ${text.slice(0, 200)}`);
  return JSON.parse(text.slice(i));
}

/** Queue names from `wrangler queues list` (a table; the command has no --json). */
export function queueNamesIn(text) {
  const rows = text.split("\n").filter((l) => l.includes("│"));
  const cells = (l) =>
    l
      .split("│")
      .map((c) => c.trim())
      .slice(1, -1);
  const header = rows.find((l) => cells(l).includes("name"));
  if (!header) return [];
  const col = cells(header).indexOf("name");
  return rows
    .filter((l) => l !== header)
    .map((l) => cells(l)[col])
    .filter(Boolean);
}

const ok = (r, what) => {
  if (r.status !== 0) throw new Error(`wrangler ${what} failed (exit ${r.status}):\n${(r.stderr || r.stdout || "").trim().slice(-2000)}`);
  return r.stdout;
};

/**
 * Provision (and by default deploy and smoke-test) one environment. `wrangler(args, { input })`
 * returns `{ status, stdout, stderr }`; it is the only way this function touches Cloudflare.
 */
export async function provision({
  wrangler,
  config,
  envName = "production",
  dimensions,
  deploy = true,
  plan: planOnly = false,
  smoke,
  environ = process.env,
  log = console.log,
  generate = () => randomBytes(48).toString("base64url"),
}) {
  const plan = planFor(config, envName, dimensions);
  const envArgs = envName ? ["--env", envName] : [];
  const created = [];
  const create = (what, args) => {
    if (planOnly) return log(`would create ${what}`);
    log(`creating ${what}`);
    ok(wrangler(args), args.slice(0, 2).join(" "));
    created.push(what);
  };

  // D1 (before the migrations, which must run before the new code).
  const databases = jsonIn(ok(wrangler(["d1", "list", "--json"]), "d1 list")).map((d) => d.name);
  for (const db of plan.d1) {
    if (databases.includes(db.name)) log(`D1 database ${db.name}: exists`);
    else create(`D1 database ${db.name}`, ["d1", "create", db.name]);
  }

  const queues = queueNamesIn(ok(wrangler(["queues", "list"]), "queues list"));
  for (const q of plan.queues) {
    if (queues.includes(q)) log(`queue ${q}: exists`);
    else create(`queue ${q}`, ["queues", "create", q]);
  }

  const indexes = jsonIn(ok(wrangler(["vectorize", "list", "--json"]), "vectorize list"));
  for (const v of plan.vectorize) {
    const found = indexes.find((i) => i.name === v.name);
    if (!found) {
      create(`Vectorize index ${v.name} (${v.dimensions} dimensions, ${v.metric})`, [
        "vectorize",
        "create",
        v.name,
        `--dimensions=${v.dimensions}`,
        `--metric=${v.metric}`,
      ]);
      continue;
    }
    const dims = found.config?.dimensions;
    const metric = found.config?.metric;
    if ((dims !== undefined && dims !== v.dimensions) || (metric !== undefined && metric !== v.metric)) {
      throw new Error(
        `Vectorize index ${v.name} exists with ${dims} dimensions/${metric}, but the embedding model needs ${v.dimensions}/${v.metric}; ` +
          "an index's dimensions cannot change: delete it (wrangler vectorize delete) or name another index in wrangler.jsonc",
      );
    }
    log(`Vectorize index ${v.name}: exists (${dims ?? "?"} dimensions, ${metric ?? "?"})`);
  }
  for (const what of plan.autoProvisioned) log(`${what}: created by wrangler deploy if missing (automatic provisioning)`);

  // Secrets the Worker does not have yet (a Worker that does not exist yet has none).
  const listed = wrangler(["secret", "list", "--format", "json", ...envArgs]);
  const existing = listed.status === 0 ? jsonIn(listed.stdout).map((s) => s.name) : [];
  const missing = SECRETS.filter((s) => !existing.includes(s));
  const secrets = {};
  let generatedMaster;
  for (const name of missing) {
    if (environ[name]) secrets[name] = environ[name];
    else {
      secrets[name] = name === "MASTER_API_KEY" ? `mk_${generate()}` : generate();
      if (name === "MASTER_API_KEY") generatedMaster = secrets[name];
    }
    log(`secret ${name}: ${planOnly ? "would be set" : "set with this deploy"} (${environ[name] ? "from the environment" : "generated"})`);
  }
  for (const name of SECRETS.filter((s) => existing.includes(s))) log(`secret ${name}: exists`);
  if (planOnly || !deploy) return { plan, created, secretsSet: planOnly ? [] : [], url: null };

  for (const db of plan.d1.filter((d) => d.migrations)) {
    log(`applying D1 migrations to ${db.name}`);
    ok(wrangler(["d1", "migrations", "apply", db.name, "--remote", ...envArgs]), "d1 migrations apply");
  }

  let dir;
  const deployArgs = ["deploy", ...envArgs];
  try {
    if (missing.length > 0) {
      dir = mkdtempSync(path.join(tmpdir(), "docchat-secrets-"));
      const file = path.join(dir, "secrets.json");
      writeFileSync(file, JSON.stringify(secrets), { mode: 0o600 });
      deployArgs.push("--secrets-file", file);
    }
    log("deploying");
    const out = ok(wrangler(deployArgs), "deploy");
    const url = /https:\/\/[^\s]+\.workers\.dev/.exec(out)?.[0] ?? null;
    if (generatedMaster) {
      log(`\nThe Worker's master API key (generated now, shown once; store it in your password manager):\n\n  ${generatedMaster}\n`);
    }
    const masterKey = generatedMaster ?? environ.MASTER_API_KEY;
    if (smoke && url && masterKey) await smoke(url, masterKey);
    else if (smoke)
      log(
        `smoke test not run (${url ? "no master key: set MASTER_API_KEY" : "no workers.dev URL in wrangler's output"}); run: npm run smoke -- --url <url>`,
      );
    return { plan, created, secretsSet: missing, url };
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

function realWrangler(args, { input } = {}) {
  const r = spawnSync("npx", ["wrangler", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    input,
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: process.env.CI ?? "true" },
  });
  if (r.stderr)
    process.stderr.write(
      r.stderr
        .split("\n")
        .filter((l) => /error|warn/i.test(l))
        .join("\n"),
    );
  return r;
}

async function main() {
  const { values } = parseArgs({
    options: {
      env: { type: "string", default: "production" },
      "no-deploy": { type: "boolean", default: false },
      "no-smoke": { type: "boolean", default: false },
      plan: { type: "boolean", default: false },
    },
  });
  const config = parseJsonc(readFileSync(path.join(ROOT, "wrangler.jsonc"), "utf8"));
  const smoke = values["no-smoke"]
    ? undefined
    : async (url, key) => {
        console.log(`smoke test against ${url}`);
        const r = spawnSync(process.execPath, [path.join(ROOT, "scripts/smoke.mjs"), "--url", url, "--master-key", key], {
          stdio: "inherit",
        });
        if (r.status !== 0) throw new Error(`smoke test failed (exit ${r.status})`);
      };
  const result = await provision({
    wrangler: realWrangler,
    config,
    envName: values.env,
    dimensions: embeddingDimensions(),
    deploy: !values["no-deploy"],
    plan: values.plan,
    smoke,
  });
  console.log(result.created.length ? `created: ${result.created.join(", ")}` : "created nothing (everything existed)");
  if (result.url) console.log(`deployed: ${result.url}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    console.error(`\n${err.message}`);
    process.exit(1);
  });
}
