import type { Settings } from "../config";
import { type SearchHit, search } from "../retrieval/search";
import type { MetadataFilter } from "../retrieval/filter";
import type { Collection } from "../storage/collections";
import { selectProviders } from "./providers";
import { HISTORY } from "./tuning";
import { answerCacheFor, answerKey, type CacheOutcome } from "./answer-cache";
import type { AnswerProvider, AnswerResult } from "./answer/types";
import { answerSentences, buildClaims, dropUnsupported, type KnownSentence, type Quote } from "./claims";
import { type Claim, type PublicSource, passageOf, type SourcePassage } from "./source";
import { extractCitations, neutraliseMarkers } from "./answer/citations";

export { type PublicSource, sourceWithoutHeading } from "./source";

export interface ChatTurn {
  role: "user" | "assistant";
  content: string;
}

export interface ChatRequest {
  collection: Collection;
  query: string;
  history: ChatTurn[];
  topK: number;
  /** Caller's extra instructions (after the grounding rules) and retrieval filters (OpenAI chat completions). */
  instructions?: string;
  documentIds?: string[];
  filter?: MetadataFilter;
  /** Lowers (never raises) the answer's token limit, ANSWER_MAX_TOKENS. */
  maxTokens?: number;
  /** Remove sentences no source supports (default: the STRICT_GROUNDING setting). */
  strictGrounding?: boolean;
}

/** Search hits as an answer's numbered sources ([1] is the best hit). */
export function numberedSources(hits: SearchHit[]): PublicSource[] {
  return hits.map((h, i) => ({
    n: i + 1,
    document_id: h.document_id,
    document_name: h.document_name,
    chunk: h.ordinal,
    score: h.score,
    text: h.text,
    page: h.page,
    heading: h.heading,
    char_start: h.char_start ?? null,
  }));
}

export interface ChatAnswer {
  answer: string;
  sources: PublicSource[];
  citations: number[];
  /** The answer's sentences and the verified spans behind them (src/chat/claims). */
  claims: Claim[];
  model: string;
  usage: { prompt_tokens: number; completion_tokens: number };
  retrieval_query: string;
}

/** Prepared turn: the sources are retrieved, the provider chosen; answering may stream or not. */
export interface PreparedChat {
  provider: AnswerProvider;
  query: string;
  retrievalQuery: string;
  history: ChatTurn[];
  passages: SourcePassage[];
  sources: PublicSource[];
  instructions?: string;
  strictGrounding: boolean;
}

export async function prepareChat(env: Env, settings: Settings, req: ChatRequest): Promise<PreparedChat> {
  const provider = selectProviders(env, settings).answerer;
  // A follow-up ("and what about its price?") is rewritten into a standalone question when a
  // language model is available; the extractive provider instead searches with the recent context.
  let retrievalQuery = req.query;
  if (req.history.length > 0) {
    if (provider.rewriteQuery) {
      retrievalQuery = await provider.rewriteQuery(req.query, req.history.slice(-HISTORY.prompt));
    } else {
      const lastUser = [...req.history].reverse().find((t) => t.role === "user");
      if (lastUser && req.query.split(/\s+/).length < 8) retrievalQuery = `${req.query} ${lastUser.content}`;
    }
  }
  const hits = await search(env, req.collection, {
    query: retrievalQuery,
    topK: req.topK,
    mode: "hybrid",
    documentIds: req.documentIds,
    filter: req.filter,
  });
  const sources = numberedSources(hits);
  // Before any answerer sees a passage, its bracketed numbers stop looking like citations.
  const passages: SourcePassage[] = sources.map((s) => ({ ...passageOf(s), text: neutraliseMarkers(s.text) }));
  return {
    provider,
    query: req.query,
    retrievalQuery,
    history: req.history,
    passages,
    sources,
    instructions: req.instructions,
    strictGrounding: req.strictGrounding ?? settings.STRICT_GROUNDING,
  };
}

export async function answerPrepared(p: PreparedChat, settings: Settings, signal?: AbortSignal): Promise<ChatAnswer> {
  const result = await p.provider.answer({
    query: p.query,
    history: p.history,
    sources: p.passages,
    maxTokens: settings.ANSWER_MAX_TOKENS,
    instructions: p.instructions,
    signal,
  });
  return finishAnswer(p, result.answer, { model: result.model, usage: result.usage, sentences: result.sentences, quotes: result.quotes });
}

/**
 * The answer with its claims: every sentence's spans located and scored (citations shown only when
 * verified); with strict grounding, unsupported sentences removed. The citation list is read from
 * the markers the answerer itself wrote (passages' own bracketed numbers were neutralised before).
 */
export function finishAnswer(
  p: Pick<PreparedChat, "sources" | "retrievalQuery" | "strictGrounding">,
  text: string,
  meta: Pick<AnswerResult, "model" | "usage" | "sentences" | "quotes">,
): ChatAnswer {
  let answer = text;
  let claims = buildClaims(answer, p.sources, { known: meta.sentences, quotes: meta.quotes });
  if (p.strictGrounding) ({ answer, claims } = dropUnsupported(answer, claims));
  return {
    answer,
    sources: p.sources,
    citations: extractCitations(answer, p.sources.length),
    claims,
    model: meta.model,
    usage: meta.usage,
    retrieval_query: p.retrievalQuery,
  };
}

/** Wall time per phase of a turn, ms (the `Server-Timing` header; I/O waits only, as workerd's clock). */
export type TurnTimings = Partial<Record<"cache" | "guard" | "retrieve" | "answer", number>>;

async function timed<T>(t: TurnTimings | undefined, name: keyof TurnTimings, p: Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await p;
  } finally {
    if (t) t[name] = performance.now() - t0;
  }
}

export interface AnsweredTurn {
  answer: ChatAnswer;
  /** Which answer-cache tier answered (`X-Cache`). */
  cache: CacheOutcome;
}

/**
 * Answers one chat turn through the tiered answer cache: the entry point for /v1/chat, the
 * original's /api/chat and /v1/chat/completions. A first turn (no history) looks in the cache
 * before any retrieval, so a hit touches neither the collection's index object nor Vectorize nor
 * Workers AI; a miss retrieves, answers, and writes both tiers in `defer` (the request's
 * waitUntil). A follow-up depends on its history and bypasses the cache.
 */
export async function answerChatTurn(
  env: Env,
  settings: Settings,
  defer: (p: Promise<unknown>) => void,
  req: ChatRequest & { signal?: AbortSignal; tiers?: "both" | "global"; gate?: () => Promise<void>; timings?: TurnTimings },
): Promise<AnsweredTurn> {
  // `gate`: the key guard's verdict; the cache look-up runs before it, anything costly after.
  const gate = req.gate ?? (async () => undefined);
  const lowered = req.maxTokens !== undefined && req.maxTokens < settings.ANSWER_MAX_TOKENS;
  if (lowered) settings = { ...settings, ANSWER_MAX_TOKENS: req.maxTokens as number };
  if (req.history.length > 0) {
    await gate();
    const prepared = await prepareChat(env, settings, req);
    return { answer: await answerPrepared(prepared, settings, req.signal), cache: "BYPASS" };
  }
  const answerer = selectProviders(env, settings).answerer;
  const cache = answerCacheFor<ChatAnswer>(env, settings, { local: req.tiers !== "global", defer });
  // Instructions, filters and a lowered token limit change the answer: they join the key when given.
  const options = {
    top_k: req.topK,
    ...(req.instructions !== undefined ? { instructions: req.instructions } : {}),
    ...(req.documentIds !== undefined ? { document_ids: req.documentIds } : {}),
    ...(req.filter !== undefined ? { filter: req.filter } : {}),
    ...(lowered ? { max_tokens: settings.ANSWER_MAX_TOKENS } : {}),
    ...((req.strictGrounding ?? settings.STRICT_GROUNDING) ? { strict_grounding: true } : {}),
  };
  const key = await answerKey(req.collection, req.query, `${answerer.id}:${answerer.model}`, options);
  const verdict = gate();
  verdict.catch(() => undefined); // observed just below
  const hit = await timed(req.timings, "cache", cache.get(key, defer, verdict));
  await timed(req.timings, "guard", verdict);
  // An entry written before answers carried claims is a miss (it is overwritten below).
  if (hit && Array.isArray(hit.value.claims)) return { answer: hit.value, cache: hit.tier };
  const prepared = await timed(req.timings, "retrieve", prepareChat(env, settings, req));
  const answer = await timed(req.timings, "answer", answerPrepared(prepared, settings, req.signal));
  defer(cache.put(key, answer));
  return { answer, cache: "MISS" };
}

/**
 * Claims while an answer streams: `push` takes each delta and returns the claims of the sentences
 * it completed (a sentence is complete when the next one has begun); `end` returns the finished
 * answer and the claims not sent yet. An answerer that writes a quotes block (a language model)
 * has its claims at the end, once its quotes are known: a citation is never shown unverified.
 */
export class ClaimStream {
  private text = "";
  private sentUpTo = 0;
  private quotes: Quote[] = [];
  private sentences: KnownSentence[] | undefined;

  constructor(private readonly p: PreparedChat) {}

  /** Pass to the answerer's request: receives the model's quotes when its stream ends. */
  readonly onQuotes = (quotes: Quote[]) => {
    this.quotes = quotes;
  };

  /** Pass to the answerer's request: the sentences an answerer knows before it streams (extractive). */
  readonly onSentences = (sentences: KnownSentence[]) => {
    this.sentences = sentences;
  };

  push(delta: string): Claim[] {
    this.text += delta;
    if (this.p.provider.quotes) return [];
    // A known sentence is complete once the text reaches its end; otherwise once the next one has begun.
    const done = this.sentences
      ? this.sentences.filter((s) => s.start >= this.sentUpTo && s.end <= this.text.length)
      : answerSentences(this.text)
          .slice(0, -1)
          .filter((s) => s.start >= this.sentUpTo)
          .map((s) => ({ ...s, quotes: [] }));
    if (done.length === 0) return [];
    const claims = buildClaims(this.text, this.p.sources, { known: done });
    this.sentUpTo = done[done.length - 1].end;
    return claims;
  }

  end(meta: Pick<AnswerResult, "model" | "usage">): { answer: ChatAnswer; claims: Claim[] } {
    const answer = finishAnswer(this.p, this.text, { ...meta, quotes: this.quotes, sentences: this.sentences });
    // Strict grounding rewrites the answer: its claims are all sent again with `done`.
    const rest = answer.answer === this.text ? answer.claims.filter((c) => c.start >= this.sentUpTo) : answer.claims;
    return { answer, claims: rest };
  }
}
