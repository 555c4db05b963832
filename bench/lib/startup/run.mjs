// One cold start of the built Worker bundle in a fresh Node process (V8, like workerd): prints the
// main thread's CPU time for compiling and linking the script, for evaluating its top level
// (everything a cold isolate runs before it can serve a request) and for its first request, as JSON.
//
//   node bench/lib/startup/run.mjs <outdir>/index.js
//
// `wrangler check startup` profiles the same thing inside workerd, but samples every ~9 ms (some
// 70 samples a run): too coarse to tell 40 ms from 60 ms. This is its deterministic companion.
// The bundle is copied with two markers: its first statement records the thread's CPU time (the
// script is compiled and its imports linked by then), its last one records it again.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { registerHooks } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const bundle = path.resolve(process.argv[2]);
const dir = path.dirname(bundle);
const copy = path.join(dir, `startup-probe-${process.pid}.mjs`);
// The main thread's CPU time (Node 23.9+); on Node 22 the whole process's (compiler and GC threads
// included, so a little higher).
const usage = () => (process.threadCpuUsage ? process.threadCpuUsage() : process.cpuUsage());
const cpu = () => {
  const u = usage();
  return (u.user + u.system) / 1000;
};
const stand_in = new URL("./cloudflare-workers.mjs", import.meta.url).href;
registerHooks({
  resolve(spec, ctx, next) {
    return spec === "cloudflare:workers" ? { url: stand_in, shortCircuit: true } : next(spec, ctx);
  },
  load(url, ctx, next) {
    // workerd compiles a Worker's WebAssembly modules when it loads the script: so does this.
    if (!url.endsWith(".wasm")) return next(url, ctx);
    const file = JSON.stringify(fileURLToPath(url));
    return {
      format: "module",
      shortCircuit: true,
      source: `import { readFileSync } from "node:fs"; export default new WebAssembly.Module(readFileSync(${file}));`,
    };
  },
});

const src = readFileSync(bundle, "utf8");
const mark = "(process.threadCpuUsage ? process.threadCpuUsage() : process.cpuUsage())";
writeFileSync(copy, `globalThis.__startupT0 = ${mark};\n${src}\nglobalThis.__startupT1 = ${mark};\n`);
try {
  const before = cpu();
  const mod = await import(pathToFileURL(copy).href);
  const after = cpu();
  const ms = (u) => (u.user + u.system) / 1000;
  const evalMs = ms(globalThis.__startupT1) - ms(globalThis.__startupT0);
  // The first request then builds the app (src/index.ts imports it on first use). With no bindings
  // in this stand-in env it stops with a 500 at the IP rate limiter, after the app is built and the
  // settings parsed: its CPU time is what the first request of a real isolate adds (its own D1 or
  // Durable Object work aside).
  const quiet = console.error;
  console.error = () => {};
  const f0 = cpu();
  const first = await mod.default.fetch(
    new Request("http://startup.invalid/no-such-path"),
    {},
    { waitUntil() {}, passThroughOnException() {} },
  );
  const firstMs = cpu() - f0;
  console.error = quiet;
  console.log(
    JSON.stringify({
      top_level_ms: Number(evalMs.toFixed(2)),
      compile_and_link_ms: Number((after - before - evalMs).toFixed(2)),
      total_ms: Number((after - before).toFixed(2)),
      first_request_ms: Number(firstMs.toFixed(2)),
      first_request_status: first.status,
      exports: Object.keys(mod).sort(),
    }),
  );
} finally {
  rmSync(copy, { force: true });
}
