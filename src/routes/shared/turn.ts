import type { Context } from "hono";
import { guardVerdict } from "../../auth/middleware";
import type { Principal } from "../../auth/principal";
import { type AnsweredTurn, answerChatTurn, type ChatRequest, type ChatTurn, type TurnTimings } from "../../chat/service";
import type { AppEnv } from "../../http/context";
import type { Collection } from "../../storage/collections";
import { effectiveScope } from "../../retrieval/scope";

/** Extra instructions, retrieval filters and a lowered token limit (OpenAI chat completions, MCP). */
export type TurnOptions = Pick<ChatRequest, "instructions" | "documentIds" | "filter" | "maxTokens" | "strictGrounding">;

/**
 * The turn's options with the principal's binding applied: the request's `documentIds`/`filter`
 * replaced by the effective scope (src/retrieval/scope.ts). Every chat surface goes through it,
 * so the bound filter also joins the answer cache key (chat/service.ts keys on both fields).
 */
export function scopedOptions(principal: Principal, opts: TurnOptions = {}): TurnOptions {
  const { documentIds, filter, ...rest } = opts;
  return { ...rest, ...effectiveScope(principal, { documentIds, filter }) };
}

/**
 * One chat turn from an HTTP request, through the tiered answer cache (first turns only): the
 * request's waitUntil carries the cache writes and its signal aborts the answerer. Shared by
 * /v1/chat, the original's /api/chat, /v1/chat/completions and the MCP `ask` tool.
 */
export async function answerTurn(
  c: Context<AppEnv>,
  collection: Collection,
  query: string,
  history: ChatTurn[],
  topK: number,
  opts: TurnOptions,
  principal: Principal,
  /** The route's own waits before the turn (its collection or session look-up), reported alongside. */
  timings: TurnTimings = {},
): Promise<AnsweredTurn> {
  // Diagnostics for operators (master key only): `X-Answer-Cache: global-only` skips the local tier,
  // to measure the KV tier where the Cache API would answer first (benchmarks, debugging).
  const globalOnly = principal.kind === "master" && c.req.header("X-Answer-Cache") === "global-only";
  const turn = await answerChatTurn(c.env, c.var.settings, (p) => c.executionCtx.waitUntil(p), {
    collection,
    query,
    history,
    topK,
    ...scopedOptions(principal, opts),
    signal: c.req.raw.signal,
    tiers: globalOnly ? "global" : "both",
    // The answer-cache look-up overlaps the key guard's call (overlapGuard); retrieval and the answer wait for it.
    gate: () => guardVerdict(c),
    timings,
  });
  // Where a turn's waits went (the serving benchmark reads it): chat/service.ts TurnTimings.
  c.header(
    "Server-Timing",
    Object.entries(timings)
      .map(([k, v]) => `${k};dur=${(v ?? 0).toFixed(1)}`)
      .join(", "),
  );
  return turn;
}
