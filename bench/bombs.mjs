#!/usr/bin/env node
// Memory held while the extraction budgets refuse decompression bombs (issue 17 item 2).
//
//   node bench/bombs.mjs [--mib 400]
//
// Bundles src/ingest/extract/zip.ts and limits.ts with esbuild and runs them under Node (the same
// DecompressionStream API workerd has): a DOCX whose `_rels/.rels` names a part declaring 1 byte
// that inflates to N MiB, the same part declaring just under the part cap, and a PDF Flate stream
// of N MiB (through inflateWithin with the per-stream bound, as pdf.ts `assertStreamBudget` does).
// Prints the peak RSS and heap growth over the baseline, sampled every 5 ms, and the time taken.
// Figures, not assertions: tests never hold timing or memory thresholds.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const mib = Number(process.argv[process.argv.indexOf("--mib") + 1]) || 400;
const MIB = 1024 * 1024;

const dir = mkdtempSync(path.join(tmpdir(), "bombs-"));
const entry = path.join(dir, "entry.ts");
writeFileSync(
  entry,
  `export { rebuildVerified, ZIP_LIMITS } from ${JSON.stringify(path.join(ROOT, "src/ingest/extract/zip.ts"))};
   export { inflateWithin, EXTRACT_LIMITS } from ${JSON.stringify(path.join(ROOT, "src/ingest/extract/limits.ts"))};`,
);
const out = path.join(dir, "bundle.mjs");
execFileSync(path.join(ROOT, "node_modules/.bin/esbuild"), [entry, "--bundle", "--format=esm", "--platform=neutral", `--outfile=${out}`], {
  stdio: "inherit",
});
const { rebuildVerified, ZIP_LIMITS, inflateWithin, EXTRACT_LIMITS } = await import(pathToFileURL(out).href);

async function deflatedRun(size, format) {
  const piece = new Uint8Array(MIB).fill(0x20);
  let left = size;
  const source = new ReadableStream({
    pull(c) {
      if (left <= 0) return c.close();
      const n = Math.min(left, MIB);
      c.enqueue(n === MIB ? piece : piece.subarray(0, n));
      left -= n;
    },
  });
  return new Uint8Array(await new Response(source.pipeThrough(new CompressionStream(format))).arrayBuffer());
}

function zip(entries) {
  const enc = new TextEncoder();
  const parts = [];
  const central = [];
  let offset = 0;
  for (const e of entries) {
    const name = enc.encode(e.name);
    const data = typeof e.data === "string" ? enc.encode(e.data) : e.data;
    const method = e.deflated ? 8 : 0;
    const size = e.declaredSize ?? data.length;
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(8, method, true);
    lv.setUint32(18, data.length, true);
    lv.setUint32(22, size, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const cen = new Uint8Array(46 + name.length);
    const cv = new DataView(cen.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(10, method, true);
    cv.setUint32(20, data.length, true);
    cv.setUint32(24, size, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    cen.set(name, 46);
    parts.push(local, data);
    central.push(cen);
    offset += local.length + data.length;
  }
  const cdLen = central.reduce((n, c) => n + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdLen, true);
  ev.setUint32(16, offset, true);
  const all = [...parts, ...central, end];
  const buf = new Uint8Array(all.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of all) {
    buf.set(p, o);
    o += p.length;
  }
  return buf;
}

const docx = (bomb, declaredSize) =>
  zip([
    { name: "[Content_Types].xml", data: "<Types/>" },
    {
      name: "_rels/.rels",
      data: '<Relationships><Relationship Id="r" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/body.bin"/></Relationships>',
    },
    { name: "word/document.xml", data: "<w:document/>" },
    { name: "word/body.bin", data: bomb, deflated: true, declaredSize },
  ]);

async function measure(label, run) {
  globalThis.gc?.();
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakHeap = base.heapUsed + base.arrayBuffers;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed + m.arrayBuffers);
  }, 5);
  const t0 = performance.now();
  let outcome;
  try {
    await run();
    outcome = "accepted";
  } catch (err) {
    outcome = `${err.code ?? err.name}: ${err.message}`;
  }
  clearInterval(timer);
  const ms = performance.now() - t0;
  const row = {
    bomb: label,
    outcome,
    ms: Math.round(ms),
    peak_rss_growth_mib: +((peakRss - base.rss) / MIB).toFixed(1),
    peak_heap_and_buffers_growth_mib: +((peakHeap - base.heapUsed - base.arrayBuffers) / MIB).toFixed(1),
  };
  console.log(JSON.stringify(row));
  return row;
}

const rawBomb = await deflatedRun(mib * MIB, "deflate-raw");
const zlibBomb = await deflatedRun(mib * MIB, "deflate");
console.log(`bombs: ${mib} MiB of spaces → ${(rawBomb.length / 1024).toFixed(0)} KiB deflated`);
const rows = [];
rows.push(await measure(`DOCX part named by _rels/.rels, declares 1 B, inflates to ${mib} MiB`, () => rebuildVerified(docx(rawBomb, 1))));
rows.push(
  await measure(`DOCX part declares ${ZIP_LIMITS.maxPartUncompressed / MIB} MiB − 1 B, inflates to ${mib} MiB`, () =>
    rebuildVerified(docx(rawBomb, ZIP_LIMITS.maxPartUncompressed - 1)),
  ),
);
rows.push(
  await measure(`PDF Flate stream of ${mib} MiB (per-stream bound ${EXTRACT_LIMITS.maxPdfStreamBytes / MIB} MiB)`, () =>
    inflateWithin(zlibBomb, "deflate", EXTRACT_LIMITS.maxPdfStreamBytes, (n) => {
      throw Object.assign(new Error(`over ${n} bytes`), { code: "document_too_large" });
    }),
  ),
);
writeFileSync(path.join(ROOT, "bench/results/bombs.json"), `${JSON.stringify({ mib, node: process.version, rows }, null, 2)}\n`);
