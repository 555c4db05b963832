#!/usr/bin/env node
// Builds the static site served from public/: web/app.ts -> public/app.js (minified), and copies the
// prebuilt Swagger UI from the swagger-ui-dist devDependency into public/vendor/swagger-ui/ for /docs.
// Both outputs are git-ignored. Prints the page's size (the chat page aims at < 40 KB in total).
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const pub = path.join(root, "public");
const PAGE_BUDGET = 40 * 1024;

await build({
  entryPoints: [path.join(root, "web/app.ts")],
  outfile: path.join(pub, "app.js"),
  bundle: true,
  format: "iife",
  target: ["es2022", "chrome111", "firefox113", "safari16.4"],
  minify: true,
  legalComments: "none",
  logLevel: "warning",
});

function vendorSwaggerUi() {
  let dir;
  try {
    dir = path.dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
  } catch {
    console.warn("build-web: swagger-ui-dist is not installed; /docs will link to /openapi.json only.");
    return;
  }
  const out = path.join(pub, "vendor/swagger-ui");
  mkdirSync(out, { recursive: true });
  // Source maps are not shipped: drop their comments so browsers do not ask for them.
  const noMap = (text) => text.replace(/\n?(\/\/# sourceMappingURL=\S+|\/\*# sourceMappingURL=[^*]*\*\/)\s*$/, "\n");
  const bundle = noMap(readFileSync(path.join(dir, "swagger-ui-bundle.js"), "utf8"));
  writeFileSync(path.join(out, "swagger-ui-bundle.js"), bundle);
  const css = noMap(readFileSync(path.join(dir, "swagger-ui.css"), "utf8"));
  writeFileSync(path.join(out, "swagger-ui.css"), css);
  for (const f of ["LICENSE", "NOTICE"]) if (existsSync(path.join(dir, f))) copyFileSync(path.join(dir, f), path.join(out, f));
  const version = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")).version;
  console.log(`build-web: swagger-ui-dist ${version} -> public/vendor/swagger-ui/ (${kb(bundle.length + css.length)})`);
}

function kb(n) {
  return `${(n / 1024).toFixed(1)} KB`;
}

vendorSwaggerUi();

let raw = 0;
let gz = 0;
const parts = [];
for (const f of ["index.html", "app.css", "app.js"]) {
  const buf = readFileSync(path.join(pub, f));
  raw += buf.length;
  gz += gzipSync(buf).length;
  parts.push(`${f} ${kb(buf.length)}`);
}
console.log(`build-web: chat page ${kb(raw)} (${kb(gz)} gzip): ${parts.join(", ")}`);
if (raw > PAGE_BUDGET) console.warn(`build-web: the chat page is over its ${kb(PAGE_BUDGET)} budget`);
