/**
 * Hybrid search with Workers AI and Vectorize runs its keyword half while the query is embedded and
 * fuses the two halves in the Worker (src/retrieval/search.ts `overlapped`). These tests hold it to
 * the sequential path it replaces: the same hits, scores and ranks as one hybrid call to the index
 * object with the Vectorize candidates, and the same errors in the same precedence, with no
 * rejection left unhandled. (The overlap itself, and the call counts, are in budget.test.ts.)
 */
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ApiError } from "../src/http/errors";
import { collectionIndex } from "../src/retrieval/collection-index/client";
import type { MetadataFilter } from "../src/retrieval/filter";
import { embeddingModelOf } from "../src/retrieval/models";
import { activeEmbedderFor, selectRetrieval } from "../src/retrieval/providers";
import { defaultVectorWeight, type SearchOptions, search } from "../src/retrieval/search";
import { type Collection, getCollection } from "../src/storage/collections";
import { type Counted, countedEnv } from "./budget";
import { body, master, recordingQueue } from "./helpers";

// Documents sharing words in varied mixes, so the keyword and vector lists overlap only in part.
const WORDS = [
  "office",
  "expenses",
  "travel",
  "receipt",
  "dogs",
  "vaccinated",
  "lisbon",
  "weekdays",
  "reimbursed",
  "friday",
  "hours",
  "policy",
];
const DOCS = Array.from({ length: 16 }, (_, i) => ({
  name: `doc-${i}.md`,
  text: `# Note ${i}\n\n${Array.from({ length: 40 }, (_, j) => WORDS[(i * 7 + j * ((i % 5) + 1)) % WORDS.length]).join(" ")}.\n\nThe ${WORDS[i % WORDS.length]} section ends here.`,
}));

let counted: Counted;
let collection: Collection;
let documentIds: string[];

beforeAll(async () => {
  counted = countedEnv("cloudflare");
  const created = await body(await counted.fetch("/v1/collections", { method: "POST", headers: master(), json: { name: "overlap" } }));
  const queue = recordingQueue();
  counted.env.INGEST_QUEUE = queue.binding;
  const up = await counted.fetch(`/v1/collections/${created.id}/documents`, {
    method: "POST",
    headers: master(),
    json: { documents: DOCS },
  });
  expect(up.status).toBe(202);
  documentIds = (await body(up)).documents.map((d: { id: string }) => d.id);
  expect((await queue.deliver(counted.env)).acked).toHaveLength(DOCS.length);
  collection = (await getCollection(env.DB, created.id)) as Collection;
  expect(collection.embedder).toContain("bge-base");
});

/** Today's sequential path: embed, then Vectorize, then one hybrid call that fuses inside the object. */
async function sequential(opts: SearchOptions) {
  const providers = selectRetrieval(counted.env, embeddingModelOf(collection));
  const [vector] = await activeEmbedderFor(counted.env, collection).embed([opts.query], "query");
  const matches = await (providers.vectorize as NonNullable<typeof providers.vectorize>).query(collection.id, vector, 100);
  const filtered = (opts.documentIds?.length ?? 0) > 0 || opts.filter !== undefined;
  return collectionIndex(counted.env, collection.id).search({
    query: opts.query,
    topK: opts.topK,
    mode: "hybrid",
    fusion: opts.fusion,
    rrfK: opts.rrfK,
    vectorWeight: opts.vectorWeight ?? defaultVectorWeight(collection.embedder),
    pool: filtered ? 100 : Math.min(100, Math.max(opts.topK * 2, 50)),
    documentIds: opts.documentIds,
    filter: opts.filter,
    whiten: providers.whitenQueries,
    vectorCandidates: matches.map((m) => ({ documentId: m.documentId, ordinal: m.ordinal, score: m.score })),
    hydrate: opts.topK,
  });
}

// Unhandled rejections in this isolate, to assert that a failed half leaves none behind.
const unhandled: unknown[] = [];
const onUnhandled = (e: PromiseRejectionEvent) => unhandled.push(e.reason);
beforeAll(() => addEventListener("unhandledrejection", onUnhandled));
afterAll(() => removeEventListener("unhandledrejection", onUnhandled));

describe("hybrid search with Workers AI + Vectorize, halves overlapped", () => {
  it("returns exactly what the sequential single-call path returns (hits, scores, ranks, order)", async () => {
    const queries = ["travel expenses receipt", "are dogs vaccinated on friday", "office hours in lisbon on weekdays", "policy"];
    const settings: Partial<SearchOptions>[] = [
      {},
      { vectorWeight: 0 },
      { vectorWeight: 0.3 },
      { vectorWeight: 1 },
      { fusion: "rrf" },
      { fusion: "rrf", rrfK: 5, vectorWeight: 0.7 },
      { documentIds: documentIds.slice(0, 6) },
    ];
    let compared = 0;
    let vectorOnly = 0;
    let keywordOnly = 0;
    for (const query of queries)
      for (const s of settings)
        for (const topK of [1, 5, 20]) {
          const opts: SearchOptions = { query, topK, mode: "hybrid", ...s };
          const want = await sequential(opts);
          const got = await search(counted.env, collection, opts);
          expect(got.every((h) => h.scores.rerank === null)).toBe(true);
          expect(got.map(({ scores: { rerank: _, ...scores }, ...h }) => ({ ...h, scores }))).toEqual(want.hits);
          expect(got.length).toBeGreaterThan(0);
          compared += got.length;
          vectorOnly += got.filter((h) => h.scores.keyword === null).length;
          keywordOnly += got.filter((h) => h.scores.vector === null).length;
        }
    // Both sides contributed somewhere: some hits have only a vector score, some only a keyword one.
    expect(compared).toBeGreaterThan(100);
    expect(vectorOnly).toBeGreaterThan(0);
    expect(keywordOnly).toBeGreaterThan(0);
  });

  it("a failed embedding is the request's error, as before, even when the keyword half failed first", async () => {
    const ai = env.TEST_AI as unknown as { parked(token: string): Promise<boolean>; release(token: string): Promise<void> };
    const token = crypto.randomUUID().replaceAll("-", "");
    // A filter the route's schema would refuse: the index object's call fails (an internal error).
    const badFilter = { type: "like", key: "lang", value: "en" } as unknown as MetadataFilter;
    counted.reset();
    const pending = search(counted.env, collection, {
      query: `travel __fail__ __hold_${token}__`,
      topK: 3,
      mode: "hybrid",
      filter: badFilter,
    });
    const outcome = pending.then(
      () => null,
      (err: unknown) => err,
    );
    try {
      await vi.waitFor(async () => expect(await ai.parked(token)).toBe(true), { timeout: 30_000, interval: 10 });
      await vi.waitFor(() => expect(counted.counts.collectionDO).toBe(1), { timeout: 30_000, interval: 10 });
    } finally {
      await ai.release(token);
    }
    const err = await outcome;
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: "upstream_error", message: "The embedding request failed", status: 502 });
    // The vector half never started: no Vectorize query, no second index call.
    expect(counted.counts).toMatchObject({ aiEmbed: 1, vectorizeQuery: 0, collectionDO: 1 });
    await new Promise((r) => setTimeout(r, 0));
    expect(unhandled).toEqual([]);
  });

  it("the keyword half's error is the request's error when the embedding succeeds (the same error as the single call)", async () => {
    const badFilter = { type: "like", key: "lang", value: "en" } as unknown as MetadataFilter;
    const opts: SearchOptions = { query: "travel expenses", topK: 3, mode: "hybrid", filter: badFilter };
    const before = await sequential(opts).then(
      () => null,
      (e: unknown) => e,
    );
    expect(before).toBeInstanceOf(Error);
    const err = await search(counted.env, collection, opts).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe((before as Error).message);
    await new Promise((r) => setTimeout(r, 0));
    expect(unhandled).toEqual([]);
  });

  it("a failed embedding alone is the same upstream_error as the embedder's own", async () => {
    const direct = await activeEmbedderFor(counted.env, collection)
      .embed(["__fail__ travel"], "query")
      .then(
        () => null,
        (e: unknown) => e,
      );
    const err = await search(counted.env, collection, { query: "__fail__ travel", topK: 3, mode: "hybrid" }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiError);
    expect({ code: (err as ApiError).code, message: (err as ApiError).message, status: (err as ApiError).status }).toEqual({
      code: (direct as ApiError).code,
      message: (direct as ApiError).message,
      status: (direct as ApiError).status,
    });
    await new Promise((r) => setTimeout(r, 0));
    expect(unhandled).toEqual([]);
  });
});
