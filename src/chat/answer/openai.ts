import { QuoteStripper, splitQuotes } from "../claims/quotes";
import { extractCitations } from "./citations";
import { groundedMessages } from "./prompt";
import { sseData } from "./streaming";
import { type AnswerProvider, type AnswerRequest, type AnswerResult, NO_ANSWER } from "./types";
import {
  answerFailure,
  checkUpstreamUrl,
  Deadline,
  type FetchFn,
  globalFetch,
  UpstreamProtocolError,
  UpstreamStatusError,
} from "./upstream";

export interface OpenAiCompatibleOptions {
  /** Operator-configured base URL (`OPENAI_BASE_URL`), e.g. `https://api.openai.com/v1`. Never from a client. */
  baseUrl: string;
  apiKey: string;
  model: string;
  timeoutMs: number;
  /** Upper bound on `max_tokens`; a request may ask for fewer. */
  maxTokens?: number;
  /** Injectable for tests; defaults to the global fetch. */
  fetch?: FetchFn;
}

/**
 * Any `/chat/completions` endpoint in the OpenAI shape (OpenAI, Azure-style gateways, vLLM,
 * Ollama, LiteLLM, Workers AI's own OpenAI endpoint...). Streaming reads `choices[0].delta.content`
 * from the SSE body. Sends `max_tokens` (understood by every compatible server) and no sampling
 * parameters, which some reasoning models reject.
 */
export class OpenAiCompatibleAnswerer implements AnswerProvider {
  readonly id = "openai";
  readonly quotes = true;
  readonly model: string;
  private readonly url: string;
  private readonly fetchFn: FetchFn;

  constructor(private readonly opts: OpenAiCompatibleOptions) {
    const base = checkUpstreamUrl(opts.baseUrl, "OPENAI_BASE_URL");
    this.url = `${base.href.replace(/\/+$/, "")}/chat/completions`;
    this.model = opts.model;
    this.fetchFn = opts.fetch ?? globalFetch;
  }

  private request(req: AnswerRequest, stream: boolean, signal: AbortSignal): Promise<Response> {
    const maxTokens = Math.max(1, Math.min(req.maxTokens, this.opts.maxTokens ?? req.maxTokens));
    return this.fetchFn(this.url, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${this.opts.apiKey}`,
        "Content-Type": "application/json",
        Accept: stream ? "text/event-stream" : "application/json",
      },
      body: JSON.stringify({ model: this.model, messages: groundedMessages(req), max_tokens: maxTokens, stream }),
      signal,
      redirect: "manual",
    });
  }

  async answer(req: AnswerRequest): Promise<AnswerResult> {
    if (req.sources.length === 0)
      return { answer: NO_ANSWER, citations: [], model: this.model, usage: { prompt_tokens: 0, completion_tokens: 0 } };
    const deadline = new Deadline(this.opts.timeoutMs, req.signal);
    try {
      const res = await deadline.race(this.request(req, false, deadline.signal));
      if (!res.ok) {
        await res.body?.cancel().catch(() => {});
        throw new UpstreamStatusError(res.status);
      }
      const body = (await deadline.race(res.json())) as {
        choices?: { message?: { content?: unknown } }[];
        usage?: { prompt_tokens?: unknown; completion_tokens?: unknown };
      };
      const content = body?.choices?.[0]?.message?.content;
      if (typeof content !== "string" || !content.trim()) throw new UpstreamProtocolError("no message content");
      const { answer, quotes } = splitQuotes(content.trim());
      return {
        answer,
        citations: extractCitations(answer, req.sources.length),
        model: this.model,
        usage: { prompt_tokens: num(body.usage?.prompt_tokens), completion_tokens: num(body.usage?.completion_tokens) },
        ...(quotes.length ? { quotes } : {}),
      };
    } catch (err) {
      throw answerFailure("openai", err, deadline, req.signal);
    } finally {
      deadline.stop();
    }
  }

  async *stream(req: AnswerRequest): AsyncIterable<string> {
    if (req.sources.length === 0) {
      yield NO_ANSWER;
      return;
    }
    const deadline = new Deadline(this.opts.timeoutMs, req.signal);
    try {
      const res = await deadline.race(this.request(req, true, deadline.signal));
      if (!res.ok || !res.body) {
        await res.body?.cancel().catch(() => {});
        throw new UpstreamStatusError(res.status);
      }
      let any = false;
      const strip = new QuoteStripper();
      for await (const payload of sseData(res.body, deadline)) {
        let event: { choices?: { delta?: { content?: unknown } }[]; error?: unknown };
        try {
          event = JSON.parse(payload);
        } catch {
          throw new UpstreamProtocolError("unparsable stream event");
        }
        if (event?.error) throw new UpstreamProtocolError("error event in stream");
        const delta = event?.choices?.[0]?.delta?.content;
        if (typeof delta === "string" && delta) {
          any = true;
          const shown = strip.push(delta);
          if (shown) yield shown;
        }
      }
      if (!any) throw new UpstreamProtocolError("empty stream");
      const rest = strip.end();
      if (rest) yield rest;
      req.onQuotes?.(strip.quotes);
    } catch (err) {
      throw answerFailure("openai", err, deadline, req.signal);
    } finally {
      deadline.stop();
    }
  }
}

function num(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}
