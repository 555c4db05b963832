import type { Settings } from "../config";
import { type SearchHit, search } from "../retrieval/search";
import type { MetadataFilter } from "../retrieval/filter";
import type { Collection } from "../storage/collections";
import { selectProviders } from "./providers";
import { HISTORY } from "./tuning";
import { answerCacheFor, answerKey, type CacheOutcome } from "./answer-cache";
import type { AnswerProvider } from "./answer/types";
import { type PublicSource, passageOf, type SourcePassage } from "./source";
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
  return { provider, query: req.query, retrievalQuery, history: req.history, passages, sources, instructions: req.instructions };
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
  return {
    answer: result.answer,
    sources: p.sources,
    citations: result.citations.length ? result.citations : extractCitations(result.answer, p.sources.length),
    model: result.model,
    usage: result.usage,
    retrieval_query: p.retrievalQuery,
  };
}

export interface AnsweredTurn {
  answer: ChatAnswer;
  /** Which answer-cache tier answered (`X-Cache`). */
  cache: CacheOutcome;
}

/**
 * Answers one chat turn through the two-tier answer cache: the entry point for /v1/chat, the
 * original's /api/chat and /v1/chat/completions. A first turn (no history) looks in the cache
 * before any retrieval, so a hit touches neither the collection's index object nor Vectorize nor
 * Workers AI; a miss retrieves, answers, and writes both tiers in `defer` (the request's
 * waitUntil). A follow-up depends on its history and bypasses the cache.
 */
export async function answerChatTurn(
  env: Env,
  settings: Settings,
  defer: (p: Promise<unknown>) => void,
  req: ChatRequest & { signal?: AbortSignal; tiers?: "both" | "global" },
): Promise<AnsweredTurn> {
  const lowered = req.maxTokens !== undefined && req.maxTokens < settings.ANSWER_MAX_TOKENS;
  if (lowered) settings = { ...settings, ANSWER_MAX_TOKENS: req.maxTokens as number };
  if (req.history.length > 0) {
    const prepared = await prepareChat(env, settings, req);
    return { answer: await answerPrepared(prepared, settings, req.signal), cache: "BYPASS" };
  }
  const answerer = selectProviders(env, settings).answerer;
  const cache = answerCacheFor<ChatAnswer>(env, settings, { local: req.tiers !== "global" });
  // Instructions, filters and a lowered token limit change the answer: they join the key when given.
  const options = {
    top_k: req.topK,
    ...(req.instructions !== undefined ? { instructions: req.instructions } : {}),
    ...(req.documentIds !== undefined ? { document_ids: req.documentIds } : {}),
    ...(req.filter !== undefined ? { filter: req.filter } : {}),
    ...(lowered ? { max_tokens: settings.ANSWER_MAX_TOKENS } : {}),
  };
  const key = await answerKey(req.collection, req.query, `${answerer.id}:${answerer.model}`, options);
  const hit = await cache.get(key, defer);
  if (hit) return { answer: hit.value, cache: hit.tier };
  const prepared = await prepareChat(env, settings, req);
  const answer = await answerPrepared(prepared, settings, req.signal);
  defer(cache.put(key, answer));
  return { answer, cache: "MISS" };
}
