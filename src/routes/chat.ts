import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { defineRoute, need } from "../auth/access";
import { guardVerdict } from "../auth/middleware";
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import { assertCollectionAccess, isMasterKey, requireKeyOrMaster, requireSessionToken } from "../auth/authenticate";
import type { Principal, SessionClaims } from "../auth/principal";
import { type ChatSession, sessionStub } from "../chat/session-do";
import { sessionSourceOf } from "../chat/source";
import { HISTORY } from "../chat/tuning";
import { type ChatAnswer, ClaimStream, type ChatTurn, chatResponseJson, prepareChat } from "../chat/service";
import type { AppEnv } from "../http/context";
import { ApiError, legacyError } from "../http/errors";
import { errorResponses, json, jsonBody, legacyErrorResponses } from "../http/schemas";
import { requireCachedCollection } from "../storage/collection-cache";
import { chatUrl } from "./shared/session";
import { ClaimSchema, SourceSchema } from "./shared/schemas";
import { answerTurn, scopedOptions } from "./shared/turn";
import type { TurnTimings } from "../chat/service";
import { canSee, sessionBinding } from "../retrieval/scope";
import { documentMetadata } from "../storage/documents";
import type { Turn } from "../chat/session-do";

type Ctx = Context<AppEnv>;

const Source = SourceSchema;

/** The chat URL a client echoes back must be this deployment's own; it is never fetched. */
function checkUrl(c: Ctx, url: string | undefined): void {
  if (url === undefined) return;
  const origin = new URL(c.req.url).origin;
  const allowed = new Set([chatUrl(c), `${origin}/api/chat`, `${origin}/chat`]);
  if (!allowed.has(url.trim())) {
    throw new ApiError("url_mismatch", "`url` must be this deployment's chat URL as returned by start_chat; other URLs are never called", {
      legacy: { field: "error", text: "url does not match this deployment's chat URL" },
    });
  }
}

/** A session is usable while its object exists, its token is valid and its key is not revoked. */
async function openSession(c: Ctx, claims: SessionClaims, legacy: boolean) {
  const stub = sessionStub(c.env, claims.sid);
  // Meta and recent history in one call: a turn makes one read and one append on its session. The
  // token names the session's collection, so its lookup runs alongside (its outcome is used only
  // once the session checks out, and only if the session names the same collection).
  const early = claims.col
    ? requireCachedCollection(c.env, claims.col).then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      )
    : null;
  const opened = await stub.open(HISTORY.sessionRead);
  const invalid = () =>
    legacy ? legacyError("invalid_session", "message", "Invalid session") : new ApiError("invalid_session", "Session not found or ended");
  if (!opened || opened.meta.key_id !== claims.sub) throw invalid();
  const { meta } = opened;
  // The session's binding (from its object) must be the one its token refers to.
  const binding = await sessionBinding(meta.binding, claims);
  if (binding === "mismatch") throw invalid();
  const principal: Principal = { kind: "session", claims, binding };
  // Revoking a key ends its sessions (src/auth/guard-do.ts), so a live session object is proof enough.
  if (!meta.collection_id) throw new ApiError("not_found", "This session has no collection to chat with");
  const history: ChatTurn[] = opened.messages.map((t) => ({ role: t.role, content: t.content }));
  let collection: Awaited<ReturnType<typeof requireCachedCollection>>;
  const looked = early && meta.collection_id === claims.col ? await early : null;
  if (looked?.ok) collection = looked.value;
  else if (looked) throw looked.error;
  else collection = await requireCachedCollection(c.env, meta.collection_id);
  return { stub, meta, history, principal, collection };
}

async function recordTurn(stub: DurableObjectStub<ChatSession>, query: string, a: ChatAnswer): Promise<void> {
  const at = Date.now();
  await stub.append([
    { role: "user", content: query, at },
    {
      role: "assistant",
      content: a.answer,
      at,
      sources: a.sources.map(sessionSourceOf),
    },
  ]);
}

const LegacyChatBody = z
  .object({ query: z.string().trim().min(1).max(4000), url: z.string().max(2048).optional() })
  .openapi("LegacyChatRequest", { example: { query: "What is the refund policy?", url: "http://127.0.0.1:8787/api/chat" } });
const LegacyChatResponse = z
  .object({ query: z.string(), answer: z.string(), sources: z.array(Source), claims: z.array(ClaimSchema), session_id: z.string() })
  .openapi("LegacyChatResponse");

const legacyRoute = (path: "/api/chat" | "/chat") =>
  defineRoute({
    method: "post",
    path,
    access: { need: need.session, errors: "legacy", cost: "chat", overlapGuard: true },
    tags: ["Original API"],
    summary: "Ask a question in a chat session (original)",
    description:
      "`Authorization: <jwt>` (raw, as the original) or `Bearer <jwt>`. `url` must be the one start_chat returned; it is checked, never fetched.",
    request: { body: jsonBody(LegacyChatBody) },
    responses: { 200: json(LegacyChatResponse), ...legacyErrorResponses(400, 401, 404, 500, 502, 504) },
  });

const V1ChatBody = z
  .object({
    query: z.string().trim().min(1).max(4000).optional(),
    messages: z
      .array(z.object({ role: z.enum(["user", "assistant"]), content: z.string().min(1).max(8000) }))
      .min(1)
      .max(50)
      .optional(),
    collection_id: z.string().max(64).optional(),
    stream: z.boolean().default(false),
    top_k: z.number().int().min(1).max(20).default(5),
    strict_grounding: z.boolean().optional().openapi({
      description: "Remove sentences no source supports (default: the STRICT_GROUNDING setting); nothing left → the no-answer reply",
    }),
  })
  .refine((b) => b.query !== undefined || (b.messages?.length ?? 0) > 0, { message: "Give `query` or `messages`", path: ["query"] })
  .openapi("ChatRequest", { example: { query: "What is the refund policy?", stream: false, top_k: 5 } });

const V1ChatResponse = z
  .object({
    answer: z.string(),
    sources: z.array(Source),
    citations: z.array(z.number()),
    claims: z.array(ClaimSchema).openapi({ description: "The answer's sentences, each with the verified source spans that support it" }),
    model: z.string(),
    usage: z.object({ prompt_tokens: z.number(), completion_tokens: z.number() }),
    session_id: z.string().nullable(),
  })
  .openapi("ChatResponse");

const v1Route = defineRoute({
  method: "post",
  path: "/v1/chat",
  access: { need: need.sessionOrKey("chat"), cost: "chat", overlapGuard: true },
  tags: ["Chat"],
  summary: "Grounded chat over a collection (JSON or server-sent events)",
  description:
    "Authenticate with a session token (`Authorization: Bearer <jwt>`: the session's history is used and extended) or an API key " +
    "(`X-API-Key`/Bearer key with `collection_id`, stateless; master key via `X-Master-API-Key`). `stream: true` answers " +
    "`text/event-stream`: one `sources` event, then `delta` events, with a `claims` event for each sentence once it is complete " +
    "(a language model's claims come after its last delta, when its quotes are known), then `done` (or `error`).",
  request: { body: jsonBody(V1ChatBody) },
  responses: {
    200: {
      description: "Answer (JSON), or an SSE stream when `stream` is true",
      content: { "application/json": { schema: V1ChatResponse }, "text/event-stream": { schema: z.string() } },
    },
    ...errorResponses(400, 401, 403, 404, 409, 500, 502, 504),
  },
});

const messagesRoute = defineRoute({
  method: "get",
  path: "/v1/sessions/{id}/messages",
  access: { need: need.sessionOrMaster },
  tags: ["Chat"],
  summary: "A session's history (its own token, or the master key)",
  request: {
    params: z.object({ id: z.string().min(1).max(64) }),
    query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(100) }),
  },
  responses: {
    200: json(
      z.object({
        session_id: z.string(),
        messages: z.array(z.object({ role: z.string(), content: z.string(), at: z.number(), sources: z.array(z.unknown()).optional() })),
      }),
    ),
    ...errorResponses(401, 403, 404, 500),
  },
});

/**
 * A bound session's history as its binding sees it now: a turn citing a document the binding no
 * longer covers (deleted, or whose metadata changed) is left out with the question that asked it,
 * so neither its sources nor an answer built from them is shown. One catalogue read of the cited ids.
 */
async function visibleHistory(env: Env, p: Principal, collectionId: string, turns: Turn[]): Promise<Turn[]> {
  const cited = [...new Set(turns.flatMap((t) => (t.sources ?? []).map((s) => s.document_id)))];
  const metadata = await documentMetadata(env.DB, collectionId, cited);
  const visible = (docId: string) => {
    const m = metadata.get(docId);
    return m !== undefined && canSee(p, { id: docId, metadata: m });
  };
  const out: Turn[] = [];
  for (let i = 0; i < turns.length; i++) {
    const t = turns[i];
    if (t.role === "assistant" && (t.sources ?? []).some((s) => !visible(s.document_id))) {
      if (out.length > 0 && out[out.length - 1].role === "user") out.pop();
      continue;
    }
    out.push(t);
  }
  return out;
}

function looksLikeJwt(s: string | undefined): boolean {
  return !!s && /^(Bearer\s+)?[\w-]+\.[\w-]+\.[\w-]+$/i.test(s.trim());
}

export function mountChat(app: OpenAPIHono<AppEnv>): void {
  for (const path of ["/api/chat", "/chat"] as const) {
    app.openapi(
      legacyRoute(path),
      async (c) => {
        const claims = await requireSessionToken(c, true);
        const body = c.req.valid("json");
        checkUrl(c, body.url);
        const timings: TurnTimings = {};
        const t0 = performance.now();
        const { stub, collection, history, principal } = await openSession(c, claims, true);
        timings.session = performance.now() - t0;
        const { answer, cache } = await answerTurn(c, collection, body.query, history, 5, {}, principal, timings);
        await recordTurn(stub, body.query, answer);
        c.header("X-Cache", cache);
        return c.json(
          { query: body.query, answer: answer.answer, sources: answer.sources, claims: answer.claims, session_id: claims.sid },
          200,
        );
      },
      (result) => {
        if (!result.success) throw legacyError("missing_fields", "error", "Missing required field: query");
        return undefined;
      },
    );
  }

  app.openapi(v1Route, async (c) => {
    const body = c.req.valid("json");
    let principal: Principal;
    let session: Awaited<ReturnType<typeof openSession>> | null = null;
    const timings: TurnTimings = {};
    if (looksLikeJwt(c.req.header("Authorization"))) {
      const claims = await requireSessionToken(c, false);
      const t0 = performance.now();
      session = await openSession(c, claims, false);
      timings.session = performance.now() - t0;
      principal = session.principal;
    } else {
      principal = await requireKeyOrMaster(c, "chat");
    }
    const collectionId = session?.collection.id ?? body.collection_id ?? (principal.kind === "key" ? principal.key.collection_id : null);
    if (!collectionId) throw new ApiError("validation_error", "collection_id is required");
    assertCollectionAccess(principal, collectionId);
    const t0 = performance.now();
    const collection = session?.collection ?? (await requireCachedCollection(c.env, collectionId));
    if (!session) timings.collection = performance.now() - t0;

    let history: ChatTurn[] = [];
    let query: string;
    if (body.messages?.length) {
      const msgs = body.messages;
      const last = msgs[msgs.length - 1];
      if (last.role !== "user") throw new ApiError("validation_error", "The last message must be the user's");
      query = body.query ?? last.content;
      history = msgs.slice(0, -1);
    } else {
      query = body.query as string;
      if (session) history = session.history;
    }

    if (!body.stream) {
      const opts = { strictGrounding: body.strict_grounding };
      const { answer, cache } = await answerTurn(c, collection, query, history, body.top_k, opts, principal, timings);
      if (session) await recordTurn(session.stub, query, answer);
      c.header("X-Cache", cache);
      // V1ChatResponse's fields, serialised once with the answer cache's entry (chatResponseJson).
      c.header("Content-Type", "application/json");
      return c.body(chatResponseJson(answer, session?.meta.sid ?? null), 200);
    }

    // Streaming: retrieval (and its errors) happens before the stream opens, so a bad request
    // still gets a proper status; a provider failure mid-stream becomes an `error` event. Nothing
    // costly runs before the key guard's verdict (overlapGuard).
    await guardVerdict(c);
    const prepared = await prepareChat(c.env, c.var.settings, {
      collection,
      query,
      history,
      topK: body.top_k,
      strictGrounding: body.strict_grounding,
      ...scopedOptions(principal),
    });
    c.header("X-Cache", "BYPASS");
    return streamSSE(c, async (stream) => {
      await stream.writeSSE({ event: "sources", data: JSON.stringify({ sources: prepared.sources }) });
      const claimStream = new ClaimStream(prepared);
      try {
        for await (const delta of prepared.provider.stream({
          query,
          history,
          sources: prepared.passages,
          maxTokens: c.var.settings.ANSWER_MAX_TOKENS,
          signal: c.req.raw.signal,
          onQuotes: claimStream.onQuotes,
          onSentences: claimStream.onSentences,
        })) {
          // With strict grounding the text of a sentence waits until its claim is judged (ClaimStream).
          const { text, claims } = claimStream.push(delta);
          if (text) await stream.writeSSE({ event: "delta", data: JSON.stringify({ text }) });
          if (claims.length) await stream.writeSSE({ event: "claims", data: JSON.stringify({ claims }) });
        }
      } catch (err) {
        const e = err instanceof ApiError ? err : new ApiError("upstream_error", "The answer provider failed", { cause: err });
        console.error(JSON.stringify({ request_id: c.var.requestId, code: e.code, error: String(err) }));
        await stream.writeSSE({
          event: "error",
          data: JSON.stringify({ error: { code: e.code, message: e.message, request_id: c.var.requestId } }),
        });
        return;
      }
      const {
        answer,
        text,
        claims: rest,
      } = claimStream.end({ model: prepared.provider.model, usage: { prompt_tokens: 0, completion_tokens: 0 } });
      if (text) await stream.writeSSE({ event: "delta", data: JSON.stringify({ text }) });
      if (rest.length) await stream.writeSSE({ event: "claims", data: JSON.stringify({ claims: rest }) });
      if (session) await recordTurn(session.stub, query, answer);
      // `done` carries the whole answer and all its claims (with strict grounding: the grounded answer).
      await stream.writeSSE({
        event: "done",
        data: JSON.stringify({
          answer: answer.answer,
          citations: answer.citations,
          claims: answer.claims,
          model: answer.model,
          session_id: session?.meta.sid ?? null,
        }),
      });
    }) as never;
  });

  app.openapi(messagesRoute, async (c) => {
    const { id } = c.req.valid("param");
    const { limit } = c.req.valid("query");
    let claims: SessionClaims | null = null;
    if (!(await isMasterKey(c, c.req.header("X-Master-API-Key")))) {
      claims = await requireSessionToken(c, false);
      if (claims.sid !== id) throw new ApiError("not_found", "Session not found");
    }
    const stub = sessionStub(c.env, id);
    const meta = await stub.meta();
    if (!meta) throw new ApiError("not_found", "Session not found or ended");
    let messages: Turn[] = await stub.messages(limit);
    if (claims) {
      const binding = await sessionBinding(meta.binding, claims);
      if (binding === "mismatch") throw new ApiError("not_found", "Session not found or ended");
      if (binding && meta.collection_id)
        messages = await visibleHistory(c.env, { kind: "session", claims, binding }, meta.collection_id, messages);
    }
    return c.json({ session_id: id, messages }, 200);
  });
}
