/**
 * Claims (issue 19): every answer sentence with the source spans behind it, verified by the server.
 * For every surface the invariant is the same: `source.text.slice(start, end) === quote` for every
 * citation, and `answer.slice(claim.start, claim.end) === claim.text` for every claim.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { connectMcp } from "../examples/mcp-client.mjs";
import { NO_ANSWER } from "../src/chat/answer/types";
import { buildClaims, dropUnsupported, locateQuote, supportScore } from "../src/chat/claims";
import { QuoteStripper, splitQuotes } from "../src/chat/claims/quotes";
import { ClaimStream, type PreparedChat } from "../src/chat/service";
import type { AnswerProvider } from "../src/chat/answer/types";
import { sseEvents } from "./sse";
import {
  BASE,
  body,
  call,
  cloudflareProviders,
  createCollection,
  type Json,
  master,
  startChat,
  tempKey,
  uploadTexts,
  waitForDocument,
} from "./helpers";

const HANDBOOK = [
  "# Staff handbook",
  "",
  "The Lisbon office opens at 9am and closes at 6pm on weekdays.[1] It is closed on Sundays.",
  "",
  "Travel expenses are reimbursed within 30 days of the claim [ 2 ]. Receipts must be kept for five years.",
  "",
  "The   company   was founded   in 1998 by Ana Costa in Porto.",
].join("\n");

const src = (n: number, text: string) => ({
  n,
  document_id: `d${n}`,
  document_name: `doc${n}.md`,
  chunk: 0,
  text,
  page: n === 2 ? 4 : null,
  char_start: n === 1 ? 100 : null,
});

/** The invariant of every claim list. */
function expectExact(answer: string, claims: Json[], sources: Json[]) {
  for (const claim of claims) {
    expect(answer.slice(claim.start, claim.end)).toBe(claim.text);
    for (const c of claim.citations) {
      const s = sources.find((x: Json) => x.n === c.source) as Json;
      expect(s.text.slice(c.start, c.end), JSON.stringify(c)).toBe(c.quote);
      expect(c.support).toBeGreaterThanOrEqual(0);
      expect(c.support).toBeLessThanOrEqual(1);
    }
  }
}

describe("locating quotes", () => {
  const text = "Refunds are paid\nwithin 14 days of the request.  Shipping is FREE for orders over 50 euros.";
  it("exact, then ignoring spacing and case, then most words in order; never an invented quote", () => {
    expect(locateQuote("paid\nwithin 14 days", text)).toMatchObject({ match: "exact" });
    const norm = locateQuote("refunds are paid within 14 days", text);
    expect(norm?.match).toBe("normalised");
    expect(text.slice(norm?.start, norm?.end)).toBe("Refunds are paid\nwithin 14 days");
    const fuzzy = locateQuote("shipping is free for all orders over 50 euros", text);
    expect(fuzzy?.match).toBe("fuzzy");
    expect(text.slice(fuzzy?.start, fuzzy?.end)).toBe("Shipping is FREE for orders over 50 euros");
    expect(locateQuote("the warranty covers accidental damage on the moon", text)).toBeNull();
    expect(locateQuote("days", text)).toBeNull(); // too short to prove anything
  });

  it("scores support by shared terms, and penalises a negation or a number the span does not hold", () => {
    const span = "Refunds are paid within 14 days of the request.";
    expect(supportScore("Refunds are paid within 14 days [1].", span)).toBe(1);
    expect(supportScore("Refunds are paid within 30 days [1].", span)).toBeLessThan(0.5);
    expect(supportScore("Refunds are not paid within 14 days.", span)).toBe(0.5);
    expect(supportScore("The moon is made of cheese.", span)).toBe(0);
  });
});

describe("claims from a language model's quotes", () => {
  const sources = [
    src(1, "Refunds are paid within 14 days of the request. Returns are free."),
    src(2, "The warehouse is in Rotterdam and ships worldwide."),
  ];
  it("keeps verified quotes, re-points one to the source that holds it, drops an invented one", () => {
    const answer = "Refunds take 14 days [1]. The warehouse is in Rotterdam [1].";
    const claims = buildClaims(answer, sources, {
      quotes: [
        { n: 1, quote: "paid within 14 days of the request" },
        { n: 1, quote: "the warranty covers accidental damage on the moon" },
        { n: 1, quote: "The warehouse is in Rotterdam" }, // in source 2, not 1
      ],
    });
    expectExact(answer, claims, sources);
    expect(claims).toHaveLength(2);
    expect(claims[0].citations[0]).toMatchObject({
      source: 1,
      quote: "paid within 14 days of the request",
      document_start: 100 + "Refunds are ".length,
    });
    expect(claims[0].supported).toBe(true);
    const second = claims[1].citations.map((c) => [c.source, c.quote]);
    expect(second).toContainEqual([2, "The warehouse is in Rotterdam"]);
    expect(claims[1].citations.find((c) => c.source === 2)?.page).toBe(4);
    expect(claims.flatMap((c) => c.citations).some((c) => c.quote.includes("moon"))).toBe(false);
  });

  it("strict grounding removes unsupported sentences; nothing left is the no-answer reply", () => {
    const answer = "Refunds are paid within 14 days [1]. The moon is made of cheese [2].";
    const claims = buildClaims(answer, sources);
    expect(claims.map((c) => c.supported)).toEqual([true, false]);
    const strict = dropUnsupported(answer, claims);
    expect(strict.answer).toBe("Refunds are paid within 14 days [1].");
    expectExact(strict.answer, strict.claims, sources);
    const none = dropUnsupported("The moon is made of cheese [2].", buildClaims("The moon is made of cheese [2].", sources));
    expect(none).toEqual({ answer: NO_ANSWER, claims: [] });
    expect(buildClaims(NO_ANSWER, sources)).toEqual([]);
  });

  it("parses the quotes block off the reply, also when streamed in pieces", () => {
    const reply = 'Refunds take 14 days [1].\nQuotes:\n[1] "paid within 14 days"\n- [2] “ships worldwide”';
    expect(splitQuotes(reply)).toEqual({
      answer: "Refunds take 14 days [1].",
      quotes: [
        { n: 1, quote: "paid within 14 days" },
        { n: 2, quote: "ships worldwide" },
      ],
    });
    for (const size of [1, 3, 7]) {
      const strip = new QuoteStripper();
      let shown = "";
      for (let i = 0; i < reply.length; i += size) shown += strip.push(reply.slice(i, i + size));
      shown += strip.end();
      expect(shown).toBe("Refunds take 14 days [1].");
      expect(strip.quotes).toHaveLength(2);
    }
  });
});

describe("streamed strict grounding (ClaimStream)", () => {
  const sources = [
    { ...src(1, "The Lisbon office opens at 9am and closes at 6pm on weekdays."), score: 1, heading: null },
    { ...src(2, "Receipts must be kept for five years."), score: 0.5, heading: null },
  ];
  // An answerer without a quotes block (as CHAT_URL's): its sentences are judged as they complete.
  const provider = { id: "test", model: "test" } as AnswerProvider;
  const prepared = (strictGrounding: boolean): PreparedChat => ({
    provider,
    query: "q",
    retrievalQuery: "q",
    history: [],
    passages: [],
    sources,
    strictGrounding,
  });
  const ANSWER =
    "The Lisbon office opens at 9am [1]. The office keeps a giraffe named Gerald [1]. Receipts must be kept for five years [2].";
  const pieces = (text: string) => text.match(/\S+\s*/g) ?? [];

  it("sends no sentence before its claim is judged, drops the unsupported one, and sends each claim with its sentence", () => {
    const stream = new ClaimStream(prepared(true));
    const steps: { sent: string; claims: Json[] }[] = [];
    let sent = "";
    for (const delta of pieces(ANSWER)) {
      const out = stream.push(delta);
      sent += out.text;
      steps.push({ sent: out.text, claims: out.claims });
      // Whatever was sent so far is exactly a run of judged, supported sentences.
      expect(ANSWER.startsWith(sent) || sent.startsWith("The Lisbon office opens at 9am [1].")).toBe(true);
      expect(sent).not.toMatch(/giraffe/);
    }
    const end = stream.end({ model: "test", usage: { prompt_tokens: 0, completion_tokens: 0 } });
    sent += end.text;
    expect(sent).toBe("The Lisbon office opens at 9am [1]. Receipts must be kept for five years [2].");
    expect(end.answer.answer).toBe(sent);
    expect(end.answer.citations).toEqual([1, 2]);
    // The first sentence goes out once the next has begun (it is complete), together with its claim.
    const first = steps.findIndex((s) => s.sent.length > 0);
    expect(steps[first].sent).toBe("The Lisbon office opens at 9am [1].");
    expect(steps[first].claims.map((c) => c.text)).toEqual(["The Lisbon office opens at 9am [1]."]);
    // No step sends text without its claims, or claims without their text.
    for (const s of [...steps, { sent: end.text, claims: end.claims }]) expect(s.sent.length > 0).toBe(s.claims.length > 0);
    const streamed = [...steps.flatMap((s) => s.claims), ...end.claims];
    expect(streamed).toEqual(end.answer.claims);
    expect(streamed.every((c) => c.supported)).toBe(true);
    expectExact(sent, streamed, sources);
  });

  it("an answer with nothing supported streams the no-answer reply and no claims", () => {
    const stream = new ClaimStream(prepared(true));
    let sent = "";
    for (const delta of pieces("The office keeps a giraffe named Gerald [1]. It eats hay at noon [2].")) sent += stream.push(delta).text;
    const end = stream.end({ model: "test", usage: { prompt_tokens: 0, completion_tokens: 0 } });
    sent += end.text;
    expect(sent).toBe(NO_ANSWER);
    expect(end.answer).toMatchObject({ answer: NO_ANSWER, claims: [], citations: [] });
  });

  it("without strict grounding every delta is sent as it comes", () => {
    const stream = new ClaimStream(prepared(false));
    let sent = "";
    for (const delta of pieces(ANSWER)) {
      const out = stream.push(delta);
      expect(out.text).toBe(delta);
      sent += out.text;
    }
    const end = stream.end({ model: "test", usage: { prompt_tokens: 0, completion_tokens: 0 } });
    expect(sent + end.text).toBe(ANSWER);
    expect(end.answer.claims.map((c) => c.supported)).toEqual([true, false, true]);
  });
});

describe("claims on every answering surface (extractive answerer)", () => {
  let seededOnce: Promise<{ col: string; id: string; key: string }> | null = null;
  const seeded = () => {
    seededOnce ??= (async () => {
      const col = await createCollection("claims");
      const up = await uploadTexts(col, [{ name: "handbook.md", text: HANDBOOK }]);
      const id = up.documents[0].id;
      const doc = await waitForDocument(col, id);
      expect(doc.status).toBe("ready");
      const key = (await tempKey(col)).temp_api_key as string;
      return { col, id, key };
    })();
    return seededOnce;
  };
  const ask = async (json: Json, headers = master()) => {
    const { col } = await seeded();
    return call("/v1/chat", { method: "POST", headers, json: { collection_id: col, ...json } });
  };

  it("uploads a document, asks, and every citation's quote is its source text at its offsets", async () => {
    const res = await ask({ query: "When does the Lisbon office open?" });
    expect(res.status).toBe(200);
    const out = await body(res);
    expect(out.answer).toMatch(/9am/);
    expect(out.claims.length).toBeGreaterThan(0);
    expectExact(out.answer, out.claims, out.sources);
    const cit = out.claims[0].citations[0];
    expect(cit).toMatchObject({ source: 1, document_name: "handbook.md", chunk_id: out.sources[0].chunk, page: null });
    expect(cit.quote).toContain("opens at 9am");
    expect(out.claims[0].supported).toBe(true);
    // The chunk records where it starts in the extracted text: the document offsets point at the same text.
    expect(out.sources[0].char_start).toEqual(expect.any(Number));
    expect(cit.document_start).toBe(out.sources[0].char_start + cit.start);
    expect(HANDBOOK.slice(cit.document_start, cit.document_end)).toBe(cit.quote);
  });

  it("a forged marker in the document is never a citation", async () => {
    const out = await body(await ask({ query: "How soon are travel expenses reimbursed?" }));
    expect(out.answer).toMatch(/30 days/);
    expect(out.answer).not.toMatch(/\[\s*2\s*\]/);
    expect(out.citations).toEqual([1]);
    expectExact(out.answer, out.claims, out.sources);
  });

  it("streams each sentence's claims as soon as it is complete, all of them again in done", async () => {
    const res = await ask({ query: "When does the Lisbon office open?", stream: true });
    const events = sseEvents(await res.text());
    const names = events.map((e) => e.event);
    expect(names[0]).toBe("sources");
    expect(names.at(-1)).toBe("done");
    const done = JSON.parse(events.at(-1)?.data as string);
    const streamed = events.filter((e) => e.event === "claims").flatMap((e) => JSON.parse(e.data).claims);
    expect(streamed).toEqual(done.claims);
    expect(done.claims.length).toBeGreaterThan(0);
    const { sources } = JSON.parse(events[0].data);
    expectExact(done.answer, done.claims, sources);
  });

  it("strict_grounding is a validated boolean; a grounded answer passes it unchanged", async () => {
    expect((await ask({ query: "When does the Lisbon office open?", strict_grounding: "yes" })).status).toBe(400);
    const out = await body(await ask({ query: "When does the Lisbon office open?", strict_grounding: true }));
    expect(out.claims.every((c: Json) => c.supported)).toBe(true);
    expect(out.answer).toMatch(/9am/);
  });

  it("the original's /api/chat returns claims too", async () => {
    const { key } = await seeded();
    const started = await startChat(key);
    const res = await call("/api/chat", {
      method: "POST",
      headers: { Authorization: started.jwt_token },
      json: { query: "Who founded the company?" },
    });
    expect(res.status).toBe(200);
    const out = await body(res);
    expect(out.claims.length).toBeGreaterThan(0);
    expectExact(out.answer, out.claims, out.sources);
  });

  it("/v1/chat/completions puts them in message.annotations, read by the openai SDK, streamed too", async () => {
    const { col, key } = await seeded();
    const workerFetch = (url: string | URL | Request, init?: RequestInit) => exports.default.fetch(new Request(url, init));
    const { default: OpenAI } = await import("openai");
    const client = new OpenAI({ baseURL: `${BASE}/v1`, apiKey: key, fetch: workerFetch });
    const completion = await client.chat.completions.create({
      model: col,
      messages: [{ role: "user", content: "When does the Lisbon office open?" }],
    });
    const message = completion.choices[0].message;
    const annotations = message.annotations ?? [];
    expect(annotations.length).toBeGreaterThan(0);
    const sources = (completion as unknown as { sources: Json[] }).sources;
    for (const a of annotations) {
      expect(a.type).toBe("url_citation");
      const c = a.url_citation as unknown as Json;
      expect((message.content as string).slice(c.start_index, c.end_index)).toMatch(/\[1\]/);
      expect(sources[c.source - 1].text.slice(c.start, c.end)).toBe(c.quote);
      expect(c.title).toBe("handbook.md");
      expect(c.url).toContain(`/v1/collections/${col}/documents/`);
    }
    const stream = await client.chat.completions.create({
      model: col,
      stream: true,
      messages: [{ role: "user", content: "When does the Lisbon office open?" }],
    });
    let text = "";
    const streamed: Json[] = [];
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as Json | undefined;
      text += delta?.content ?? "";
      streamed.push(...(delta?.annotations ?? []));
    }
    expect(text).toBe(message.content);
    expect(streamed.map((a) => a.url_citation.quote)).toEqual(annotations.map((a) => (a.url_citation as unknown as Json).quote));
  });

  it("MCP ask returns the claims in its structured output (MCP SDK client)", async () => {
    const { key } = await seeded();
    const workerFetch = (url: string | URL | Request, init?: RequestInit) => exports.default.fetch(new Request(url, init));
    const client = await connectMcp(BASE, key, workerFetch);
    try {
      const result = await client.callTool({ name: "ask", arguments: { question: "When does the Lisbon office open?" } });
      const out = result.structuredContent as Json;
      expect(out.claims.length).toBeGreaterThan(0);
      expectExact(out.answer, out.claims, out.sources);
    } finally {
      await client.close();
    }
  });
});

describe("claims with a language model (the Workers AI double writes right, invented and misattributed quotes)", () => {
  it("shows only verified citations, never the invented quote, and no quotes block in the answer", async () => {
    const providers = cloudflareProviders();
    const created = await body(
      await call("/v1/collections", { method: "POST", headers: master(), json: { name: "cf-claims" } }, providers.env),
    );
    const docs = [
      { name: "hours.md", text: "The Lisbon office opens at 9am and closes at 6pm on weekdays." },
      { name: "travel.md", text: "Travel expenses are reimbursed within 30 days of the claim." },
    ];
    await call(`/v1/collections/${created.id}/documents`, { method: "POST", headers: master(), json: { documents: docs } }, providers.env);
    await providers.ingest();
    for (const stream of [false, true]) {
      const res = await call(
        "/v1/chat",
        { method: "POST", headers: master(), json: { query: "When does the Lisbon office open?", collection_id: created.id, stream } },
        providers.env,
      );
      expect(res.status).toBe(200);
      let out: Json;
      let sources: Json[];
      if (stream) {
        const events = sseEvents(await res.text());
        out = JSON.parse(events.at(-1)?.data as string);
        sources = JSON.parse(events[0].data).sources;
        expect(events.map((e) => e.event).join(",")).not.toMatch(/delta.*claims.*delta/); // a model's claims come after its text
        expect(
          events
            .filter((e) => e.event === "delta")
            .map((e) => JSON.parse(e.data).text)
            .join(""),
        ).toBe(out.answer);
      } else {
        out = await body(res);
        sources = out.sources;
      }
      expect(out.answer).toMatch(/9am/);
      expect(out.answer).not.toMatch(/Quotes:/);
      expectExact(out.answer, out.claims, sources);
      const quotes = out.claims.flatMap((c: Json) => c.citations.map((x: Json) => x.quote));
      expect(quotes.length).toBeGreaterThan(0);
      expect(quotes.some((q: string) => q.includes("moon"))).toBe(false);
    }
  });
});

describe("streamed strict grounding with a language model (the Workers AI double's __invent__ / __ungrounded__)", () => {
  it("/v1/chat and streamed /v1/chat/completions never send the invented sentence; nothing grounded → the no-answer reply", async () => {
    const providers = cloudflareProviders();
    const created = await body(
      await call("/v1/collections", { method: "POST", headers: master(), json: { name: "cf-strict" } }, providers.env),
    );
    const docs = [{ name: "hours.md", text: "The Lisbon office opens at 9am and closes at 6pm on weekdays." }];
    await call(`/v1/collections/${created.id}/documents`, { method: "POST", headers: master(), json: { documents: docs } }, providers.env);
    await providers.ingest();
    const chat = async (query: string, stream: boolean) =>
      call(
        "/v1/chat",
        { method: "POST", headers: master(), json: { query, collection_id: created.id, stream, strict_grounding: true } },
        providers.env,
      );

    // Without strict grounding the double's invented sentence is there (the trigger works).
    const loose = await body(
      await call(
        "/v1/chat",
        { method: "POST", headers: master(), json: { query: "When does the Lisbon office open? __invent__", collection_id: created.id } },
        providers.env,
      ),
    );
    expect(loose.answer).toMatch(/giraffe/);
    expect(loose.claims.some((c: Json) => !c.supported)).toBe(true);

    const whole = await body(await chat("When does the Lisbon office open? __invent__", false));
    expect(whole.answer).toMatch(/9am/);
    expect(whole.answer).not.toMatch(/giraffe/);

    const events = sseEvents(await (await chat("When does the Lisbon office open? __invent__", true)).text());
    const sent = events
      .filter((e) => e.event === "delta")
      .map((e) => JSON.parse(e.data).text)
      .join("");
    const done = JSON.parse(events.at(-1)?.data as string);
    expect(sent).not.toMatch(/giraffe/);
    expect(sent).toBe(done.answer);
    expect(done.answer).toBe(whole.answer);
    expect(done.claims.every((c: Json) => c.supported)).toBe(true);
    const streamed = events.filter((e) => e.event === "claims").flatMap((e) => JSON.parse(e.data).claims);
    expect(streamed).toEqual(done.claims);
    expectExact(done.answer, done.claims, JSON.parse(events[0].data).sources);

    const none = sseEvents(await (await chat("When does the Lisbon office open? __ungrounded__", true)).text());
    const noneText = none
      .filter((e) => e.event === "delta")
      .map((e) => JSON.parse(e.data).text)
      .join("");
    expect(noneText).toBe(NO_ANSWER);
    expect(JSON.parse(none.at(-1)?.data as string)).toMatchObject({ answer: NO_ANSWER, claims: [] });

    // Streamed completions: the same text, and annotations only for sent sentences.
    const res = await call(
      "/v1/chat/completions",
      {
        method: "POST",
        headers: master(),
        json: {
          model: created.id,
          stream: true,
          strict_grounding: true,
          messages: [{ role: "user", content: "When does the Lisbon office open? __invent__" }],
        },
      },
      providers.env,
    );
    const frames = sseEvents(await res.text())
      .map((e) => e.data)
      .filter((d) => d !== "[DONE]")
      .map((d) => JSON.parse(d));
    const content = frames.map((f) => f.choices?.[0]?.delta?.content ?? "").join("");
    const annotations = frames.flatMap((f) => f.choices?.[0]?.delta?.annotations ?? []);
    expect(content).toBe(whole.answer);
    expect(annotations.length).toBeGreaterThan(0);
    for (const a of annotations) expect(content.slice(a.url_citation.start_index, a.url_citation.end_index)).not.toMatch(/giraffe/);
  });
});
