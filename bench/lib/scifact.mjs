// BEIR SciFact (test split) from ../shared/eval/scifact, and loading it through the HTTP API.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parseQrels } from "./scorer.mjs";
import { ROOT } from "./server.mjs";
import { mapPool, progressPrinter, sleep } from "./util.mjs";

export const SCIFACT_DIR = process.env.SCIFACT_DIR ?? path.resolve(ROOT, "../shared/eval/scifact");

function readJsonl(file) {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
}

/**
 * @param {{limit?: number}} [opts] limit: first N documents only (smoke runs). The judged documents
 *   of the queries are not guaranteed to be inside a limited corpus, so quality figures then mean nothing.
 */
export function loadScifact(opts = {}) {
  if (!existsSync(path.join(SCIFACT_DIR, "corpus.jsonl"))) {
    throw new Error(`SciFact not found in ${SCIFACT_DIR} (set SCIFACT_DIR to the folder with corpus.jsonl, queries.jsonl, qrels.tsv)`);
  }
  let corpus = readJsonl(path.join(SCIFACT_DIR, "corpus.jsonl")).map((d) => ({
    id: String(d.id),
    // BEIR's whole-document text: title and body as one field.
    text: d.title ? `${d.title}\n\n${d.text}` : d.text,
  }));
  if (opts.limit) corpus = corpus.slice(0, opts.limit);
  const queries = readJsonl(path.join(SCIFACT_DIR, "queries.jsonl")).map((q) => ({ id: String(q.id), text: q.text }));
  const qrels = parseQrels(readFileSync(path.join(SCIFACT_DIR, "qrels.tsv"), "utf8"));
  return { corpus, queries, qrels };
}

/**
 * Uploads documents as JSON text batches with bounded concurrency.
 * name = corpus id, metadata = {source_id}; the server may add `.txt` to a name without an
 * extension, so hits are mapped back through the document id (and `source_id`), never the name alone.
 * @returns {Promise<{idToSource: Map<string,string>, rejected: Array<{name:string, code:string, message:string}>,
 *   duplicates: number, requests: number, bytes: number, uploadMs: number}>}
 */
export async function uploadCorpus(api, collectionId, corpus, { batchSize = 100, concurrency = 4, quiet = false } = {}) {
  const batches = [];
  for (let i = 0; i < corpus.length; i += batchSize) batches.push(corpus.slice(i, i + batchSize));
  const idToSource = new Map();
  const rejected = [];
  let duplicates = 0;
  let done = 0;
  let bytes = 0;
  const progress = progressPrinter();
  const t0 = performance.now();
  await mapPool(batches, concurrency, async (batch) => {
    const documents = batch.map((d) => ({ name: d.id, text: d.text, metadata: { source_id: d.id } }));
    for (const d of batch) bytes += Buffer.byteLength(d.text);
    const res = await api.uploadTexts(collectionId, documents);
    for (const doc of res.documents ?? []) {
      if (doc.duplicate) duplicates++;
      idToSource.set(doc.id, String(doc.metadata?.source_id ?? stripExt(doc.name)));
    }
    for (const e of res.errors ?? []) rejected.push({ name: e.name, code: e.error?.code, message: e.error?.message });
    done += batch.length;
    if (!quiet) progress.update(`  uploaded ${done}/${corpus.length} documents`);
  });
  const uploadMs = performance.now() - t0;
  if (!quiet) progress.done(`  uploaded ${corpus.length} documents in ${(uploadMs / 1000).toFixed(1)} s (${batches.length} requests)`);
  return { idToSource, rejected, duplicates, requests: batches.length, bytes, uploadMs };
}

export function stripExt(name) {
  return String(name).replace(/\.txt$/, "");
}

/**
 * Polls the collection's counts until nothing is queued or processing, the timeout passes, or
 * nothing has moved for `stallMs`.
 * @returns {Promise<{counts: object, settled: boolean, stalled?: boolean, ms: number, timeline: Array<[number, number]>}>} timeline: [s, ready]
 */
export async function waitSettled(
  api,
  collectionId,
  expected,
  { timeoutMs = 30 * 60_000, stallMs = 120_000, intervalMs = 250, quiet = false, startedAt } = {},
) {
  const t0 = startedAt ?? performance.now();
  const progress = progressPrinter();
  const timeline = [];
  let counts;
  let lastKey = "";
  let lastChange = performance.now();
  for (;;) {
    counts = await api.counts(collectionId);
    const key = `${counts.queued}/${counts.processing}/${counts.ready}/${counts.failed}`;
    if (key !== lastKey) {
      lastKey = key;
      lastChange = performance.now();
    }
    const s = (performance.now() - t0) / 1000;
    timeline.push([Math.round(s * 10) / 10, counts.ready]);
    const pending = counts.queued + counts.processing;
    if (!quiet) {
      progress.update(
        `  ${s.toFixed(1)} s: ready ${counts.ready}/${expected}, failed ${counts.failed}, processing ${counts.processing}, queued ${counts.queued}`,
      );
    }
    if (pending === 0 && counts.ready + counts.failed >= expected) break;
    // A lost queue message leaves its document `queued` for ever: give up when nothing moves.
    const stalled = performance.now() - lastChange > stallMs;
    if (stalled || performance.now() - t0 > timeoutMs) {
      if (!quiet) progress.done();
      const why = stalled ? `no document changed state for ${stallMs / 1000} s` : `timed out after ${timeoutMs / 1000} s`;
      console.log(`  NOT settled: ${why} (ready ${counts.ready}, failed ${counts.failed}, processing ${counts.processing}, queued ${counts.queued})`);
      return { counts, settled: false, stalled, ms: performance.now() - t0, timeline: thin(timeline) };
    }
    await sleep(intervalMs);
  }
  const ms = performance.now() - t0;
  if (!quiet) progress.done(`  all settled after ${(ms / 1000).toFixed(1)} s: ready ${counts.ready}, failed ${counts.failed}`);
  return { counts, settled: true, ms, timeline: thin(timeline) };
}

/** Keeps about 100 points of a progress timeline. */
function thin(points) {
  if (points.length <= 100) return points;
  const step = points.length / 100;
  const out = [];
  for (let i = 0; i < 100; i++) out.push(points[Math.floor(i * step)]);
  out.push(points[points.length - 1]);
  return out;
}

/** Failed documents with their error codes, grouped: {code: {count, example}}. */
export async function failureSummary(api, collectionId) {
  const failed = await api.listDocuments(collectionId, "failed");
  const byCode = {};
  for (const d of failed) {
    const code = d.error?.code ?? "unknown";
    byCode[code] ??= { count: 0, example: `${d.name}: ${d.error?.message ?? ""}` };
    byCode[code].count++;
  }
  return { count: failed.length, byCode };
}
