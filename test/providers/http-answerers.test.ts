import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import { ChatUrlAnswerer } from "../../src/chat/answer/chat-url";
import { OpenAiCompatibleAnswerer } from "../../src/chat/answer/openai";
import { type AnswerRequest, NO_ANSWER } from "../../src/chat/answer/types";
import { ApiError } from "../../src/http/errors";
import { chunkedBody, collect, expectApiError, fetchStub, hangingFetch, SOURCES } from "./helpers";

const SECRET_UPSTREAM_TEXT = "Traceback: key sk-live-abc123 rejected at 10.0.0.7";
const req = (query = "When is a full refund possible?", extra: Partial<AnswerRequest> = {}): AnswerRequest => ({
  query,
  history: [],
  sources: SOURCES,
  maxTokens: 300,
  ...extra,
});
const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
const sse = (text: string, size = 5) => new Response(chunkedBody(text, size), { headers: { "Content-Type": "text/event-stream" } });

// Outbound HTTP fails unless a test injects its own fetch: the providers must never reach the network here.
let globalFetch: MockInstance<typeof fetch>;
beforeEach(() => {
  globalFetch = vi.spyOn(globalThis, "fetch").mockImplementation(async () => {
    throw new Error("unexpected outbound fetch in a test");
  });
});
afterEach(() => {
  expect(globalFetch).not.toHaveBeenCalled();
  globalFetch.mockRestore();
});

async function expectNoLeak(p: Promise<unknown>, code: "upstream_error" | "upstream_timeout", status: number) {
  const e = await expectApiError(p, code, status);
  expect(e.message).not.toContain("sk-live");
  expect(e.message).not.toContain("Traceback");
  expect(JSON.stringify({ message: e.message, details: e.details })).not.toContain("10.0.0.7");
  return e;
}

describe("OpenAiCompatibleAnswerer", () => {
  const make = (
    fetch: (url: string, init: RequestInit) => Promise<Response>,
    extra: Partial<ConstructorParameters<typeof OpenAiCompatibleAnswerer>[0]> = {},
  ) =>
    new OpenAiCompatibleAnswerer({
      baseUrl: "https://llm.example.com/v1/",
      apiKey: "test-key",
      model: "gpt-4o-mini",
      timeoutMs: 2000,
      maxTokens: 256,
      fetch,
      ...extra,
    });

  it("POSTs the grounded chat to {baseUrl}/chat/completions and reads the message", async () => {
    const stub = fetchStub(() =>
      json({
        choices: [{ message: { role: "assistant", content: " Within 30 days of purchase [1]. " } }],
        usage: { prompt_tokens: 321, completion_tokens: 9 },
      }),
    );
    const r = await make(stub.fn).answer(req());
    expect(r).toEqual({
      answer: "Within 30 days of purchase [1].",
      citations: [1],
      model: "gpt-4o-mini",
      usage: { prompt_tokens: 321, completion_tokens: 9 },
    });
    const [call] = stub.requests;
    expect(call.url).toBe("https://llm.example.com/v1/chat/completions");
    expect(call.init.method).toBe("POST");
    expect(new Headers(call.init.headers).get("Authorization")).toBe("Bearer test-key");
    expect(call.body).toMatchObject({ model: "gpt-4o-mini", max_tokens: 256, stream: false });
    const messages = call.body.messages as { role: string; content: string }[];
    expect(messages[0].role).toBe("system");
    expect(messages.at(-1)?.content).toContain('<source n="2" document="shipping.md">');
    expect(call.init.signal).toBeInstanceOf(AbortSignal);
  });

  it("streams choices[0].delta.content from the SSE body, split at any byte", async () => {
    const events = [
      { choices: [{ delta: { role: "assistant" } }] },
      { choices: [{ delta: { content: "Within " } }] },
      { choices: [{ delta: { content: "30 días — " } }] },
      { choices: [{ delta: { content: "of purchase [1]." } }] },
      { choices: [{ delta: {}, finish_reason: "stop" }] },
    ];
    const body = `: keep-alive\r\n\r\n${events.map((e) => `data: ${JSON.stringify(e)}\r\n\r\n`).join("")}data: [DONE]\r\n\r\n`;
    for (const size of [1, 3, 7, 64]) {
      const stub = fetchStub(() => sse(body, size));
      const deltas = await collect(make(stub.fn).stream(req()));
      expect(deltas).toEqual(["Within ", "30 días — ", "of purchase [1]."]);
      expect(stub.requests[0].body.stream).toBe(true);
    }
  });

  it("maps an upstream 500 to 502 without its text, streaming or not", async () => {
    const stub = fetchStub(() => new Response(SECRET_UPSTREAM_TEXT, { status: 500 }));
    await expectNoLeak(make(stub.fn).answer(req()), "upstream_error", 502);
    await expectNoLeak(collect(make(stub.fn).stream(req())), "upstream_error", 502);
    const unauthorized = fetchStub(() => json({ error: { message: SECRET_UPSTREAM_TEXT } }, 401));
    await expectNoLeak(make(unauthorized.fn).answer(req()), "upstream_error", 502);
  });

  it("maps a 200 with bad JSON, or without a message, to 502", async () => {
    await expectNoLeak(
      make(fetchStub(() => new Response(`{"choices": [ ${SECRET_UPSTREAM_TEXT}`)).fn).answer(req()),
      "upstream_error",
      502,
    );
    await expectNoLeak(make(fetchStub(() => json({ choices: [] })).fn).answer(req()), "upstream_error", 502);
    await expectNoLeak(make(fetchStub(() => json({ choices: [{ message: { content: null } }] })).fn).answer(req()), "upstream_error", 502);
    await expectNoLeak(
      collect(make(fetchStub(() => sse(`data: {"oops": ${SECRET_UPSTREAM_TEXT}\n\n`)).fn).stream(req())),
      "upstream_error",
      502,
    );
    await expectNoLeak(
      collect(make(fetchStub(() => sse(`data: {"error": {"message": "${SECRET_UPSTREAM_TEXT}"}}\n\n`)).fn).stream(req())),
      "upstream_error",
      502,
    );
  });

  it("maps a network failure to 502", async () => {
    await expectNoLeak(
      make(async () => {
        throw new TypeError(`connect failed: ${SECRET_UPSTREAM_TEXT}`);
      }).answer(req()),
      "upstream_error",
      502,
    );
  });

  it("times out after timeoutMs with 504, and when a stream stalls", async () => {
    await expectNoLeak(make(hangingFetch, { timeoutMs: 50 }).answer(req()), "upstream_timeout", 504);
    const stalled = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode(`data: ${JSON.stringify({ choices: [{ delta: { content: "Partial" } }] })}\n\n`));
      },
    });
    const deltas: string[] = [];
    await expectNoLeak(
      (async () => {
        for await (const d of make(async () => new Response(stalled), { timeoutMs: 50 }).stream(req())) deltas.push(d);
      })(),
      "upstream_timeout",
      504,
    );
    expect(deltas).toEqual(["Partial"]);
  });

  it("passes a caller's abort through instead of reporting an upstream failure", async () => {
    const ctl = new AbortController();
    const p = make(hangingFetch, { timeoutMs: 5000 }).answer(req("q", { signal: ctl.signal }));
    ctl.abort(new Error("client went away"));
    const err = await p.catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(ApiError);
    expect(String(err)).toContain("client went away");
  });

  it("needs no upstream call without sources", async () => {
    const stub = fetchStub(() => json({}));
    expect((await make(stub.fn).answer(req("q", { sources: [] }))).answer).toBe(NO_ANSWER);
    expect(stub.requests).toHaveLength(0);
  });

  it("refuses a base URL that is not http(s)", () => {
    expect(() => make(hangingFetch, { baseUrl: "file:///etc/passwd" })).toThrow(expect.objectContaining({ code: "misconfigured" }));
  });
});

describe("ChatUrlAnswerer (the original's protocol)", () => {
  const URL_ = "https://answers.internal.example/query";
  const make = (fetch: (url: string, init: RequestInit) => Promise<Response>, timeoutMs = 2000) =>
    new ChatUrlAnswerer({ url: URL_, timeoutMs, fetch });

  it("POSTs {query, embeddings, document} to the configured URL and reads {answer}", async () => {
    const stub = fetchStub(() => json({ query: "When is a full refund possible?", answer: "Within 30 days [1]." }));
    const r = await make(stub.fn).answer(req());
    expect(r).toEqual({
      answer: "Within 30 days [1].",
      citations: [1],
      model: "upstream",
      usage: { prompt_tokens: 0, completion_tokens: 0 },
    });
    const [call] = stub.requests;
    expect(call.url).toBe(URL_);
    expect(call.init.method).toBe("POST");
    expect(call.body).toEqual({
      query: "When is a full refund possible?",
      embeddings: [],
      document: SOURCES.map((s) => ({ id: `${s.document_id}:${s.chunk}`, text: s.text })),
    });
  });

  it("streams the fetched answer in word groups", async () => {
    const answer = "Customers can request a full refund within 30 days of purchase, and refunds arrive in 5 business days [1].";
    const deltas = await collect(make(fetchStub(() => json({ answer })).fn).stream(req()));
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join("")).toBe(answer);
  });

  it("maps 500, bad JSON and a missing answer to 502, and a hang to 504, never leaking upstream text", async () => {
    await expectNoLeak(make(fetchStub(() => new Response(SECRET_UPSTREAM_TEXT, { status: 500 })).fn).answer(req()), "upstream_error", 502);
    await expectNoLeak(make(fetchStub(() => new Response(SECRET_UPSTREAM_TEXT)).fn).answer(req()), "upstream_error", 502);
    await expectNoLeak(make(fetchStub(() => json({ error: SECRET_UPSTREAM_TEXT })).fn).answer(req()), "upstream_error", 502);
    await expectNoLeak(make(hangingFetch, 50).answer(req()), "upstream_timeout", 504);
    await expectNoLeak(collect(make(hangingFetch, 50).stream(req())), "upstream_timeout", 504);
  });

  it("does not follow redirects (the configured URL is the only one called)", async () => {
    const stub = fetchStub(() => json({ answer: "ok" }));
    await make(stub.fn).answer(req());
    expect(stub.requests[0].init.redirect).toBe("manual");
    const redirected = fetchStub(() => new Response(null, { status: 302, headers: { Location: "http://169.254.169.254/" } }));
    await expectNoLeak(make(redirected.fn).answer(req()), "upstream_error", 502);
  });
});
