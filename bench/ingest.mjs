#!/usr/bin/env node
// Ingestion benchmark: SciFact (5,183 abstracts) through the HTTP API into a local `wrangler dev`.
// Measures upload throughput, the time until every document is ready (upload start -> last ready),
// and the peak memory of the server's process tree. Issue target: all ready within 60 s.
//
//   node bench/ingest.mjs [--quick] [--limit N] [--batch 100] [--concurrency 4] [--url URL --key KEY] [--keep] [--wait-quiet S]
import { pathToFileURL } from "node:url";
import { apiClient } from "./lib/api.mjs";
import { rssSampler } from "./lib/proc.mjs";
import { failureSummary, loadScifact, uploadCorpus, waitSettled } from "./lib/scifact.mjs";
import { serverFromArgs } from "./lib/server.mjs";
import { checkQuiet, fmt, loadAvg, machineInfo, parseArgs, printTable, writeResult } from "./lib/util.mjs";

export const READY_TARGET_S = 60;

/**
 * Creates a collection and loads SciFact into it, measuring as it goes.
 * @param {import("./lib/server.mjs").Server} server
 * @param {{limit?: number, batchSize?: number, concurrency?: number, quiet?: boolean, name?: string, stallS?: number}} [opts]
 *   stallS: give up when no document changes state for this long (a lost queue message never arrives)
 */
export async function ingestScifact(server, opts = {}) {
  const api = apiClient(server.url, server.masterKey);
  const { corpus, queries, qrels } = loadScifact({ limit: opts.limit });
  const collection = await api.createCollection(opts.name ?? `scifact-${new Date().toISOString().replace(/[:.]/g, "-")}`);
  const reloadsBefore = server.reloads();
  const loadBefore = loadAvg();
  const sampler = rssSampler(server.pid);
  const t0 = performance.now();
  // How far indexing gets while the uploads are still running (the two share one workerd).
  const duringUpload = [];
  let uploading = true;
  const poller = (async () => {
    while (uploading) {
      const c = await api.counts(collection.id).catch(() => null);
      if (c) duringUpload.push([Math.round((performance.now() - t0) / 100) / 10, c.ready]);
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  const up = await uploadCorpus(api, collection.id, corpus, {
    batchSize: opts.batchSize ?? 100,
    concurrency: opts.concurrency ?? 4,
    quiet: opts.quiet,
  }).finally(() => {
    uploading = false;
  });
  await poller;
  const accepted = up.idToSource.size;
  const wait = await waitSettled(api, collection.id, accepted, {
    startedAt: t0,
    quiet: opts.quiet,
    stallMs: (opts.stallS ?? 120) * 1000,
  });
  const memory = sampler.stop();
  const failures = wait.counts.failed > 0 ? await failureSummary(api, collection.id) : { count: 0, byCode: {} };
  const totalS = wait.ms / 1000;
  const mb = up.bytes / 1e6;
  const measurement = {
    documents: corpus.length,
    accepted,
    rejected: up.rejected.length,
    rejected_examples: up.rejected.slice(0, 5),
    duplicates: up.duplicates,
    ready: wait.counts.ready,
    failed: wait.counts.failed,
    failures: failures.byCode,
    settled: wait.settled,
    stalled: !!wait.stalled,
    lost_messages_requeued: wait.requeued ?? 0,
    text_mb: mb,
    upload: {
      seconds: up.uploadMs / 1000,
      requests: up.requests,
      docs_per_s: corpus.length / (up.uploadMs / 1000),
      mb_per_s: mb / (up.uploadMs / 1000),
    },
    // End to end: from the first upload request to the moment the counts show every document ready/failed.
    end_to_end: { seconds_until_all_ready: totalS, docs_per_s: wait.counts.ready / totalS, mb_per_s: mb / totalS },
    // The target is about the whole corpus: a smoke run on part of it neither meets nor misses it.
    target: {
      all_ready_within_s: READY_TARGET_S,
      met: opts.limit ? null : wait.settled && wait.counts.failed === 0 && totalS <= READY_TARGET_S,
    },
    memory_mb: memory
      ? {
          note: "RSS summed over the wrangler dev process tree (upper bound: shared pages count once per process)",
          before: round(memory.start),
          peak: round(memory.peak),
          after: round(memory.end),
          samples: memory.samples,
        }
      : null,
    ready_when_upload_finished: wait.timeline[0]?.[1] ?? null,
    // [seconds since the first upload, documents ready]: while uploading, then until settled.
    progress_timeline: [...duringUpload, ...wait.timeline],
    retried_requests: api.retried,
    server_reloads: server.reloads() - reloadsBefore,
    server_source_hash: server.sourceHash ?? null,
    load_avg: { before: loadBefore, after: loadAvg() },
    config: { batch_size: opts.batchSize ?? 100, concurrency: opts.concurrency ?? 4, collection },
  };
  return { api, collection, idToSource: up.idToSource, queries, qrels, corpus, measurement };
}

function round(m) {
  return { total: Math.round(m.totalMb), workerd: Math.round(m.workerdMb) };
}

export function printIngest(m) {
  printTable(
    ["ingest (SciFact)", "value"],
    [
      ["documents uploaded / accepted", `${m.documents} / ${m.accepted}`],
      ["ready / failed / rejected", `${m.ready} / ${m.failed} / ${m.rejected}`],
      ["upload phase", `${fmt(m.upload.seconds)} s, ${fmt(m.upload.docs_per_s, 0)} docs/s, ${fmt(m.upload.mb_per_s, 2)} MB/s`],
      ["ready when the upload finished", m.ready_when_upload_finished],
      ["until all ready", `${fmt(m.end_to_end.seconds_until_all_ready)} s${m.settled ? "" : " (timed out)"}`],
      ["end-to-end throughput", `${fmt(m.end_to_end.docs_per_s, 0)} docs/s, ${fmt(m.end_to_end.mb_per_s, 2)} MB/s`],
      [`target: all ready ≤ ${READY_TARGET_S} s`, m.target.met === null ? "n/a (part of the corpus)" : m.target.met ? "met" : "NOT met"],
      [
        "memory RSS MB (tree / workerd)",
        m.memory_mb
          ? `before ${m.memory_mb.before.total}/${m.memory_mb.before.workerd}, peak ${m.memory_mb.peak.total}/${m.memory_mb.peak.workerd}`
          : "n/a (external server)",
      ],
      ["server reloads during run", m.server_reloads],
      ["load average before / after (1 min)", `${m.load_avg.before[0]} / ${m.load_avg.after[0]}`],
    ],
  );
  for (const [code, f] of Object.entries(m.failures)) console.log(`  failed ${f.count}× ${code}, e.g. ${f.example}`);
  for (const r of m.rejected_examples) console.log(`  rejected ${r.name}: ${r.code} ${r.message}`);
  for (const [what, r] of Object.entries(m.retried_requests)) console.log(`  retried ${r.count}× ${what}, last answer: ${r.last}`);
}

async function main() {
  const args = parseArgs(process.argv.slice(2), { boolean: ["quick", "keep"] });
  await checkQuiet("ingest", Number(args.waitQuiet ?? 0));
  const limit = args.limit ? Number(args.limit) : args.quick ? 500 : undefined;
  const server = await serverFromArgs(args, { keepState: !!args.keep });
  let code = 0;
  try {
    console.log(`server ${server.url}${server.timings ? ` (ready in ${fmt(server.timings.spawnToHealthyMs / 1000)} s)` : ""}`);
    const r = await ingestScifact(server, {
      limit,
      batchSize: args.batch ? Number(args.batch) : undefined,
      concurrency: args.concurrency ? Number(args.concurrency) : undefined,
      stallS: args.stall ? Number(args.stall) : undefined,
    });
    printIngest(r.measurement);
    const file = await writeResult(args.quick || limit ? "ingest-scifact.quick.json" : "ingest-scifact.json", {
      benchmark: "ingest-scifact",
      machine: machineInfo(),
      quick: !!(args.quick || limit),
      ...r.measurement,
    });
    console.log(`\nwrote ${file}`);
    if (!r.measurement.settled) code = 1;
    if (args.keep) {
      server.detach();
      console.log(`--keep: server left running at ${server.url}, collection ${r.collection.id}`);
    }
  } finally {
    if (!args.keep) await server.stop();
  }
  return code;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(`bench/ingest: ${err.stack ?? err}`);
      process.exit(1);
    },
  );
}
