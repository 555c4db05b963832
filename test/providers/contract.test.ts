/**
 * One contract, every implementation: the same cases run against each embedder and each answer
 * provider (the Cloudflare ones against the contract-enforcing doubles, the HTTP ones against a
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
import type { Embedder } from "../../src/retrieval/types";
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
    expect(r.usage.prompt_tokens).toBeGreaterThanOrEqual(0);
    expect(r.usage.completion_tokens).toBeGreaterThanOrEqual(0);
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
