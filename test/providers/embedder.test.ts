import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { WorkersAiEmbedder } from "../../src/retrieval/cloudflare/embedder";
import { WorkersAiReranker } from "../../src/retrieval/cloudflare/reranker";
import { aiControl, expectApiError } from "./helpers";

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0);
const norm = (a: Float32Array) => Math.sqrt(dot(a, a));

describe("WorkersAiEmbedder (against the Workers AI double)", () => {
  const embedder = new WorkersAiEmbedder(env.TEST_AI);

  it("names the model and its pooling, and the documented limits", () => {
    expect(embedder.id).toBe("@cf/baai/bge-base-en-v1.5#cls");
    expect(embedder.dimensions).toBe(768);
    expect(embedder.maxBatch).toBe(100);
  });

  it("splits more than 100 texts into calls of at most 100, asking for cls pooling", async () => {
    const marker = crypto.randomUUID();
    const texts = Array.from({ length: 250 }, (_, i) => `${marker} passage ${i} about topic ${i % 7}`);
    const vectors = await embedder.embed(texts, "document");
    expect(vectors).toHaveLength(250);
    const calls = await aiControl(env.TEST_AI).recorded(marker);
    expect(calls.map((c) => c.model)).toEqual(Array(3).fill("@cf/baai/bge-base-en-v1.5"));
    expect(calls.map((c) => (c.inputs.text as string[]).length)).toEqual([100, 100, 50]);
    expect(calls.every((c) => c.inputs.pooling === "cls")).toBe(true);
  });

  it("returns one unit-length Float32Array of 768 values per text, in input order", async () => {
    const texts = ["The cat sat on the mat.", "Quarterly revenue grew by ten percent.", "A third, unrelated sentence."];
    const vectors = await embedder.embed(texts, "document");
    expect(vectors).toHaveLength(3);
    for (const v of vectors) {
      expect(v).toBeInstanceOf(Float32Array);
      expect(v.length).toBe(768);
      expect(norm(v)).toBeCloseTo(1, 5);
    }
    const [alone] = await embedder.embed([texts[1]], "query");
    expect(dot(alone, vectors[1])).toBeCloseTo(1, 5);
  });

  it("embeds similar texts closer than unrelated ones", async () => {
    const [q, near, far] = await embedder.embed(
      ["How long does a refund take?", "Refunds take five business days to arrive.", "Our office dog is called Biscuit."],
      "query",
    );
    expect(dot(q, near)).toBeGreaterThan(dot(q, far));
  });

  it("embeds nothing without calling the service", async () => {
    expect(await embedder.embed([], "document")).toEqual([]);
  });

  it("maps a failing call to 502 upstream_error without passing the upstream's text on", async () => {
    const e = await expectApiError(embedder.embed(["fine", "__fail__ please"], "document"), "upstream_error", 502);
    expect(e.message).not.toMatch(/AiError|double|3010/);
  });

  it("rejects malformed output as an upstream error", async () => {
    const broken = new WorkersAiEmbedder({ run: async () => ({ shape: [1, 3], data: [[1, 2, 3]] }) } as never);
    await expectApiError(broken.embed(["x"], "document"), "upstream_error", 502);
  });

  it("the double holds the real limits: at most 100 texts, no empty text, known pooling", async () => {
    // `async` + `await` turn the RPC promise into a native one: vitest probes properties of what it
    // is given, and each property of an RpcPromise is a pipelined call that rejects as well.
    const run = async (inputs: Record<string, unknown>) => await env.TEST_AI.run("@cf/baai/bge-base-en-v1.5", inputs as never);
    await expect(run({ text: Array.from({ length: 101 }, (_, i) => `t${i}`) })).rejects.toThrow(/100/);
    await expect(run({ text: ["ok", ""] })).rejects.toThrow();
    await expect(run({ text: "ok", pooling: "max" })).rejects.toThrow();
    const out = (await run({ text: ["a", "b"] })) as unknown as { shape: number[]; data: number[][] };
    expect(out.shape).toEqual([2, 768]);
    expect(out.data[0]).toHaveLength(768);
  });
});

describe("WorkersAiReranker (against the Workers AI double)", () => {
  const reranker = new WorkersAiReranker(env.TEST_AI);

  it("scores each text in the order given, the relevant one highest", async () => {
    const texts = ["Shipping takes a week.", "Refunds are paid within five days of the request.", "Office hours are nine to five."];
    const scores = await reranker.rerank("When are refunds paid?", texts);
    expect(scores).toHaveLength(3);
    expect(scores.every((s) => Number.isFinite(s))).toBe(true);
    expect(scores.indexOf(Math.max(...scores))).toBe(1);
  });

  it("needs no call for no texts, and maps failures to 502", async () => {
    expect(await reranker.rerank("anything", [])).toEqual([]);
    await expectApiError(reranker.rerank("__fail__", ["a"]), "upstream_error", 502);
  });
});
