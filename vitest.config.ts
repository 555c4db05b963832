import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { experimental_readRawConfig } from "wrangler";

const SHARED_ROOT = path.resolve(__dirname, "../shared");

/**
 * Read-only view of ../shared for the real-corpus suites (workerd has no filesystem). Files are read
 * in place, never copied into the repo; 503 when ../shared does not exist so those suites skip.
 */
async function sharedFiles(request: Request): Promise<Response> {
  const rel = decodeURIComponent(new URL(request.url).pathname).replace(/^\/+/, "");
  const full = path.resolve(SHARED_ROOT, rel);
  if (!full.startsWith(SHARED_ROOT + path.sep)) return new Response("forbidden", { status: 403 });
  try {
    return new Response(await readFile(full));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    try {
      await readFile(path.join(SHARED_ROOT, "fixtures/documents/ground_truth.json"));
    } catch {
      return new Response("../shared not found", { status: 503 });
    }
    return new Response(code ?? "error", { status: 404 });
  }
}

// The doubles run on the app's compatibility date (declared once, in wrangler.jsonc).
const COMPATIBILITY_DATE = (() => {
  const date = /"compatibility_date"\s*:\s*"([\d-]+)"/.exec(readFileSync(path.join(__dirname, "wrangler.jsonc"), "utf8"))?.[1];
  if (!date) throw new Error("wrangler.jsonc has no compatibility_date");
  return date;
})();

// wrangler.jsonc's `alias` table (zod -> src/util/zod), so the tests run the modules the Worker
// bundle has. Vite matches an alias against the whole path or a prefix ending in "/" and takes the
// first that matches, so the longest keys come first (esbuild's rule: the most specific wins).
const WRANGLER_ALIASES = (() => {
  const { rawConfig } = experimental_readRawConfig({ config: path.join(__dirname, "wrangler.jsonc") });
  return Object.entries(rawConfig.alias ?? {})
    .sort(([a], [b]) => b.length - a.length)
    .map(([find, target]) => ({ find, replacement: path.resolve(__dirname, String(target)) }));
})();

// Secrets for the test pool only: random per run, never committed, never defaults in the code.
const testSecret = () => `test-${crypto.randomUUID()}-${crypto.randomUUID()}`;

export default defineConfig(async () => {
  // CI sets REQUIRE_CORPUS=1: a missing ../shared must fail the run, not skip the real-corpus suites.
  const requireCorpus = process.env.REQUIRE_CORPUS === "1";
  if (requireCorpus) {
    try {
      await readFile(path.join(SHARED_ROOT, "fixtures/documents/ground_truth.json"));
    } catch {
      throw new Error(`REQUIRE_CORPUS=1 but the real corpus is missing at ${SHARED_ROOT}/fixtures/documents`);
    }
  }
  const migrations = await readD1Migrations(path.join(__dirname, "migrations"));
  return {
    resolve: { alias: WRANGLER_ALIASES },
    plugins: [
      cloudflareTest({
        main: "./src/index.ts",
        wrangler: { configPath: "./wrangler.jsonc" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            MASTER_API_KEY: testSecret(),
            JWT_SECRET_KEY: testSecret(),
            // Lets the real-corpus suite find ../shared (read in place, never copied).
            SHARED_DIR: path.resolve(__dirname, "../shared"),
            REQUIRE_CORPUS: requireCorpus ? "1" : "",
            // The suites make many requests from one (absent) address with one key: generous limits
            // here; the abuse tests pass tight ones per request and use their own keys and addresses.
            RATE_LIMIT_IP_PER_MINUTE: "0",
            RATE_LIMIT_KEY_PER_MINUTE: "1000000",
            RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: "100000",
          },
          // A tight copy of the IP limiter for the abuse tests (the real one's limit is in wrangler.jsonc).
          ratelimits: {
            // miniflare 5 requires a namespace_id per limiter (counters are kept per namespace).
            IP_RATE_LIMITER: { namespace_id: "1001", simple: { limit: 600, period: 60 } },
            TEST_IP_RATE_LIMITER: { namespace_id: "9001", simple: { limit: 3, period: 60 } },
          },
          // Doubles of the services that have no local simulator, bound under test-only names so the
          // app picks its local providers by default; tests that exercise the Cloudflare providers
          // pass these in as AI / VECTORIZE explicitly.
          serviceBindings: {
            SHARED_FILES: sharedFiles,
            TEST_AI: { name: "cloudflare-doubles", entrypoint: "AiDouble" },
            TEST_VECTORIZE: { name: "cloudflare-doubles", entrypoint: "VectorizeDouble" },
            TEST_VECTORIZE_M3: { name: "cloudflare-doubles", entrypoint: "VectorizeM3Double" },
          },
          workers: [
            {
              name: "cloudflare-doubles",
              modules: true,
              scriptPath: path.join(__dirname, "test/doubles/cloudflare-doubles.mjs"),
              compatibilityDate: COMPATIBILITY_DATE,
            },
          ],
        },
      }),
    ],
    test: {
      include: ["test/**/*.test.ts"],
      setupFiles: ["./test/setup.ts"],
      testTimeout: 60_000,
      hookTimeout: 60_000,
    },
  };
});
