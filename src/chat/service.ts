import type { Settings } from "../config";
import { type SearchHit, type SearchTimings, search } from "../retrieval/search";
import type { MetadataFilter } from "../retrieval/filter";
import type { Collection } from "../storage/collections";
import { selectProviders } from "./providers";
import { HISTORY } from "./tuning";
import { answerCacheFor, answerKey, type CacheOutcome } from "./answer-cache";
import { type AnswerProvider, type AnswerResult, isNoAnswer, NO_ANSWER } from "./answer/types";
import { answerSentences, buildClaims, dropUnsupported, type KnownSentence, type Quote } from "./claims";
import { type Claim, type PublicSource, passageOf, type SourcePassage } from "./source";
import { extractCitations, neutraliseMarkers } from "./answer/citations";
import { yieldNow } from "../util/yield";

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

/** Each answer's JSON without its last field and closing brace, made once (`answerJsonOpen`). */
const OPEN_JSON = new WeakMap<ChatAnswer, string>();

/**
 * `{"answer":…,"sources":…,"citations":…,"claims":…,"model":…,"usage":…` (no closing brace),
 * serialised once per answer: the `/v1/chat` response and the answer cache's entry both end it with
 * their own last field, so a miss serialises its sources and claims once, not twice.
 */
function answerJsonOpen(a: ChatAnswer): string {
  let open = OPEN_JSON.get(a);
  if (open === undefined) {
    const json = JSON.stringify({
      answer: a.answer,
      sources: a.sources,
      citations: a.citations,
      claims: a.claims,
      model: a.model,
      usage: a.usage,
    });
    open = json.slice(0, -1);
    OPEN_JSON.set(a, open);
  }
  return open;
}

/** The answer cache's entry: the answer with its retrieval query (as `JSON.stringify(answer)`, fields in the same order). */
export function chatAnswerJson(a: ChatAnswer): string {
  return `${answerJsonOpen(a)},"retrieval_query":${JSON.stringify(a.retrieval_query)}}`;
}

/** The `/v1/chat` JSON response body: the answer's fields, then `session_id`. */
export function chatResponseJson(a: ChatAnswer, sessionId: string | null): string {
  return `${answerJsonOpen(a)},"session_id":${JSON.stringify(sessionId)}}`;
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

export async function prepareChat(env: Env, settings: Settings, req: ChatRequest, timings?: SearchTimings): Promise<PreparedChat> {
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
  const hits = await search(
    env,
    req.collection,
    {
      query: retrievalQuery,
      topK: req.topK,
      mode: "hybrid",
      documentIds: req.documentIds,
      filter: req.filter,
      // Only the extractive answerer reads them: a language model's turn does not carry them.
      statements: provider.id === "extractive",
    },
    timings,
  );
  const sources = numberedSources(hits);
  // Before any answerer sees a passage, its bracketed numbers stop looking like citations. The
  // statements stored at ingest ride along to the answerer only (never in a response).
  const passages: SourcePassage[] = sources.map((s, i) => ({
    ...passageOf(s),
    text: neutraliseMarkers(s.text),
    statements: hits[i].statements ?? null,
  }));
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

/**
 * Wall time per awaited step of a turn, ms (the `Server-Timing` header). workerd's clock stands
 * still while JavaScript runs and moves on I/O, so these are the waits (a step's own I/O plus any
 * time its continuation queued for the isolate), never CPU: bench/profile-chat.mjs shows the CPU.
 * `collection`/`session`: the route's look-ups; `key`: the cache key's digest; `cache`: the answer
 * cache's tiers; `guard`: the further wait for the key guard's verdict; `embed`/`index`: retrieval's
 * query embedding and index-object calls (`retrieve` is the whole of retrieval); `answer`: the answerer.
 */
export type TurnTimings = Partial<
  Record<"session" | "collection" | "key" | "cache" | "guard" | "retrieve" | "embed" | "vectorize" | "index" | "answer", number>
>;

async function timed<T>(t: TurnTimings | undefined, name: keyof TurnTimings, p: Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await p;
  } finally {
    if (t) t[name] = performance.now() - t0;
  }
}

/** Retrieval with its inner steps (embedding, Vectorize, index calls) recorded beside the turn's. */
async function retrieve(env: Env, settings: Settings, req: ChatRequest, t: TurnTimings | undefined): Promise<PreparedChat> {
  const inner: SearchTimings = {};
  try {
    return await timed(t, "retrieve", prepareChat(env, settings, req, inner));
  } finally {
    if (t) for (const name of ["embed", "vectorize", "index"] as const) if (inner[name] !== undefined) t[name] = inner[name];
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
 * Workers AI; a miss retrieves, answers, and writes the cache in `defer` (the request's
 * waitUntil; KV only once a question comes back, answer-cache.ts). A follow-up depends on its
 * history and bypasses the cache.
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
    await timed(req.timings, "guard", gate());
    const prepared = await retrieve(env, settings, req, req.timings);
    return { answer: await timed(req.timings, "answer", answerPrepared(prepared, settings, req.signal)), cache: "BYPASS" };
  }
  const answerer = selectProviders(env, settings).answerer;
  // A language model's answer is costly to make again in another data centre: KV on its first miss.
  // The extractive answerer's is a search and a few ms of CPU: KV only once the question comes back.
  const cache = answerCacheFor<ChatAnswer>(env, settings, {
    local: req.tiers !== "global",
    defer,
    globalOnMiss: answerer.id !== "extractive",
  });
  // Instructions, filters and a lowered token limit change the answer: they join the key when given.
  const options = {
    top_k: req.topK,
    ...(req.instructions !== undefined ? { instructions: req.instructions } : {}),
    ...(req.documentIds !== undefined ? { document_ids: req.documentIds } : {}),
    ...(req.filter !== undefined ? { filter: req.filter } : {}),
    ...(lowered ? { max_tokens: settings.ANSWER_MAX_TOKENS } : {}),
    ...((req.strictGrounding ?? settings.STRICT_GROUNDING) ? { strict_grounding: true } : {}),
  };
  const key = await timed(req.timings, "key", answerKey(req.collection, req.query, `${answerer.id}:${answerer.model}`, options));
  const verdict = gate();
  verdict.catch(() => undefined); // observed just below
  const hit = await timed(req.timings, "cache", cache.get(key, defer, verdict));
  await timed(req.timings, "guard", verdict);
  // An entry written before answers carried claims is a miss (it is overwritten below).
  if (hit && Array.isArray(hit.value.claims)) return { answer: hit.value, cache: hit.tier };
  const prepared = await retrieve(env, settings, req, req.timings);
  const answer = await timed(req.timings, "answer", answerPrepared(prepared, settings, req.signal));
  // The write waits for a macrotask turn: serialising the answer and handing it to the caches is
  // CPU on the isolate's one thread that no response waits for, so the response goes out first.
  defer(yieldNow().then(() => cache.put(key, answer, chatAnswerJson(answer))));
  return { answer, cache: "MISS" };
}

/**
 * Claims while an answer streams: `push` takes each delta and returns the text to send now and the
 * claims of the sentences it completed (a sentence is complete when the next one has begun); `end`
 * returns the finished answer, the text not sent yet and the claims not sent yet. An answerer that
 * writes a quotes block (a language model) has its claims at the end, once its quotes are known: a
 * citation is never shown unverified.
 *
 * With strict grounding no sentence is sent before its claim is judged: the text is held back per
 * sentence, a supported sentence is sent with its claim, an unsupported one is dropped, and an
 * answer left with nothing becomes the no-answer reply. Claims then index the text as sent. A
 * language model's sentences are judged once its quotes are known, at the end of its stream.
 */
export class ClaimStream {
  private text = "";
  private sentUpTo = 0;
  private quotes: Quote[] = [];
  private sentences: KnownSentence[] | undefined;
  /** Strict grounding: the answer as sent so far, and the claims of its sentences (indexing it). */
  private emitted = "";
  private kept: Claim[] = [];

  constructor(private readonly p: PreparedChat) {}

  /** Pass to the answerer's request: receives the model's quotes when its stream ends. */
  readonly onQuotes = (quotes: Quote[]) => {
    this.quotes = quotes;
  };

  /** Pass to the answerer's request: the sentences an answerer knows before it streams (extractive). */
  readonly onSentences = (sentences: KnownSentence[]) => {
    this.sentences = sentences;
  };

  push(delta: string): { text: string; claims: Claim[] } {
    this.text += delta;
    const strict = this.p.strictGrounding;
    if (this.p.provider.quotes) return { text: strict ? "" : delta, claims: [] };
    const claims = this.judge(false);
    return strict ? this.keep(claims) : { text: delta, claims };
  }

  end(meta: Pick<AnswerResult, "model" | "usage">): { answer: ChatAnswer; text: string; claims: Claim[] } {
    if (!this.p.strictGrounding) {
      const answer = finishAnswer(this.p, this.text, { ...meta, quotes: this.quotes, sentences: this.sentences });
      return { answer, text: "", claims: answer.claims.filter((c) => c.start >= this.sentUpTo) };
    }
    const rest = this.keep(isNoAnswer(this.text) ? [] : this.judge(true));
    let text = rest.text;
    if (this.kept.length === 0) {
      // Nothing supported (or the answerer found nothing): the no-answer reply, with no claims.
      text = NO_ANSWER;
      this.emitted = NO_ANSWER;
    }
    const answer: ChatAnswer = {
      answer: this.emitted,
      sources: this.p.sources,
      citations: extractCitations(this.emitted, this.p.sources.length),
      claims: this.kept,
      model: meta.model,
      usage: meta.usage,
      retrieval_query: this.p.retrievalQuery,
    };
    return { answer, text, claims: rest.claims };
  }

  /** Claims of the sentences completed since the last call (`final`: every sentence left). */
  private judge(final: boolean): Claim[] {
    const quotes = this.p.provider.quotes ? this.quotes : undefined;
    const done = this.sentences
      ? this.sentences.filter((s) => s.start >= this.sentUpTo && (final || s.end <= this.text.length))
      : answerSentences(this.text)
          .slice(0, final ? undefined : -1)
          .filter((s) => s.start >= this.sentUpTo)
          .map((s) => ({ ...s, quotes: [] }));
    if (done.length === 0) return [];
    const claims = buildClaims(this.text, this.p.sources, { known: done, quotes });
    this.sentUpTo = done[done.length - 1].end;
    return claims;
  }

  /** Strict grounding: appends the supported sentences to the answer as sent, re-indexing their claims. */
  private keep(claims: Claim[]): { text: string; claims: Claim[] } {
    let text = "";
    const out: Claim[] = [];
    for (const c of claims) {
      if (!c.supported) continue;
      const sep = this.emitted && !/[\u3002\uff01\uff1f]$/.test(this.emitted) ? " " : "";
      const start = this.emitted.length + sep.length;
      this.emitted += sep + c.text;
      text += sep + c.text;
      const claim = { ...c, start, end: start + c.text.length };
      this.kept.push(claim);
      out.push(claim);
    }
    return { text, claims: out };
  }
}
