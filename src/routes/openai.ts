import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { defineRoute, need } from "../auth/access";
import { streamSSE } from "hono/streaming";
import { requireAnyUse, requireKeyOrMaster } from "../auth/authenticate";
import { randomToken } from "../util/crypto";
import { countTokens } from "../retrieval/chunker/tokens";
import { type ChatAnswer, ClaimStream, type ChatTurn, type PublicSource, prepareChat, sourceWithoutHeading } from "../chat/service";
import type { AppEnv } from "../http/context";
import { ApiError } from "../http/errors";
import { openAiErrorBody, openAiErrorResponses } from "../http/openai-errors";
import { json, jsonBody } from "../http/schemas";
import { MetadataFilterSchema } from "../retrieval/filter-schema";
import { activeCollectionIds } from "../storage/collections";
import { collectionForModel } from "./shared/model";
import { CompletionSourceSchema } from "./shared/schemas";
import { type Claim, CitationSchema } from "../chat/source";
import { HISTORY } from "../chat/tuning";
import { answerTurn, scopedOptions } from "./shared/turn";

// ------------------------------------------------------------------------------------------------
// ------------------------------------------------------------------------------------------------
// POST /v1/chat/completions

const TextPart = z.object({ type: z.literal("text"), text: z.string().max(32_000) });
const Content = z.union([z.string().max(32_000), z.array(TextPart).max(50)]);
const Message = z.object({
  role: z.enum(["system", "developer", "user", "assistant"]),
  content: Content.nullable().optional(),
  name: z.string().max(64).optional(),
});

export const ChatCompletionBody = z
  .object({
    model: z
      .string()
      .min(1)
      .max(64)
      .openapi({ description: "A collection id (see GET /v1/models), or `default` for the key's own collection" }),
    messages: z.array(Message).min(1).max(100),
    stream: z.boolean().default(false),
    stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
    temperature: z
      .number()
      .min(0)
      .max(2)
      .nullable()
      .optional()
      .openapi({ description: "Accepted for compatibility; answers are always generated at a low, fixed temperature" }),
    max_tokens: z.number().int().min(1).nullable().optional().openapi({ description: "Caps the answer (never above ANSWER_MAX_TOKENS)" }),
    max_completion_tokens: z.number().int().min(1).nullable().optional(),
    n: z.literal(1).nullable().optional(),
    top_k: z.number().int().min(1).max(20).default(5).openapi({ description: "Extension: passages retrieved for grounding" }),
    strict_grounding: z.boolean().optional().openapi({
      description:
        "Extension: remove sentences no source supports; streamed, a sentence is sent only once its claim is judged (default: the STRICT_GROUNDING setting)",
    }),
    context_filter: z
      .object({
        document_ids: z.array(z.string().min(1).max(64)).min(1).max(100).optional(),
        metadata: MetadataFilterSchema.optional(),
      })
      .nullable()
      .optional()
      .openapi({ description: "Extension (PrivateGPT style): restrict retrieval to these documents and/or a metadata filter" }),
  })
  .openapi("ChatCompletionRequest", {
    example: { model: "default", messages: [{ role: "user", content: "When does the office open?" }], stream: false },
  });

const CompletionSource = CompletionSourceSchema;

/**
 * OpenAI's annotation on an assistant message (`url_citation`, with `start_index`/`end_index` into
 * the answer text), carrying our span: one per verified citation of a claim.
 */
const Annotation = z
  .object({
    type: z.literal("url_citation"),
    url_citation: CitationSchema.extend({
      start_index: z.number().openapi({ description: "Start of the claim (sentence) in the answer text" }),
      end_index: z.number(),
      url: z.string().openapi({ description: "The cited document in this API" }),
      title: z.string().openapi({ description: "The document's name" }),
    }),
  })
  .openapi("Annotation");
type AnnotationT = z.infer<typeof Annotation>;

/** Claims as OpenAI annotations: each verified citation of each sentence. */
function annotationsOf(claims: Claim[], documentUrl: (documentId: string) => string): AnnotationT[] {
  return claims.flatMap((claim) =>
    claim.citations.map((cit) => ({
      type: "url_citation" as const,
      url_citation: { start_index: claim.start, end_index: claim.end, url: documentUrl(cit.document_id), title: cit.document_name, ...cit },
    })),
  );
}

const Usage = z.object({ prompt_tokens: z.number(), completion_tokens: z.number(), total_tokens: z.number() });

const ChatCompletion = z
  .object({
    id: z.string(),
    object: z.literal("chat.completion"),
    created: z.number(),
    model: z.string(),
    choices: z.array(
      z.object({
        index: z.number(),
        message: z.object({
          role: z.literal("assistant"),
          content: z.string(),
          refusal: z.null(),
          annotations: z
            .array(Annotation)
            .openapi({ description: "Each sentence's verified source spans (OpenAI's url_citation shape plus the span)" }),
        }),
        finish_reason: z.string(),
        logprobs: z.null(),
      }),
    ),
    usage: Usage,
    sources: z.array(CompletionSource).openapi({ description: "Extension: the passages the answer cites as [n]" }),
  })
  .openapi("ChatCompletion");

const completionsRoute = defineRoute({
  method: "post",
  path: "/v1/chat/completions",
  access: { need: need.key("chat"), cost: "chat", errors: "openai" },
  tags: ["OpenAI-compatible"],
  summary: "OpenAI-compatible chat completions over a collection, with sources",
  description:
    "`Authorization: Bearer <temporary key>` (scope `chat`). `model` is a collection id or `default` (the key's own collection). " +
    "`system`/`developer` messages are passed to the answerer as extra instructions after its grounding rules, never replacing them. " +
    "The answer cites passages as `[n]`; the top-level `sources` array lists them. With `stream: true` the answer comes as " +
    '`chat.completion.chunk` server-sent events: the first carries `sources`, the last `finish_reason: "stop"`, then a usage chunk ' +
    "(`choices: []`) when `stream_options.include_usage`, then `data: [DONE]`. Errors use OpenAI's shape `{error: {message, type, param, code}}`. " +
    "Non-streaming first turns share /v1/chat's answer cache (`X-Cache`).",
  request: { body: jsonBody(ChatCompletionBody) },
  responses: {
    200: {
      description: "A chat completion (JSON), or chunks as server-sent events when `stream` is true",
      content: { "application/json": { schema: ChatCompletion }, "text/event-stream": { schema: z.string() } },
    },
    ...openAiErrorResponses(400, 401, 403, 404, 409, 413, 429, 500, 502, 504),
  },
});

function contentText(content: z.infer<typeof Content> | null | undefined): string {
  if (content == null) return "";
  return typeof content === "string" ? content : content.map((p) => p.text).join("\n");
}

/** Splits OpenAI messages into instructions (system/developer), history and the question (last user message). */
export function splitMessages(messages: z.infer<typeof Message>[]): { instructions?: string; history: ChatTurn[]; query: string } {
  const last = messages[messages.length - 1];
  const query = contentText(last.content).trim();
  if (last.role !== "user" || !query) {
    throw new ApiError("validation_error", "The last message must be a non-empty user message", {
      details: [{ path: "messages", message: "last message" }],
    });
  }
  const instructions = messages
    .filter((m) => m.role === "system" || m.role === "developer")
    .map((m) => contentText(m.content).trim())
    .filter(Boolean)
    .join("\n\n");
  const history: ChatTurn[] = [];
  for (const m of messages.slice(0, -1)) {
    if (m.role !== "user" && m.role !== "assistant") continue;
    const text = contentText(m.content).trim();
    if (text) history.push({ role: m.role, content: text });
  }
  return { instructions: instructions || undefined, history: history.slice(-HISTORY.completionMessages), query };
}

function publicSources(sources: PublicSource[]): z.infer<typeof CompletionSource>[] {
  return sources.map(sourceWithoutHeading);
}

/** Provider-reported usage; when the provider reports none (local answerers), counted with the chunker's tokenizer. */
function usageOf(answer: Pick<ChatAnswer, "usage" | "answer">, query: string, sources: PublicSource[]) {
  const prompt = answer.usage.prompt_tokens || countTokens(query) + sources.reduce((n, s) => n + countTokens(s.text), 0);
  const completion = answer.usage.completion_tokens || countTokens(answer.answer);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

export function mountOpenAi(app: OpenAPIHono<AppEnv>): void {
  app.openapi(completionsRoute, async (c) => {
    const principal = await requireKeyOrMaster(c, "chat");
    const body = c.req.valid("json");
    const collection = await collectionForModel(c, principal, body.model);
    const { instructions, history, query } = splitMessages(body.messages);
    const requested = body.max_completion_tokens ?? body.max_tokens ?? undefined;
    const opts = {
      instructions,
      documentIds: body.context_filter?.document_ids,
      filter: body.context_filter?.metadata,
      maxTokens: requested === undefined ? undefined : Math.min(requested, c.var.settings.ANSWER_MAX_TOKENS),
      strictGrounding: body.strict_grounding,
    };
    const origin = new URL(c.req.url).origin;
    const documentUrl = (documentId: string) => `${origin}/v1/collections/${collection.id}/documents/${documentId}`;
    const id = `chatcmpl-${randomToken(18)}`;
    const created = Math.floor(Date.now() / 1000);

    if (!body.stream) {
      const { answer, cache } = await answerTurn(c, collection, query, history, body.top_k, opts, principal);
      c.header("X-Cache", cache);
      return c.json(
        {
          id,
          object: "chat.completion" as const,
          created,
          model: body.model,
          choices: [
            {
              index: 0,
              message: {
                role: "assistant" as const,
                content: answer.answer,
                refusal: null,
                annotations: annotationsOf(answer.claims, documentUrl),
              },
              finish_reason: "stop",
              logprobs: null,
            },
          ],
          usage: usageOf(answer, query, answer.sources),
          sources: publicSources(answer.sources),
        },
        200,
      );
    }

    // Retrieval (and its errors) happens before the stream opens, so a bad request still gets its status.
    const prepared = await prepareChat(c.env, c.var.settings, {
      collection,
      query,
      history,
      topK: body.top_k,
      ...scopedOptions(principal, opts),
    });
    const includeUsage = body.stream_options?.include_usage === true;
    const frame = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      JSON.stringify({
        id,
        object: "chat.completion.chunk",
        created,
        model: body.model,
        choices,
        ...(includeUsage ? { usage: null } : {}),
        ...extra,
      });
    return streamSSE(c, async (stream) => {
      await stream.writeSSE({
        data: frame([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }], {
          sources: publicSources(prepared.sources),
        }),
      });
      let text = "";
      const claimStream = new ClaimStream(prepared);
      const annotate = async (claims: Claim[]) => {
        const annotations = annotationsOf(claims, documentUrl);
        if (annotations.length) await stream.writeSSE({ data: frame([{ index: 0, delta: { annotations }, finish_reason: null }]) });
      };
      try {
        for await (const delta of prepared.provider.stream({
          query,
          history,
          sources: prepared.passages,
          maxTokens: opts.maxTokens ?? c.var.settings.ANSWER_MAX_TOKENS,
          instructions,
          signal: c.req.raw.signal,
          onQuotes: claimStream.onQuotes,
          onSentences: claimStream.onSentences,
        })) {
          // With strict grounding the text of a sentence waits until its claim is judged (ClaimStream).
          const out = claimStream.push(delta);
          if (out.text) {
            text += out.text;
            await stream.writeSSE({ data: frame([{ index: 0, delta: { content: out.text }, finish_reason: null }]) });
          }
          await annotate(out.claims);
        }
        const last = claimStream.end({ model: prepared.provider.model, usage: { prompt_tokens: 0, completion_tokens: 0 } });
        if (last.text) {
          text += last.text;
          await stream.writeSSE({ data: frame([{ index: 0, delta: { content: last.text }, finish_reason: null }]) });
        }
        await annotate(last.claims);
      } catch (err) {
        const e = err instanceof ApiError ? err : new ApiError("upstream_error", "The answer provider failed", { cause: err });
        console.error(JSON.stringify({ request_id: c.var.requestId, code: e.code, error: String(err) }));
        // OpenAI's SDKs raise an APIError for a streamed `{error}` object.
        await stream.writeSSE({ data: JSON.stringify(openAiErrorBody(e)) });
        return;
      }
      await stream.writeSSE({ data: frame([{ index: 0, delta: {}, finish_reason: "stop" }]) });
      if (includeUsage) {
        const usage = usageOf({ answer: text, usage: { prompt_tokens: 0, completion_tokens: 0 } }, query, prepared.sources);
        await stream.writeSSE({ data: frame([], { usage }) });
      }
      await stream.writeSSE({ data: "[DONE]" });
    }) as never;
  });

  // ----------------------------------------------------------------------------------------------
  // GET /v1/models

  const Model = z.object({ id: z.string(), object: z.literal("model"), created: z.number(), owned_by: z.string() }).openapi("Model");
  const modelsRoute = defineRoute({
    method: "get",
    path: "/v1/models",
    access: { need: need.key("chat", "read"), errors: "openai" },
    tags: ["OpenAI-compatible"],
    summary: "Collections the presented key may use, as OpenAI models",
    description:
      "A temporary key (scope `chat` or `read`) sees its own collection, under its id and as `default`; the master key " +
      "(X-Master-API-Key) sees every collection (first 1,000 by id).",
    responses: {
      200: json(z.object({ object: z.literal("list"), data: z.array(Model) }).openapi("ModelList")),
      ...openAiErrorResponses(401, 403, 500),
    },
  });
  app.openapi(modelsRoute, async (c) => {
    const p = await requireAnyUse(c);
    const own = p.kind === "key" ? p.key.collection_id : null;
    if (p.kind !== "master" && !own) return c.json({ object: "list" as const, data: [] }, 200);
    const rows = await activeCollectionIds(c.env.DB, { only: p.kind === "master" ? null : own, limit: 1000 });
    const data = rows.map((r) => ({ id: r.id, object: "model" as const, created: r.created_at, owned_by: "docchat-edge" }));
    if (own && data[0]) data.unshift({ ...data[0], id: "default" });
    return c.json({ object: "list" as const, data }, 200);
  });
}
