#!/usr/bin/env node
// Retrieval quality on BEIR SciFact (test split) or any BEIR folder, and answer quality on the
// developers' QA set, through the HTTP API of a local `wrangler dev`.
//
//   npm run eval [-- --sweep] [--split] [--url URL --key KEY [--collection ID]] [--keep] [--concurrency 4] [--wait-quiet S]
//   npm run eval -- --quick              smoke run: a 20-query, 300-document SciFact sample (< 1 min)
//   npm run eval -- --dataset DIR        any BEIR folder (corpus.jsonl, queries.jsonl, qrels.tsv), graded gains
//   npm run eval -- --answers [--quick]  the QA set of test/qa/qa-set.json (bench/lib/qa.mjs)
//
// Ingests the documents (title + "\n\n" + text, name = doc id, metadata {source_id}), waits
// until every document is ready, runs the queries with top_k 100 in each mode, collapses chunk
// hits to documents (best chunk) and scores nDCG@10, Recall@10, Recall@100 and MRR@10 against the
// qrels with trec_eval's conventions (bench/lib/scorer.mjs). SciFact's queries are also reported in
// two fixed halves (A: where defaults may be tuned, B: reported only; bench/lib/scifact.mjs half()).
// Exits non-zero only when something fails to run, never because a figure is low.
import { apiClient } from "./lib/api.mjs";
import { evaluate, rankDocuments } from "./lib/scorer.mjs";
import { runAnswers } from "./lib/qa.mjs";
import { half, loadBeir, loadScifact, sample, stripExt, uploadCorpus, waitSettled } from "./lib/scifact.mjs";
import { serverFromArgs } from "./lib/server.mjs";
import {
  checkQuiet,
  fmt,
  latencySummary,
  machineInfo,
  mapPool,
  parseArgs,
  printTable,
  progressPrinter,
  serverTimingCollector,
  writeResult,
} from "./lib/util.mjs";
import { ingestScifact, printIngest } from "./ingest.mjs";

const MODES = ["keyword", "vector", "hybrid"];
const TOP_K = 100;
const BASELINES = [
  { name: "BM25, BEIR paper (Thakur et al. 2021)", ndcg10: 0.665, recall100: null },
  { name: "BM25, Anserini flat", ndcg10: 0.679, recall100: 0.925 },
];
const TARGETS = { keyword: 0.68, hybrid: 0.69 };
// RRF over the asked grid; convex fusion (the server's default) over small weights as well, where
// a weak local embedder does best.
const SWEEP = { vector_weight: [0.1, 0.2, 0.3, 0.4, 0.5], rrf_k: [10, 60], convex_weight: [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5] };

/**
 * Runs every query once with the given search options and scores the run.
 * @param {ReturnType<typeof apiClient>} api
 * @param {(documentId: string, documentName: string) => string|null} toSource
 */
async function runQueries(api, collectionId, queries, qrels, toSource, body, { concurrency, label }) {
  const run = {};
  const latencies = [];
  const docsPerQuery = [];
  let unmapped = 0;
  let chunkHits = 0;
  const errors = [];
  let done = 0;
  const progress = progressPrinter();
  const timing = serverTimingCollector();
  await mapPool(queries, concurrency, async (q) => {
    try {
      const res = await api.search(collectionId, { query: q.text, top_k: TOP_K, ...body });
      latencies.push(res.ms);
      timing.add(res.headers.get("server-timing"));
      const hits = [];
      for (const h of res.body.results ?? []) {
        chunkHits++;
        const doc = toSource(h.document_id, h.document_name);
        if (doc === null) {
          unmapped++;
          continue;
        }
        hits.push({ doc, score: h.score });
      }
      run[q.id] = rankDocuments(hits);
      docsPerQuery.push(run[q.id].length);
    } catch (err) {
      errors.push({ query: q.id, error: err.message });
    }
    done++;
    progress.update(`  ${label}: ${done}/${queries.length} queries`);
  });
  progress.done();
  const m = evaluate(run, qrels);
  return {
    metrics: {
      ndcg10: m.ndcg10,
      recall10: m.recall10,
      recall100: m.recall100,
      mrr10: m.mrr10,
      queries: m.queries,
      queries_without_results: m.missing,
    },
    perQuery: m.perQuery,
    latency_ms: latencySummary(latencies),
    server_timing_ms: timing.summary(),
    mean_docs_per_query: docsPerQuery.length ? docsPerQuery.reduce((a, b) => a + b, 0) / docsPerQuery.length : 0,
    chunk_hits: chunkHits,
    unmapped_hits: unmapped,
    errors,
  };
}

function timingText(t) {
  return t
    ? Object.entries(t)
        .map(([k, v]) => `${k} ${fmt(v.mean)}`)
        .join(", ")
    : "–";
}

/** Maps a hit to its SciFact doc id: through the ids the upload returned, else the name. */
function sourceMapper(idToSource) {
  return (documentId, documentName) => idToSource.get(documentId) ?? (documentName ? stripExt(documentName) : null);
}

/** Metrics of a run restricted to one half of the queries (qrels filtered by half()). */
function halfMetrics(perQuery, which) {
  const ids = Object.keys(perQuery).filter((q) => half(q) === which);
  const mean = (k) => (ids.length ? ids.reduce((s, q) => s + perQuery[q][k], 0) / ids.length : 0);
  return { queries: ids.length, ndcg10: mean("ndcg10"), recall10: mean("recall10"), recall100: mean("recall100"), mrr10: mean("mrr10") };
}

/** Loads a corpus through the API into a new collection (quick runs and other BEIR folders). */
async function ingestCorpus(api, data, label) {
  const collection = await api.createCollection(`${label}-${new Date().toISOString().replace(/[:.]/g, "-")}`);
  const t0 = performance.now();
  const up = await uploadCorpus(api, collection.id, data.corpus);
  const wait = await waitSettled(api, collection.id, up.idToSource.size, { startedAt: t0, stallMs: 120_000 });
  return {
    collection,
    idToSource: up.idToSource,
    measurement: {
      documents: data.corpus.length,
      accepted: up.idToSource.size,
      rejected: up.rejected.length,
      ready: wait.counts.ready,
      failed: wait.counts.failed,
      settled: wait.settled,
      lost_messages_requeued: wait.requeued,
      seconds_until_all_ready: wait.ms / 1000,
    },
  };
}

async function main() {
  const args = parseArgs(process.argv.slice(2), { boolean: ["sweep", "keep", "log", "quick", "split", "answers"] });
  const concurrency = Number(args.concurrency ?? 4);
  await checkQuiet("eval", Number(args.waitQuiet ?? 0));
  if (args.answers) return runAnswers(args);
  const scifact = !args.dataset;
  let data = scifact ? loadScifact() : loadBeir(String(args.dataset));
  const datasetName = scifact ? "scifact" : data.name;
  if (args.quick) data = sample(data);
  const resultFile = args.quick ? "eval-quick.json" : scifact ? "eval-scifact.json" : `eval-${datasetName}.json`;
  const split = scifact || args.split;
  const server = await serverFromArgs(args, { keepState: !!args.keep });
  let failedToRun = false;
  try {
    console.log(`server ${server.url}${server.timings ? ` (ready in ${fmt(server.timings.spawnToHealthyMs / 1000)} s)` : ""}`);
    const api = apiClient(server.url, server.masterKey);
    let collection;
    let idToSource;
    let ingest = null;
    const { queries, qrels } = data;
    if (args.collection) {
      // Reuse a collection loaded before (e.g. with --keep): map ids through its document listing.
      collection = await api.getCollection(args.collection);
      const docs = await api.listDocuments(collection.id);
      idToSource = new Map(docs.map((d) => [d.id, String(d.metadata?.source_id ?? stripExt(d.name))]));
      const counts = await api.counts(collection.id);
      console.log(`collection ${collection.id}: ${docs.length} documents (ready ${counts.ready}, failed ${counts.failed})`);
      ingest = { reused: true, documents: docs.length, ...counts };
    } else if (scifact && !args.quick) {
      console.log("ingesting SciFact ...");
      // Two uploads in flight (not the ingest benchmark's four): on a busy machine the local queue
      // broker loses sends under more, and the eval is about quality, not ingestion speed.
      const r = await ingestScifact(server, {
        batchSize: args.batch ? Number(args.batch) : undefined,
        concurrency: Number(args.uploadConcurrency ?? 2),
      });
      ({ collection, idToSource } = r);
      ingest = r.measurement;
      printIngest(ingest);
    } else {
      console.log(
        `ingesting ${datasetName}${args.quick ? " (quick sample)" : ""}: ${data.corpus.length} documents, ${queries.length} queries ...`,
      );
      const r = await ingestCorpus(api, data, datasetName);
      ({ collection, idToSource } = r);
      ingest = r.measurement;
    }
    if (ingest.settled === false || (ingest.failed ?? 0) > 0) {
      failedToRun = true;
      throw new Error(`ingestion did not finish cleanly (ready ${ingest.ready}, failed ${ingest.failed}); not scoring a partial index`);
    }
    collection = await api.getCollection(collection.id);
    const toSource = sourceMapper(idToSource);
    const reloadsBefore = server.reloads();

    const modes = {};
    for (const mode of MODES) {
      modes[mode] = await runQueries(api, collection.id, queries, qrels, toSource, { mode }, { concurrency, label: mode });
      if (modes[mode].errors.length) failedToRun = true;
      if (modes[mode].metrics.queries_without_results === modes[mode].metrics.queries && queries.length > 0) {
        failedToRun = true;
        console.log(`  ${mode}: no query returned anything`);
      }
    }

    const row = (name, m, target) => [name, fmt(m.ndcg10, 3), fmt(m.recall10, 3), fmt(m.recall100, 3), fmt(m.mrr10, 3), target ?? ""];
    const hybridOk = modes.hybrid.metrics.ndcg10 >= TARGETS.hybrid && modes.hybrid.metrics.ndcg10 >= modes.keyword.metrics.ndcg10;
    const published = scifact && !args.quick;
    printTable(
      [
        `${datasetName}${args.quick ? " quick sample" : ""} (${modes.keyword.metrics.queries} queries)`,
        "nDCG@10",
        "R@10",
        "R@100",
        "MRR@10",
        "target",
      ],
      [
        ...(published ? BASELINES.map((b) => row(b.name, { ndcg10: b.ndcg10, recall100: b.recall100 }, "published")) : []),
        row(
          "ours: keyword (FTS5 bm25, collection index)",
          modes.keyword.metrics,
          published ? `≥ ${TARGETS.keyword}: ${modes.keyword.metrics.ndcg10 >= TARGETS.keyword ? "met" : "NOT met"}` : "",
        ),
        row(`ours: vector (${collection.embedder})`, modes.vector.metrics, ""),
        row(
          "ours: hybrid (default weights)",
          modes.hybrid.metrics,
          published
            ? `≥ ${TARGETS.hybrid} and ≥ keyword: ${hybridOk ? "met" : "NOT met"}`
            : `≥ keyword: ${modes.hybrid.metrics.ndcg10 >= modes.keyword.metrics.ndcg10 ? "yes" : "NO"}`,
        ),
      ],
      `Retrieval quality, collection ${collection.id} (embedder ${collection.embedder}, ${collection.dimensions} dims, chunks ${collection.chunk_tokens}/${collection.chunk_overlap})${args.quick ? "\n(quick: a smoke run; its figures say nothing about quality)" : ""}`,
    );
    let halves = null;
    if (split) {
      halves = Object.fromEntries(["A", "B"].map((h) => [h, Object.fromEntries(MODES.map((m) => [m, halfMetrics(modes[m].perQuery, h)]))]));
      printTable(
        ["half (fixed by query id)", "queries", ...MODES.map((m) => `${m} nDCG@10`), "hybrid ≥ keyword"],
        ["A", "B"].map((h) => [
          h === "A" ? "A (tuning half)" : "B (held-out half)",
          halves[h].keyword.queries,
          ...MODES.map((m) => fmt(halves[h][m].ndcg10, 3)),
          halves[h].hybrid.ndcg10 >= halves[h].keyword.ndcg10 ? "yes" : "NO",
        ]),
        "Split halves",
      );
    }
    printTable(
      ["mode", "search p50 ms", "p95 ms", "docs/query", "errors", "unmapped hits", "Server-Timing means ms"],
      MODES.map((m) => [
        m,
        fmt(modes[m].latency_ms.p50),
        fmt(modes[m].latency_ms.p95),
        fmt(modes[m].mean_docs_per_query, 1),
        modes[m].errors.length,
        modes[m].unmapped_hits,
        timingText(modes[m].server_timing_ms),
      ]),
      `Search calls (top_k ${TOP_K}, ${concurrency} in flight; documents = distinct documents among the ${TOP_K} chunk hits)`,
    );
    for (const m of MODES) for (const e of modes[m].errors.slice(0, 3)) console.log(`  ${m} query ${e.query}: ${e.error}`);

    let sweep = null;
    if (args.sweep) {
      // The server fuses by min-max convex combination unless `fusion: "rrf"` is asked for; rrf_k
      // only means something with RRF, so the grid asks for it explicitly.
      const configs = [
        ...SWEEP.convex_weight.map((w) => ({ fusion: "convex", vector_weight: w })),
        ...SWEEP.rrf_k.flatMap((k) => SWEEP.vector_weight.map((w) => ({ fusion: "rrf", vector_weight: w, rrf_k: k }))),
      ];
      const grid = [];
      for (const c of configs) {
        const label = `hybrid ${c.fusion} w=${c.vector_weight}${c.rrf_k ? ` k=${c.rrf_k}` : ""}`;
        const r = await runQueries(api, collection.id, queries, qrels, toSource, { mode: "hybrid", ...c }, { concurrency, label });
        if (r.errors.length) failedToRun = true;
        const byHalf = split ? { A: halfMetrics(r.perQuery, "A").ndcg10, B: halfMetrics(r.perQuery, "B").ndcg10 } : null;
        grid.push({ ...c, ...r.metrics, halves: byHalf, errors: r.errors.length });
      }
      // Choose on half A only (when split), report half B at the point chosen.
      const score = (g) => (split ? g.halves.A : g.ndcg10);
      const best = grid.reduce((a, b) => (score(b) > score(a) ? b : a));
      printTable(
        ["config", "nDCG@10 all", ...(split ? ["half A", "half B"] : []), "R@100"],
        grid.map((g) => [
          `${g.fusion} w=${g.vector_weight}${g.rrf_k ? ` k=${g.rrf_k}` : ""}`,
          fmt(g.ndcg10, 3),
          ...(split ? [fmt(g.halves.A, 3), fmt(g.halves.B, 3)] : []),
          fmt(g.recall100, 3),
        ]),
        `Hybrid sweep (keyword alone ${fmt(modes.keyword.metrics.ndcg10, 3)}${split ? `: A ${fmt(halves.A.keyword.ndcg10, 3)}, B ${fmt(halves.B.keyword.ndcg10, 3)}` : ""}; server default ${fmt(modes.hybrid.metrics.ndcg10, 3)})`,
      );
      console.log(
        `best${split ? " on half A" : ""}: fusion ${best.fusion}, vector_weight ${best.vector_weight}${best.rrf_k ? `, rrf_k ${best.rrf_k}` : ""} -> nDCG@10 ${fmt(best.ndcg10, 3)}${split ? ` (A ${fmt(best.halves.A, 3)}, B ${fmt(best.halves.B, 3)})` : ""}`,
      );
      sweep = { grid, best, chosen_on: split ? "half A" : "all queries" };
    }

    const reloads = server.reloads() - reloadsBefore;
    if (reloads > 0)
      console.log(`\nWARNING: wrangler reloaded the worker ${reloads}× during the queries (src/ changed); figures may mix two builds.`);
    const file = await writeResult(resultFile, {
      benchmark: args.quick ? "eval-quick" : `eval-${datasetName}`,
      machine: machineInfo(),
      config: {
        dataset: `${datasetName}${args.quick ? " (quick sample)" : ""}: ${data.corpus.length} documents, ${queries.length} queries`,
        document_text: 'title + "\\n\\n" + text',
        top_k: TOP_K,
        concurrency,
        hybrid_defaults: "server defaults (no vector_weight / rrf_k sent)",
        collection: {
          id: collection.id,
          embedder: collection.embedder,
          dimensions: collection.dimensions,
          chunk_tokens: collection.chunk_tokens,
          chunk_overlap: collection.chunk_overlap,
        },
        server: server.external ? "external (--url)" : "private wrangler dev",
        server_source_hash: server.sourceHash ?? null,
        conventions:
          "graded gains as trec_eval (gain = judged relevance; SciFact's are all 1), ideal DCG over judged relevant documents, document score = best chunk, queries without results count 0",
        halves: split ? "A/B by the first byte of sha256(query id), even = A (tuning), odd = B (held out)" : null,
      },
      baselines: published ? BASELINES : [],
      targets: published ? { keyword_ndcg10: TARGETS.keyword, hybrid_ndcg10: TARGETS.hybrid, hybrid_at_least_keyword: true } : null,
      targets_met: published ? { keyword: modes.keyword.metrics.ndcg10 >= TARGETS.keyword, hybrid: hybridOk } : null,
      ingest,
      modes: Object.fromEntries(
        MODES.map((m) => [
          m,
          {
            ...modes[m].metrics,
            latency_ms: modes[m].latency_ms,
            server_timing_ms: modes[m].server_timing_ms,
            mean_docs_per_query: modes[m].mean_docs_per_query,
            unmapped_hits: modes[m].unmapped_hits,
            errors: modes[m].errors.length,
            per_query_ndcg10: Object.fromEntries(Object.entries(modes[m].perQuery).map(([q, v]) => [q, Math.round(v.ndcg10 * 1e4) / 1e4])),
          },
        ]),
      ),
      halves,
      sweep,
      server_reloads: reloads,
    });
    console.log(`\nwrote ${file}`);
    if (args.keep) {
      server.detach();
      console.log(`--keep: server left running at ${server.url}, collection ${collection.id}`);
      if (!server.external) console.log(`  state and log in ${server.persistTo} (master key in ${server.persistTo}/bench.env)`);
      console.log(`  re-run: npm run eval -- --url ${server.url} --key <key> --collection ${collection.id} --sweep`);
    }
  } finally {
    if (!args.keep) await server.stop();
  }
  return failedToRun ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`bench/eval: ${err.stack ?? err}`);
    process.exit(1);
  },
);
