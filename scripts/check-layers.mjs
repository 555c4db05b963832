#!/usr/bin/env node
// Fails when a module in src/ imports upward or sideways (run by `npm test`).
//
// The layers, highest first. A module may import from its own folder or from a strictly lower
// layer; layers that share a rank are peers and may not import each other (chat and ingest, say).
// Routes are one file per resource and never import a sibling route (only routes/index.ts mounts
// them). Type-only imports count too: a type is a dependency of the design as much as a value.
//
//   entry (index.ts, app.ts)
//   routes                            HTTP surfaces (routes/shared: helpers several routes use)
//   mcp                               the MCP server's tools (mounted by routes/mcp.ts)
//   chat | ingest                     use cases
//   events                            ingestion events: webhook emission, signing and delivery
//   retrieval                         chunking, embedding, indexes, search
//   auth                              keys, JWTs, principals, limits (reads the key catalogue)
//   storage                           the D1 catalogue and R2 layout
//   cloudflare                        what the Cloudflare providers need from their bindings
//   config                            settings parsed from env
//   http                              error envelope, context types, shared middleware pieces
//   text                              tokenizer, stemmer, stopwords
//   util                              ids, hashing, small pure helpers
//   types                             ambient declarations
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SRC = path.join(ROOT, "src");

const RANK = {
  entry: 100,
  routes: 60,
  mcp: 55,
  chat: 50,
  ingest: 50,
  events: 45,
  retrieval: 40,
  auth: 35,
  storage: 30,
  config: 22,
  http: 21,
  cloudflare: 23,
  text: 15,
  util: 10,
  types: 0,
};

/** The layer of a file under src/: its top-level folder, or entry/config for top-level files. */
function layerOf(rel) {
  const [first, ...rest] = rel.split("/");
  if (rest.length === 0) {
    const base = first.replace(/\.(ts|mts|js|mjs)$/, "");
    return base in RANK ? base : "entry";
  }
  return first;
}

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) yield* walk(full);
    else if (/\.(ts|mts)$/.test(name) && !name.endsWith(".d.ts")) yield full;
  }
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

const problems = [];
let files = 0;
for (const file of walk(SRC)) {
  files++;
  const rel = path.relative(SRC, file).split(path.sep).join("/");
  const from = layerOf(rel);
  if (!(from in RANK)) problems.push(`${rel}: folder "${from}" has no layer in scripts/check-layers.mjs`);
  const text = readFileSync(file, "utf8");
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2];
    if (!spec.startsWith(".")) continue;
    const target = path
      .relative(SRC, path.resolve(path.dirname(file), spec))
      .split(path.sep)
      .join("/");
    if (target.startsWith("..")) continue;
    const to = layerOf(target);
    if (to === from) {
      // Routes never import a sibling route; routes/index.ts is the one place that mounts them.
      if (from === "routes" && rel !== "routes/index.ts" && !target.startsWith("routes/shared")) {
        problems.push(`${rel} imports sibling route ${target}`);
      }
      continue;
    }
    if (!(to in RANK)) {
      problems.push(`${rel} imports ${target}: folder "${to}" has no layer`);
      continue;
    }
    if (RANK[to] > RANK[from]) problems.push(`${rel} (${from}) imports upward: ${target} (${to})`);
    else if (RANK[to] === RANK[from]) problems.push(`${rel} (${from}) imports sideways: ${target} (${to})`);
  }
}

if (problems.length) {
  console.error(`check-layers: ${problems.length} import(s) break the layering (see the header of scripts/check-layers.mjs):`);
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
console.log(`check-layers: ${files} modules, every import points down`);
