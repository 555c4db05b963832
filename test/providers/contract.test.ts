/**
 * One contract, every implementation: the same cases run against each embedder, each vector index
 * and each answer provider (the Cloudflare ones against the contract-enforcing doubles, the HTTP ones against a
 * stubbed upstream that speaks their protocol). A provider that passes its own suite but breaks
 * the shared contract (unit vectors, citations in range, the no-answer sentence) fails here.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ChatUrlAnswerer } from "../../src/chat/answer/chat-url";
import { ExtractiveAnswerer } from "../../src/chat/answer/extractive";
import { OpenAiCompatibleAnswerer } from "../../src/chat/answer/openai";
import { type AnswerProvider, type AnswerRequest, isNoAnswer } from "../../src/chat/answer/types";
import { WorkersAiAnswerer } from "../../src/chat/answer/workers-ai";
import { WorkersAiEmbedder } from "../../src/retrieval/cloudflare/embedder";
import { LocalHashEmbedder } from "../../src/retrieval/local/embedder";
import { parseVectorId, VectorizeStore } from "../../src/retrieval/cloudflare/vectorize";
import { type Embedder, type VectorIndex, type VectorRecord, vectorId } from "../../src/retrieval/types";
import { collect, SOURCES } from "./helpers";

const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

const EMBEDDERS: [string, () => Embedder][] = [
  ["local hash embedder", () => new LocalHashEmbedder()],
  ["Workers AI embedder (double)", () => new WorkersAiEmbedder(env.TEST_AI)],
];

describe.each(EMBEDDERS)("Embedder contract: %s", (_name, make) => {
  const embedder = make();

  it("names itself and states its dimensions and batch limit", () => {
    expect(embedder.id).toMatch(/\S/);
    expect(Number.isInteger(embedder.dimensions) && embedder.dimensions > 0).toBe(true);
    expect(Number.isInteger(embedder.maxBatch) && embedder.maxBatch >= 1).toBe(true);
  });

  it("returns one unit vector of the stated dimensions per text, in order, for a full batch", async () => {
    const n = Math.min(embedder.maxBatch, 100);
    const texts = Array.from({ length: n }, (_, i) => `passage ${i} about ${["refunds", "shipping", "security"][i % 3]}`);
    const vectors = await embedder.embed(texts, "document");
    expect(vectors).toHaveLength(n);
    for (const v of vectors) {
      expect(v).toBeInstanceOf(Float32Array);
      expect(v.length).toBe(embedder.dimensions);
      expect(norm(v)).toBeCloseTo(1, 3);
    }
    // In order: embedding one text alone gives the vector it had in the batch.
    const [alone] = await embedder.embed([texts[7]], "document");
    expect(Array.from(alone)).toEqual(Array.from(vectors[7]));
  });

  it("embeds queries into the same space as documents, deterministically", async () => {
    const [a] = await embedder.embed(["When is a refund possible?"], "query");
    const [b] = await embedder.embed(["When is a refund possible?"], "query");
    expect(a.length).toBe(embedder.dimensions);
    expect(Array.from(a)).toEqual(Array.from(b));
  });

  it("answers an empty list with an empty list", async () => {
    expect(await embedder.embed([], "document")).toEqual([]);
  });
});

/** An upstream that answers in each HTTP protocol, citing the first source as a model would. */
const REPLY = "Customers can request a full refund within 30 days of purchase [1].";
function upstream(protocol: "openai" | "chat-url") {
  return async (_url: string, init: RequestInit): Promise<Response> => {
    const body = JSON.parse(String(init.body)) as { stream?: boolean };
    if (protocol === "chat-url") return Response.json({ answer: REPLY });
    if (!body.stream) {
      return Response.json({
        choices: [{ message: { role: "assistant", content: REPLY } }],
        usage: { prompt_tokens: 50, completion_tokens: 14 },
      });
    }
    const frames = REPLY.split(/(?<= )/)
      .map((piece) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] })}\n\n`)
      .join("");
    return new Response(`${frames}data: [DONE]\n\n`, { headers: { "Content-Type": "text/event-stream" } });
  };
}

const ANSWERERS: [string, () => AnswerProvider][] = [
  ["extractive", () => new ExtractiveAnswerer()],
  ["Workers AI (double)", () => new WorkersAiAnswerer(env.TEST_AI, "@cf/meta/llama-3.3-70b-instruct-fp8-fast", 512)],
  [
    "OpenAI-compatible (stubbed upstream)",
    () =>
      new OpenAiCompatibleAnswerer({
        baseUrl: "https://llm.example.com/v1/",
        apiKey: "test-key",
        model: "gpt-4o-mini",
        timeoutMs: 2000,
        maxTokens: 256,
        fetch: upstream("openai"),
      }),
  ],
  [
    "original CHAT_URL protocol (stubbed upstream)",
    () => new ChatUrlAnswerer({ url: "https://chat.example.com/answer", timeoutMs: 2000, fetch: upstream("chat-url") }),
  ],
];

const request = (extra: Partial<AnswerRequest> = {}): AnswerRequest => ({
  query: "When can customers get a full refund?",
  history: [],
  sources: SOURCES,
  maxTokens: 256,
  ...extra,
});

/** Every `[n]` in the text, as numbers. */
const cited = (text: string) => [...text.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1]));

describe.each(ANSWERERS)("AnswerProvider contract: %s", (_name, make) => {
  const provider = make();

  it("names itself and its model", () => {
    expect(provider.id).toMatch(/\S/);
    expect(provider.model).toMatch(/\S/);
  });

  it("answers from the sources, and its citations are exactly the in-range [n] of the answer", async () => {
    const r = await provider.answer(request());
    expect(r.answer.trim().length).toBeGreaterThan(0);
    expect(isNoAnswer(r.answer)).toBe(false);
    expect(r.model).toBe(provider.model);
    expect(r.citations.length).toBeGreaterThan(0);
    expect(r.citations).toEqual([...r.citations].sort((a, b) => a - b));
    for (const n of r.citations) expect(n >= 1 && n <= SOURCES.length).toBe(true);
    expect(new Set(r.citations)).toEqual(new Set(cited(r.answer).filter((n) => n >= 1 && n <= SOURCES.length)));
    expect(Number.isInteger(r.usage.prompt_tokens) && r.usage.prompt_tokens >= 0).toBe(true);
    expect(Number.isInteger(r.usage.completion_tokens) && r.usage.completion_tokens >= 0).toBe(true);
  });

  it("streams deltas whose concatenation is a cited answer", async () => {
    const deltas = await collect(provider.stream(request()));
    expect(deltas.length).toBeGreaterThan(0);
    const text = deltas.join("");
    expect(isNoAnswer(text)).toBe(false);
    const numbers = cited(text);
    expect(numbers.length).toBeGreaterThan(0);
    for (const n of numbers) expect(n >= 1 && n <= SOURCES.length).toBe(true);
  });

  it("gives the no-answer sentence, uncited, when there are no sources", async () => {
    const r = await provider.answer(request({ sources: [] }));
    expect(isNoAnswer(r.answer)).toBe(true);
    expect(r.citations).toEqual([]);
    const streamed = (await collect(provider.stream(request({ sources: [] })))).join("");
    expect(isNoAnswer(streamed)).toBe(true);
  });
});

/**
 * The local vectors live in the collection index Durable Object, which does not implement
 * `VectorIndex` (issue 12 names this). Its RPC carries the same contract, mapped here: a document's
 * vectors are written with `write` (one chunk per vector, committed at once), queried with `search`
 * in vector mode (the cosine score is `scores.vector`), removed with `remove` and dropped with
 * `drop`. It writes and removes whole documents, so the cases below always upsert and delete every
 * vector of a document together (which is all the pipeline ever does).
 */
function collectionIndexVectors(): VectorIndex {
  const stub = (collectionId: string) => env.COLLECTION_INDEX.get(env.COLLECTION_INDEX.idFromName(collectionId));
  const byDocument = <T>(items: T[], doc: (t: T) => string) => {
    const out = new Map<string, T[]>();
    for (const t of items) out.set(doc(t), [...(out.get(doc(t)) ?? []), t]);
    return out;
  };
  return {
    id: "local",
    async upsert(collectionId, vectors) {
      for (const [documentId, records] of byDocument(vectors, (v) => v.documentId)) {
        const result = await stub(collectionId).write({
          document: { id: documentId, generation: 1, name: `${documentId}.txt`, metadata: "{}" },
          chunks: records.map((r) => ({
            ordinal: r.ordinal,
            text: `chunk ${r.ordinal}`,
            start: 0,
            end: 7,
            page: null,
            heading: null,
            tokens: 2,
          })),
          vectors: records.map((r) => r.values),
          commit: { chunkCount: records.length },
        });
        if (result.status !== "ready") throw new Error(`write ${documentId}: ${result.status}`);
      }
    },
    async query(collectionId, vector, topK) {
      const { hits } = await stub(collectionId).search({
        query: "",
        mode: "vector",
        topK,
        pool: topK,
        hydrate: topK,
        vectorWeight: 1,
        queryVector: vector,
        whiten: false,
      });
      return hits.map((h) => ({
        id: vectorId(h.document_id, h.ordinal),
        score: h.scores.vector ?? Number.NaN,
        documentId: h.document_id,
        ordinal: h.ordinal,
      }));
    },
    async deleteByIds(collectionId, ids) {
      const documents = new Set(ids.map((id) => parseVectorId(id)?.documentId).filter((d): d is string => !!d));
      for (const d of documents) await stub(collectionId).remove(d);
    },
    async dropCollection(collectionId) {
      await stub(collectionId).drop();
    },
  };
}

const VECTOR_INDEXES: [string, () => VectorIndex, { dropRemovesVectors: boolean }][] = [
  ["VectorizeStore (double)", () => new VectorizeStore(env.TEST_VECTORIZE), { dropRemovesVectors: false }],
  ["collection index local vectors (Durable Object RPC)", collectionIndexVectors, { dropRemovesVectors: true }],
];

const DIMS = 768; // the Vectorize index's dimensions; the local index takes any up to 4096

/** A unit vector at cosine `cos` to the query (axis 0), off-axis along `axis` so vectors stay distinct. */
function at(cos: number, axis: number): Float32Array {
  const v = new Float32Array(DIMS);
  v[0] = cos;
  v[axis] = Math.sqrt(1 - cos * cos);
  return v;
}
const QUERY = at(1, 1);
const recordsOf = (documentId: string, cosines: number[], firstAxis = 1): VectorRecord[] =>
  cosines.map((cos, ordinal) => ({ id: vectorId(documentId, ordinal), values: at(cos, firstAxis + ordinal), documentId, ordinal }));

describe.each(VECTOR_INDEXES)("VectorIndex contract: %s", (_name, make, traits) => {
  const index = make();
  const uid = () => crypto.randomUUID();

  it("returns matches by cosine similarity, best first, with their document and ordinal", async () => {
    const [col, doc] = [uid(), uid()];
    await index.upsert(col, recordsOf(doc, [0.2, 0.9, 0.5, 0.7]));
    const matches = await index.query(col, QUERY, 10);
    expect(matches.map((m) => m.ordinal)).toEqual([1, 3, 2, 0]);
    expect(matches.every((m) => m.documentId === doc && m.id === vectorId(doc, m.ordinal))).toBe(true);
    for (let i = 1; i < matches.length; i++) expect(matches[i - 1].score).toBeGreaterThan(matches[i].score);
    expect(matches[0].score).toBeCloseTo(0.9, 1);
    expect(matches[3].score).toBeCloseTo(0.2, 1);
  });

  it("re-upserting the same ids replaces them: no duplicate, the new values count", async () => {
    const [col, doc] = [uid(), uid()];
    await index.upsert(col, recordsOf(doc, [0.3, 0.8]));
    await index.upsert(col, recordsOf(doc, [0.3, 0.8]));
    expect((await index.query(col, QUERY, 10)).map((m) => m.ordinal)).toEqual([1, 0]);
    await index.upsert(col, recordsOf(doc, [0.95, 0.1]));
    const after = await index.query(col, QUERY, 10);
    expect(after.map((m) => m.ordinal)).toEqual([0, 1]);
    expect(after[0].score).toBeCloseTo(0.95, 1);
  });

  it("a query sees only its own collection (tenant isolation)", async () => {
    const [colA, colB, docA, docB] = [uid(), uid(), uid(), uid()];
    await index.upsert(colA, recordsOf(docA, [0.5, 0.6]));
    // B's vectors are closer to the query than any of A's.
    await index.upsert(colB, recordsOf(docB, [0.99, 0.98], 10));
    const a = await index.query(colA, QUERY, 10);
    const b = await index.query(colB, QUERY, 10);
    expect(a.map((m) => m.documentId)).toEqual([docA, docA]);
    expect(b.map((m) => m.documentId)).toEqual([docB, docB]);
    expect(await index.query(uid(), QUERY, 10)).toEqual([]);
  });

  it("returns at most topK matches, the best ones", async () => {
    const [col, doc] = [uid(), uid()];
    await index.upsert(col, recordsOf(doc, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]));
    expect((await index.query(col, QUERY, 3)).map((m) => m.ordinal)).toEqual([7, 6, 5]);
    expect((await index.query(col, QUERY, 1)).map((m) => m.ordinal)).toEqual([7]);
    expect(await index.query(col, QUERY, 100)).toHaveLength(8);
  });

  it("deletes by ids, ignoring unknown ids, and leaves other documents alone", async () => {
    const [col, gone, kept] = [uid(), uid(), uid()];
    const goneRecords = recordsOf(gone, [0.9, 0.8]);
    await index.upsert(col, goneRecords);
    await index.upsert(col, recordsOf(kept, [0.4, 0.3], 10));
    expect(await index.query(col, QUERY, 10)).toHaveLength(4);
    await index.deleteByIds(col, [...goneRecords.map((r) => r.id), vectorId(uid(), 0), vectorId(gone, 99)]);
    const left = await index.query(col, QUERY, 10);
    expect(left.map((m) => m.documentId)).toEqual([kept, kept]);
    // Deleting again (every id now unknown) is not an error.
    await index.deleteByIds(
      col,
      goneRecords.map((r) => r.id),
    );
    expect(await index.query(col, QUERY, 10)).toHaveLength(2);
  });

  it("dropping a collection touches no other collection; with its ids deleted first, it finds nothing", async () => {
    const [col, other, doc, otherDoc] = [uid(), uid(), uid(), uid()];
    const records = recordsOf(doc, [0.7, 0.6]);
    await index.upsert(col, records);
    await index.upsert(other, recordsOf(otherDoc, [0.5]));
    await index.dropCollection(col);
    // Vectorize cannot drop a namespace from a Worker: its drop is a documented no-op, and the
    // pipeline deletes every document's ids first. The local index drops everything at once.
    expect(await index.query(col, QUERY, 10)).toHaveLength(traits.dropRemovesVectors ? 0 : 2);
    await index.deleteByIds(
      col,
      records.map((r) => r.id),
    );
    await index.dropCollection(col);
    expect(await index.query(col, QUERY, 10)).toEqual([]);
    expect((await index.query(other, QUERY, 10)).map((m) => m.documentId)).toEqual([otherDoc]);
    await index.dropCollection(uid()); // an unknown collection is not an error
  });
});
