// `npm run deploy` against a fake Cloudflare account: the wrangler function is replaced by one that
// answers like wrangler 4.164 does (output shapes recorded from its commands) and keeps the account's
// state. A first run creates what is missing; a second run creates nothing, sets no secret and
// still migrates and deploys.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { embeddingDimensions, parseJsonc, planFor, provision, queueNamesIn } from "./deploy.mjs";

const config = parseJsonc(readFileSync(new URL("../wrangler.jsonc", import.meta.url), "utf8"));
const dimensions = embeddingDimensions();

/** A fake account behind a fake `wrangler`; `calls` records every invocation. */
function fakeAccount({ databases = [], queues = [], indexes = [], secrets = null } = {}) {
  const state = { databases: [...databases], queues: [...queues], indexes: [...indexes], secrets, deployed: secrets !== null };
  const calls = [];
  const res = (stdout, status = 0, stderr = "") => ({ status, stdout, stderr });
  const wrangler = (args) => {
    calls.push(args);
    const [a, b, c] = args;
    const key = a === "deploy" ? "deploy" : `${a} ${b ?? ""}`.trim();
    switch (key) {
      case "d1 list":
        return res(
          JSON.stringify(
            state.databases.map((name, i) => ({ uuid: `0000000${i}-d1`, name, created_at: "2026-12-01T00:00:00Z", version: "production" })),
          ),
        );
      case "d1 create":
        state.databases.push(c);
        return res(`✅ Successfully created DB '${c}' in region WEUR\n`);
      case "queues list": {
        const rows = state.queues.map((q, i) => `│ ${i}abc │ ${q} │ 2026-12-01 │ 2026-12-01 │ 1 │ 1 │`);
        return res(
          [
            "┌────┬──────┬────────────┬─────────────┬───────────┬───────────┐",
            "│ id │ name │ created_on │ modified_on │ producers │ consumers │",
            "├────┼──────┼────────────┼─────────────┼───────────┼───────────┤",
            ...rows,
            "└────┴──────┴────────────┴─────────────┴───────────┴───────────┘",
          ].join("\n"),
        );
      }
      case "queues create":
        state.queues.push(c);
        return res(`🌀 Creating queue '${c}'\n✅ Created queue '${c}'\n`);
      case "vectorize list":
        return res(JSON.stringify(state.indexes));
      case "vectorize create": {
        const dims = Number(args.find((x) => x.startsWith("--dimensions=")).split("=")[1]);
        const metric = args.find((x) => x.startsWith("--metric=")).split("=")[1];
        state.indexes.push({ name: c, config: { dimensions: dims, metric }, created_on: "2026-12-01T00:00:00Z" });
        return res(`✅ Successfully created a new Vectorize index: '${c}'\n`);
      }
      case "secret list":
        if (!state.deployed) return res("", 1, "✘ [ERROR] This Worker does not exist on your account. [code: 10007]");
        return res(JSON.stringify(state.secrets.map((name) => ({ name, type: "secret_text" }))));
      case "d1 migrations":
        assert.ok(state.databases.includes(args[3]), "migrations run against an existing database");
        return res("✅ No migrations to apply!\n");
      case "deploy": {
        const file = args[args.indexOf("--secrets-file") + 1];
        if (args.includes("--secrets-file")) {
          const given = JSON.parse(readFileSync(file, "utf8"));
          state.secrets = [...new Set([...(state.secrets ?? []), ...Object.keys(given)])];
        }
        state.deployed = true;
        return res(
          "Total Upload: 6437.77 KiB / gzip: 1981.84 KiB\nUploaded docchat-edge (9.1 sec)\nDeployed docchat-edge triggers (1.2 sec)\n  https://docchat-edge.example.workers.dev\n  schedule: */5 * * * *\nCurrent Version ID: 1234\n",
        );
      }
      default:
        throw new Error(`unexpected wrangler call: ${args.join(" ")}`);
    }
  };
  return { state, calls, wrangler };
}

const creates = (calls) => calls.filter((a) => a[1] === "create").map((a) => `${a[0]} ${a[2]}`);

test("the plan comes from wrangler.jsonc's production environment", () => {
  const plan = planFor(config, "production", dimensions);
  assert.deepEqual(
    plan.d1.map((d) => d.name),
    ["docchat"],
  );
  assert.deepEqual(plan.queues.sort(), ["docchat-ingest", "docchat-ingest-dlq"]);
  assert.deepEqual(plan.vectorize, [
    { name: "docchat-chunks", dimensions: 768, metric: "cosine" },
    { name: "docchat-chunks-m3", dimensions: 1024, metric: "cosine" },
  ]);
  assert.throws(() => planFor(config, "production", { VECTORIZE: 768 }), /VECTORIZE_M3/);
  // KV and R2 are left to wrangler's automatic provisioning: no placeholder id to paste.
  assert.equal(config.env.production.kv_namespaces[0].id, undefined);
  assert.equal(config.env.production.d1_databases[0].database_id, undefined);
  assert.deepEqual(plan.autoProvisioned, ["KV namespace for API_KEYS", "R2 bucket docchat-documents"]);
});

test("first run provisions everything, second run creates nothing", async () => {
  const account = fakeAccount();
  const smoked = [];
  const run = () =>
    provision({
      wrangler: account.wrangler,
      config,
      dimensions,
      environ: {},
      log: () => {},
      smoke: async (url, key) => smoked.push([url, key]),
      generate: () => "x".repeat(64),
    });

  const first = await run();
  assert.deepEqual(creates(account.calls).sort(), [
    "d1 docchat",
    "queues docchat-ingest",
    "queues docchat-ingest-dlq",
    "vectorize docchat-chunks",
    "vectorize docchat-chunks-m3",
  ]);
  assert.deepEqual(account.state.indexes[0].config, { dimensions: 768, metric: "cosine" });
  assert.deepEqual(account.state.indexes[1].config, { dimensions: 1024, metric: "cosine" });
  assert.deepEqual(first.secretsSet, ["MASTER_API_KEY", "JWT_SECRET_KEY"]);
  assert.deepEqual(account.state.secrets.sort(), ["JWT_SECRET_KEY", "MASTER_API_KEY"]);
  assert.equal(first.url, "https://docchat-edge.example.workers.dev");
  // Migrations before the deploy; the smoke test against the deployed URL with the generated key.
  const order = account.calls.map((a) => a.slice(0, 2).join(" "));
  assert.ok(order.indexOf("d1 migrations") < order.indexOf("deploy --env"));
  assert.deepEqual(smoked, [["https://docchat-edge.example.workers.dev", `mk_${"x".repeat(64)}`]]);

  account.calls.length = 0;
  const second = await run();
  assert.deepEqual(creates(account.calls), [], "a second run creates nothing");
  assert.deepEqual(second.created, []);
  assert.deepEqual(second.secretsSet, [], "existing secrets are never replaced");
  const deployCall = account.calls.find((a) => a[0] === "deploy");
  assert.ok(!deployCall.includes("--secrets-file"));
  assert.ok(
    account.calls.some((a) => a[0] === "d1" && a[1] === "migrations"),
    "migrations still applied (idempotent)",
  );
  // Without a generated key and no MASTER_API_KEY in the environment, the smoke test cannot log in.
  assert.equal(smoked.length, 1);
});

test("--plan changes nothing; secrets from the environment are used as given", async () => {
  const account = fakeAccount({ databases: ["docchat"], queues: ["docchat-ingest"] });
  const logs = [];
  await provision({ wrangler: account.wrangler, config, dimensions, plan: true, environ: {}, log: (l) => logs.push(l) });
  assert.deepEqual(creates(account.calls), []);
  assert.ok(logs.includes("would create queue docchat-ingest-dlq"));
  assert.ok(!account.calls.some((a) => a[0] === "deploy"));

  const smoked = [];
  const r = await provision({
    wrangler: account.wrangler,
    config,
    dimensions,
    environ: { MASTER_API_KEY: "mk_from_env_0123456789012345678901234567890" },
    log: () => {},
    smoke: async (_url, key) => smoked.push(key),
  });
  assert.deepEqual(r.created, [
    "queue docchat-ingest-dlq",
    "Vectorize index docchat-chunks (768 dimensions, cosine)",
    "Vectorize index docchat-chunks-m3 (1024 dimensions, cosine)",
  ]);
  assert.deepEqual(smoked, ["mk_from_env_0123456789012345678901234567890"]);
});

test("an existing index with other dimensions stops the run before anything is deployed", async () => {
  const account = fakeAccount({ indexes: [{ name: "docchat-chunks", config: { dimensions: 384, metric: "cosine" } }] });
  await assert.rejects(
    provision({ wrangler: account.wrangler, config, dimensions, environ: {}, log: () => {} }),
    /384 dimensions.*needs 768/,
  );
  assert.ok(!account.calls.some((a) => a[0] === "deploy"));
});

test("a failing wrangler command fails the run with its message", async () => {
  const account = fakeAccount();
  const wrangler = (args) =>
    args[0] === "queues" && args[1] === "create"
      ? { status: 1, stdout: "", stderr: "✘ [ERROR] A request to the Cloudflare API failed. [code: 10000]" }
      : account.wrangler(args);
  await assert.rejects(
    provision({ wrangler, config, dimensions, environ: {}, log: () => {} }),
    /queues create failed \(exit 1\):\n.*code: 10000/,
  );
});

test("queue names are read from wrangler's table", () => {
  const table = "┌──┬──────┐\n│ id │ name │\n├──┼──────┤\n│ 1 │ a-q │\n│ 2 │ b-q │\n└──┴──────┘";
  assert.deepEqual(queueNamesIn(table), ["a-q", "b-q"]);
  assert.deepEqual(queueNamesIn("No queues found."), []);
});
