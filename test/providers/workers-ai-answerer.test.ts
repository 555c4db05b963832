import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ANSWER_SYSTEM_PROMPT } from "../../src/chat/answer/prompt";
import { type AnswerRequest, NO_ANSWER } from "../../src/chat/answer/types";
import { WorkersAiAnswerer } from "../../src/chat/answer/workers-ai";
import { aiControl, collect, expectApiError, SOURCES } from "./helpers";

const MODEL = "@cf/meta/llama-3.3-70b-instruct-fp8-fast";
const answerer = new WorkersAiAnswerer(env.TEST_AI, MODEL, 512);
const req = (query: string, extra: Partial<AnswerRequest> = {}): AnswerRequest => ({
  query,
  history: [],
  sources: SOURCES,
  maxTokens: 1024,
  ...extra,
});

describe("WorkersAiAnswerer (against the Workers AI double)", () => {
  it("answers from the numbered sources with citations, model and usage", async () => {
    const r = await answerer.answer(req("When is a full refund possible?"));
    expect(r.answer).toBe("Our refund policy is simple [1].");
    expect(r.citations).toEqual([1]);
    expect(r.model).toBe(MODEL);
    expect(r.usage.prompt_tokens).toBeGreaterThan(0);
    expect(r.usage.completion_tokens).toBeGreaterThan(0);
  });

  it("sends a grounded prompt: rules, history, numbered sources, the question, an explicit max_tokens", async () => {
    const marker = crypto.randomUUID();
    const history = [
      { role: "user" as const, content: `Earlier question ${marker}` },
      { role: "assistant" as const, content: "Earlier answer [2]." },
    ];
    await answerer.answer(req(`Where is the warehouse? ${marker}`, { history, maxTokens: 2048 }));
    const [call] = await aiControl(env.TEST_AI).recorded(marker);
    expect(call.model).toBe(MODEL);
    const inputs = call.inputs as { messages: { role: string; content: string }[]; max_tokens: number; stream?: boolean };
    expect(inputs.max_tokens).toBe(512); // the configured ceiling wins over a bigger request
    expect(inputs.stream).toBeUndefined();
    expect(inputs.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "user"]);
    expect(inputs.messages[0].content).toBe(ANSWER_SYSTEM_PROMPT);
    expect(inputs.messages[0].content).toContain(NO_ANSWER);
    const last = inputs.messages[3].content;
    // Each passage is delimited (issue 10: passages can no longer pose as prompt text).
    expect(last).toContain('<source n="1" document="refunds.md">\nOur refund policy is simple.');
    expect(last).toContain('<source n="2" document="shipping.md">\nWe ship worldwide');
    expect(last).toContain('<source n="3" document="security.md">');
    expect(last.match(/<\/source>/g)?.length).toBe(3);
    expect(last.endsWith(`Question: Where is the warehouse? ${marker}`)).toBe(true);
  });

  it("streams the same answer by parsing the SSE stream", async () => {
    const q = req("Which shipping options are there and where do you ship from?");
    const deltas = await collect(answerer.stream(q));
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join("")).toBe((await answerer.answer(q)).answer);
    expect(deltas.join("")).toMatch(/\[2\]\.$/);
  });

  it("asks the model for nothing when there are no sources", async () => {
    const marker = crypto.randomUUID();
    expect(await answerer.answer(req(`Anything ${marker}?`, { sources: [] }))).toMatchObject({ answer: NO_ANSWER, citations: [] });
    expect((await collect(answerer.stream(req(`Anything ${marker}?`, { sources: [] })))).join("")).toBe(NO_ANSWER);
    expect(await aiControl(env.TEST_AI).recorded(marker)).toEqual([]);
  });

  it("maps a model failure to 502 upstream_error, streaming or not, without the upstream's text", async () => {
    const e = await expectApiError(answerer.answer(req("__fail__ refund?")), "upstream_error", 502);
    expect(e.message).not.toMatch(/AiError|3010|double/);
    await expectApiError(collect(answerer.stream(req("__fail__ refund?"))), "upstream_error", 502);
    const retired = new WorkersAiAnswerer(env.TEST_AI, "@cf/meta/llama-3.1-8b-instruct", 256);
    await expectApiError(retired.answer(req("refund?")), "upstream_error", 502);
  });

  it("maps a slow model to 504 upstream_timeout, and a stalled stream too", async () => {
    const impatient = new WorkersAiAnswerer(env.TEST_AI, MODEL, 256, { timeoutMs: 100 });
    await expectApiError(impatient.answer(req("__slow__ refund?")), "upstream_timeout", 504);
    const deltas: string[] = [];
    await expectApiError(
      (async () => {
        for await (const d of impatient.stream(req("__stall__ refund policy"))) deltas.push(d);
      })(),
      "upstream_timeout",
      504,
    );
    expect(deltas.length).toBe(1); // what arrived before the stall was passed on
  });

  it("lets the caller abort: the abort is passed through, not reported as an upstream failure", async () => {
    const ctl = new AbortController();
    const p = answerer.answer(req("__slow__ refund?", { signal: ctl.signal }));
    ctl.abort(new Error("client went away"));
    await expect(p).rejects.toThrow("client went away");
  });

  it("rewrites a follow-up into a standalone question using the history", async () => {
    const marker = crypto.randomUUID();
    const history = [
      { role: "user" as const, content: `Which plan includes SSO ${marker}?` },
      { role: "assistant" as const, content: "The Enterprise plan includes SSO [1]." },
    ];
    const q = await answerer.rewriteQuery("And how much does it cost?", history);
    expect(q).toBe(`Which plan includes SSO ${marker}: And how much does it cost?`);
    const [call] = await aiControl(env.TEST_AI).recorded(marker);
    const inputs = call.inputs as { messages: { role: string; content: string }[]; max_tokens: number };
    expect(inputs.messages[0].content).toMatch(/standalone question/);
    expect(inputs.messages[1].content).toContain("Assistant: The Enterprise plan includes SSO [1].");
    expect(inputs.max_tokens).toBeLessThanOrEqual(128);
  });

  it("keeps the query as it is without history, or when the rewrite fails", async () => {
    expect(await answerer.rewriteQuery("What is the refund policy?", [])).toBe("What is the refund policy?");
    const history = [{ role: "user" as const, content: "Earlier" }];
    expect(await answerer.rewriteQuery("__fail__ and then?", history)).toBe("__fail__ and then?");
  });
});
