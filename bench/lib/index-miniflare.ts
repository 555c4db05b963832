// One Miniflare (v5) running a bundle whose entry exports the CollectionIndex Durable Object, for the
// in-workerd benchmarks (vector-scan.workerd.ts, keyword-index.workerd.ts). The compatibility date is
// wrangler.jsonc's, so the benchmarks run what the Worker runs.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";

const COMPATIBILITY_DATE = /"compatibility_date"\s*:\s*"([\d-]+)"/.exec(readFileSync("wrangler.jsonc", "utf8"))?.[1] ?? "";

/** Bundles `entry` into `outDir` as wrangler does for workerd (wasm files copied beside it). */
export async function bundleForWorkerd(entry: string, outDir: string): Promise<void> {
  await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "neutral",
    // As wrangler resolves for workerd: packages that only name a `module`/`main` entry resolve too.
    mainFields: ["module", "main"],
    conditions: ["workerd", "worker", "browser"],
    outdir: outDir,
    external: ["cloudflare:*"],
    loader: { ".wasm": "copy" },
    assetNames: "[name]",
    logLevel: "warning",
  });
}

/** `outDir` holds the esbuild output (`entry.js` and its wasm files); `persist` the object's storage. */
export function indexMiniflare(outDir: string, persist: string): Miniflare {
  return new Miniflare({
    ...convertV4MiniflareOptions({
      // An explicit module list (v5 cannot convert `modulesRules`): the bundle and its wasm files.
      modules: [
        { type: "ESModule", path: join(outDir, "entry.js") },
        ...readdirSync(outDir)
          .filter((f) => f.endsWith(".wasm"))
          .map((f) => ({ type: "CompiledWasm" as const, path: join(outDir, f) })),
      ],
      modulesRoot: outDir,
      compatibilityDate: COMPATIBILITY_DATE,
      durableObjects: { COLLECTION_INDEX: { className: "CollectionIndex", useSQLite: true } },
    }),
    // v5 replaced `durableObjectsPersist` with one persistence root (the conversion drops the former).
    resourcePersistencePath: persist,
  });
}
