import type { KnownSentence, Quote } from "../claims";
import type { SourcePassage } from "../source";

export type { SourcePassage } from "../source";

export interface AnswerRequest {
  query: string;
  history: { role: "user" | "assistant"; content: string }[];
  sources: SourcePassage[];
  maxTokens: number;
  /** The caller's own instructions (an OpenAI `system` message): added after the grounding rules, never replacing them. */
  instructions?: string;
  /** Aborts the provider's upstream call (for example when the client goes away). */
  signal?: AbortSignal;
  /** Streaming: receives the model's quotes (parsed off its reply) when the stream ends. */
  onQuotes?: (quotes: Quote[]) => void;
  /** Streaming: receives the answer's sentences and their quotes before the first delta, when the answerer knows them (extractive). */
  onSentences?: (sentences: KnownSentence[]) => void;
}

export interface AnswerResult {
  answer: string;
  /** Source numbers cited in `answer`, ascending, each in 1..sources.length. */
  citations: number[];
  model: string;
  /** As reported by the provider; 0 when it reports nothing (or runs locally). */
  usage: { prompt_tokens: number; completion_tokens: number };
  /** The answer's sentences with the statements they quote, when the answerer knows them (extractive). */
  sentences?: KnownSentence[];
  /** Verbatim quotes a language model gave for its sources (parsed off its reply; never shown unverified). */
  quotes?: Quote[];
}

export interface AnswerProvider {
  /** "extractive" | "workers-ai" | "openai" | "chat-url". */
  readonly id: string;
  readonly model: string;
  /** True when it writes a quotes block after its answer (language models): streamed claims wait for it. */
  readonly quotes?: boolean;
  answer(req: AnswerRequest): Promise<AnswerResult>;
  /** Text deltas; their concatenation is the answer. Failures throw ApiError (502/504). */
  stream(req: AnswerRequest): AsyncIterable<string>;
  /** Turns a follow-up into a standalone question; falls back to `query` when it cannot. */
  rewriteQuery?(query: string, history: AnswerRequest["history"]): Promise<string>;
}

/**
 * The answer every provider gives when the sources do not answer the question. Language models
 * are told to reply with exactly this sentence, so callers can recognise it with `isNoAnswer`.
 */
export const NO_ANSWER = "I couldn't find an answer to that in the provided documents.";

/** True when `answer` is the no-answer sentence (ignoring case, quotes, curly apostrophes and spacing). */
export function isNoAnswer(answer: string): boolean {
  const norm = (s: string) =>
    s
      .toLowerCase()
      .replace(/[\u2018\u2019]/g, "'")
      .replace(/["\u201c\u201d*_`]/g, "")
      .replace(/\s+/g, " ")
      .trim()
      .replace(/[.!]+$/, "");
  return norm(answer) === norm(NO_ANSWER);
}
