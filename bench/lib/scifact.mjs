// BEIR collections (SciFact from ../shared/eval/scifact by default, or any BEIR folder), a fixed
// split of the queries into two halves, and loading a corpus through the HTTP API.
import { createHash } from "node:crypto";
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
  return loadBeir(SCIFACT_DIR, opts);
}

/**
 * A BEIR-format folder: corpus.jsonl ({_id|id, title, text}), queries.jsonl ({_id|id, text}) and
 * qrels.tsv (or qrels/test.tsv). Only queries that have judgments are kept.
 * @param {string} dir
 * @param {{limit?: number}} [opts]
 */
export function loadBeir(dir, opts = {}) {
  const qrelsFile = [path.join(dir, "qrels.tsv"), path.join(dir, "qrels", "test.tsv")].find((f) => existsSync(f));
  if (!existsSync(path.join(dir, "corpus.jsonl")) || !existsSync(path.join(dir, "queries.jsonl")) || !qrelsFile) {
    throw new Error(`no BEIR collection in ${dir} (expected corpus.jsonl, queries.jsonl and qrels.tsv or qrels/test.tsv)`);
  }
  let corpus = readJsonl(path.join(dir, "corpus.jsonl")).map((d) => ({
    id: String(d._id ?? d.id),
    // BEIR's whole-document text: title and body as one field.
    text: d.title ? `${d.title}\n\n${d.text}` : d.text,
  }));
  corpus = corpus.filter((d) => typeof d.text === "string" && d.text.trim().length > 0);
  if (opts.limit) corpus = corpus.slice(0, opts.limit);
  const qrels = parseQrels(readFileSync(qrelsFile, "utf8"));
  const queries = readJsonl(path.join(dir, "queries.jsonl"))
    .map((q) => ({ id: String(q._id ?? q.id), text: q.text }))
    .filter((q) => qrels[q.id]);
  return { corpus, queries, qrels, name: path.basename(path.resolve(dir)) };
}

/**
 * Which half a query falls in: "A" (the half hybrid defaults may be tuned on) or "B" (reported only).
 * Fixed by the query id alone (first byte of its SHA-256), so every run and every machine agrees.
 */
export function half(queryId) {
  return createHash("sha256").update(String(queryId)).digest()[0] % 2 === 0 ? "A" : "B";
}

/**
 * A small sample for smoke runs: the first `queries` judged queries, their judged documents, and
 * enough other documents (the corpus' first ones) to reach `documents` in all.
 */
export function sample(data, { queries = 20, documents = 300 } = {}) {
  const qs = data.queries.slice(0, queries);
  const judged = new Set(qs.flatMap((q) => Object.keys(data.qrels[q.id] ?? {})));
  const corpus = data.corpus.filter((d) => judged.has(d.id));
  for (const d of data.corpus) {
    if (corpus.length >= Math.max(documents, judged.size)) break;
    if (!judged.has(d.id)) corpus.push(d);
  }
  const qrels = Object.fromEntries(qs.map((q) => [q.id, data.qrels[q.id]]));
  return { ...data, corpus, queries: qs, qrels };
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
  { timeoutMs = 30 * 60_000, stallMs = 120_000, recoverMs = 20_000, intervalMs = 250, quiet = false, startedAt } = {},
) {
  let recovered = false;
  let requeued = 0;
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
    // A lost queue message leaves its document `queued` for ever (the local queue broker drops
    // messages when a send fails under load; wrangler dev runs no cron, so the sweeper never comes).
    // Do the sweeper's job once, loudly: re-index what has not moved for `recoverMs`.
    if (pending > 0 && !recovered && performance.now() - lastChange > recoverMs) {
      recovered = true;
      const stuck = [...(await api.listDocuments(collectionId, "queued")), ...(await api.listDocuments(collectionId, "processing"))];
      if (!quiet) progress.done();
      console.log(`  WARNING: ${stuck.length} documents have not moved for ${recoverMs / 1000} s (lost queue messages); re-indexing them`);
      await mapPool(stuck, 8, (d) => api.request("POST", `/v1/collections/${collectionId}/documents/${d.id}/reindex`));
      requeued = stuck.length;
      lastChange = performance.now();
    }
    const stalled = performance.now() - lastChange > stallMs;
    if (stalled || performance.now() - t0 > timeoutMs) {
      if (!quiet) progress.done();
      const why = stalled ? `no document changed state for ${stallMs / 1000} s` : `timed out after ${timeoutMs / 1000} s`;
      console.log(
        `  NOT settled: ${why} (ready ${counts.ready}, failed ${counts.failed}, processing ${counts.processing}, queued ${counts.queued})`,
      );
      return { counts, settled: false, stalled, requeued, ms: performance.now() - t0, timeline: thin(timeline) };
    }
    await sleep(intervalMs);
  }
  const ms = performance.now() - t0;
  if (!quiet) progress.done(`  all settled after ${(ms / 1000).toFixed(1)} s: ready ${counts.ready}, failed ${counts.failed}`);
  return { counts, settled: true, requeued, ms, timeline: thin(timeline) };
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
