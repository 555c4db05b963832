import type { AiBinding } from "../../cloudflare/bindings";
import { QuoteStripper, splitQuotes } from "../claims/quotes";
import { extractCitations } from "./citations";
import { cleanRewrite, groundedMessages, rewriteMessages } from "./prompt";
import { sseData } from "./streaming";
import { type AnswerProvider, type AnswerRequest, type AnswerResult, NO_ANSWER } from "./types";
import { answerFailure, Deadline, UpstreamProtocolError } from "./upstream";

/** The model id is configuration (a plain string), so `run` is called through its untyped overload. */
type RunUntyped = (model: string, inputs: Record<string, unknown>) => Promise<unknown>;

const DEFAULT_TIMEOUT_MS = 30_000;
const REWRITE_MAX_TOKENS = 96;

export interface WorkersAiAnswererOptions {
  /** Wait for the answer (non-streaming) or for each streamed chunk; 504 after it. */
  timeoutMs?: number;
}

/**
 * Grounded answers from a Workers AI text-generation model (`{messages, max_tokens}` in,
 * `{response, usage}` out; with `stream: true`, SSE events `data: {"response": "..."}` up to
 * `data: [DONE]`). Models that answer in the OpenAI shape (`choices[0]...`) are understood too.
 */
export class WorkersAiAnswerer implements AnswerProvider {
  readonly id = "workers-ai";
  readonly quotes = true;
  private readonly timeoutMs: number;

  constructor(
    private readonly ai: AiBinding,
    readonly model: string,
    private readonly maxTokens: number,
    opts: WorkersAiAnswererOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  private run(inputs: Record<string, unknown>): Promise<unknown> {
    // Called as a method, not via .call(): on an RPC stub (the test double) `run.call` would be
    // taken for a remote property.
    return (this.ai as unknown as { run: RunUntyped }).run(this.model, inputs);
  }

  private tokens(req: AnswerRequest): number {
    return Math.max(1, Math.min(req.maxTokens, this.maxTokens));
  }

  async answer(req: AnswerRequest): Promise<AnswerResult> {
    if (req.sources.length === 0)
      return { answer: NO_ANSWER, citations: [], model: this.model, usage: { prompt_tokens: 0, completion_tokens: 0 } };
    const deadline = new Deadline(this.timeoutMs, req.signal);
    try {
      const res = (await deadline.race(
        this.run({ messages: groundedMessages(req), max_tokens: this.tokens(req), temperature: 0.2 }),
      )) as Record<string, unknown>;
      const reply = textOf(res).trim();
      if (!reply) throw new UpstreamProtocolError("empty answer");
      const { answer, quotes } = splitQuotes(reply);
      const usage = (res?.usage ?? {}) as { prompt_tokens?: unknown; completion_tokens?: unknown };
      return {
        answer,
        citations: extractCitations(answer, req.sources.length),
        model: this.model,
        usage: { prompt_tokens: num(usage.prompt_tokens), completion_tokens: num(usage.completion_tokens) },
        ...(quotes.length ? { quotes } : {}),
      };
    } catch (err) {
      throw answerFailure("workers-ai", err, deadline, req.signal);
    } finally {
      deadline.stop();
    }
  }

  async *stream(req: AnswerRequest): AsyncIterable<string> {
    if (req.sources.length === 0) {
      yield NO_ANSWER;
      return;
    }
    const deadline = new Deadline(this.timeoutMs, req.signal);
    try {
      const body = await deadline.race(
        this.run({ messages: groundedMessages(req), max_tokens: this.tokens(req), temperature: 0.2, stream: true }),
      );
      if (!(body instanceof ReadableStream)) throw new UpstreamProtocolError("stream: true did not return a stream");
      let any = false;
      const strip = new QuoteStripper();
      for await (const payload of sseData(body as ReadableStream<Uint8Array>, deadline)) {
        const delta = deltaOf(payload);
        if (delta) {
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
      throw answerFailure("workers-ai", err, deadline, req.signal);
    } finally {
      deadline.stop();
    }
  }

  /** Best effort: any failure falls back to the original query (the answer call reports errors). */
  async rewriteQuery(query: string, history: AnswerRequest["history"]): Promise<string> {
    if (history.length === 0) return query;
    const deadline = new Deadline(this.timeoutMs);
    try {
      const res = (await deadline.race(
        this.run({ messages: rewriteMessages(query, history), max_tokens: REWRITE_MAX_TOKENS, temperature: 0 }),
      )) as Record<string, unknown>;
      return cleanRewrite(textOf(res), query);
    } catch (err) {
      console.warn(JSON.stringify({ upstream: "workers-ai", op: "rewrite", error: err instanceof Error ? err.message : String(err) }));
      return query;
    } finally {
      deadline.stop();
    }
  }
}

function num(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

function textOf(res: Record<string, unknown> | null | undefined): string {
  if (typeof res?.response === "string") return res.response;
  const content = (res?.choices as { message?: { content?: unknown } }[] | undefined)?.[0]?.message?.content;
  if (typeof content === "string") return content;
  throw new UpstreamProtocolError("no text in the model's response");
}

function deltaOf(payload: string): string {
  let event: Record<string, unknown>;
  try {
    event = JSON.parse(payload);
  } catch {
    throw new UpstreamProtocolError("unparsable stream event");
  }
  if (event?.error) throw new UpstreamProtocolError("error event in stream");
  if (typeof event?.response === "string") return event.response;
  const content = (event?.choices as { delta?: { content?: unknown } }[] | undefined)?.[0]?.delta?.content;
  return typeof content === "string" ? content : "";
}
