/**
 * Stand-alone config for running only the extraction suites while the project's own harness is
 * unavailable (vitest.config.ts points at src/index.ts, which may not exist yet):
 *
 *   npx vitest run --config test/extract/vitest.extract.config.ts
 *
 * It deliberately leaves out wrangler.jsonc (whose Durable Object classes need the app entry) and
 * gives the extractor tests only what they use: SHARED_DIR and SHARED_FILES. The SHARED_FILES
 * function below is the reference for the binding the lead wires into vitest.config.ts.
 */
import path from "node:path";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { sharedFilesBinding } from "./shared-files-binding";

const sharedDir = path.resolve(import.meta.dirname, "../../../shared");

export default defineConfig({
  plugins: [
    cloudflareTest({
      miniflare: {
        compatibilityDate: "2026-04-20",
        compatibilityFlags: ["nodejs_compat"],
        bindings: { SHARED_DIR: sharedDir },
        serviceBindings: { SHARED_FILES: sharedFilesBinding(sharedDir) },
      },
    }),
  ],
  test: {
    root: path.resolve(import.meta.dirname, "../.."),
    include: ["test/extract/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
