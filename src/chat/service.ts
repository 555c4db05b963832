import { sha256Hex } from "../auth/crypto";
import type { Settings } from "../config";
import { search } from "../retrieval/search";
import type { MetadataFilter } from "../retrieval/filter";
import type { Collection } from "../storage/collections";
import { selectAnswerer } from "./answer";
import type { AnswerProvider, SourcePassage } from "./answer/types";
import { extractCitations } from "./answer/citations";

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
  metadata?: MetadataFilter;
}

export interface PublicSource {
  n: number;
  document_id: string;
  document_name: string;
  chunk: number;
  score: number;
  text: string;
  page: number | null;
  heading: string | null;
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
  const provider = selectAnswerer(env, settings);
  // A follow-up ("and what about its price?") is rewritten into a standalone question when a
  // language model is available; the extractive provider instead searches with the recent context.
  let retrievalQuery = req.query;
  if (req.history.length > 0) {
    if (provider.rewriteQuery) {
      retrievalQuery = await provider.rewriteQuery(req.query, req.history.slice(-6));
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
    metadata: req.metadata,
  });
  const sources: PublicSource[] = hits.map((h, i) => ({
    n: i + 1,
    document_id: h.document_id,
    document_name: h.document_name,
    chunk: h.ordinal,
    score: h.score,
    text: h.text,
    page: h.page,
    heading: h.heading,
  }));
  const passages: SourcePassage[] = sources.map((s) => ({
    n: s.n,
    document_id: s.document_id,
    document_name: s.document_name,
    chunk: s.chunk,
    text: s.text,
    score: s.score,
  }));
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

/**
 * Cache key of a first-turn answer: collection version (any upload, delete or re-index bumps it),
 * normalised query, model and options. A synthetic URL, never fetched.
 */
export async function answerCacheKey(
  collection: Collection,
  query: string,
  model: string,
  topK: number,
  extra?: unknown,
): Promise<Request> {
  const normalised = query.normalize("NFKC").toLowerCase().replace(/\s+/g, " ").trim();
  // `extra` (instructions, filters) joins the key only when given, so plain turns keep their keys.
  const digest = await sha256Hex(JSON.stringify(extra === undefined ? [normalised, model, topK] : [normalised, model, topK, extra]));
  return new Request(`https://answer-cache.invalid/${collection.id}/v${collection.version}/${digest}`);
}
