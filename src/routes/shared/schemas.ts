import { z } from "@hono/zod-openapi";
import { STATIC_CHUNK_LIMITS } from "../../retrieval/chunker/strategy";
import { ClaimSchema as BaseClaim, HeadinglessSourceSchema, SourceSchema as BaseSource } from "../../chat/source";

/**
 * Names a plain-zod schema (src/chat/source.ts) for the OpenAPI document. zod copies `.openapi`
 * onto a schema when it is built, and only once @hono/zod-openapi has extended zod; the app is
 * imported on first use (src/index.ts), so a queue, cron or Durable Object invocation may have
 * built these schemas before that. The extension's own method, called on them, works either way.
 */
function named<T extends z.ZodType>(schema: T, name: string): T {
  return z.ZodType.prototype.openapi.call(schema, name) as T;
}

/** The chat routes' source (src/chat/source.ts), named for the OpenAPI document. */
export const SourceSchema = named(BaseSource, "Source");
/** OpenAI-style and MCP clients get the source without its heading. */
export const CompletionSourceSchema = named(HeadinglessSourceSchema, "CompletionSource");
/** An answer sentence and its verified source spans. */
export const ClaimSchema = named(BaseClaim, "Claim");

/** OpenAI's `chunking_strategy` (collections, uploads); limits from STATIC_CHUNK_LIMITS. */
export const ChunkingStrategySchema = z
  .discriminatedUnion("type", [
    z.object({ type: z.literal("auto") }).strict(),
    z
      .object({
        type: z.literal("static"),
        static: z
          .object({
            max_chunk_size_tokens: z.number().int().min(STATIC_CHUNK_LIMITS.minTokens).max(STATIC_CHUNK_LIMITS.maxTokens),
            chunk_overlap_tokens: z.number().int().min(0),
          })
          .strict()
          .refine((s) => s.chunk_overlap_tokens <= s.max_chunk_size_tokens / 2, {
            message: "chunk_overlap_tokens must not exceed half of max_chunk_size_tokens",
            path: ["chunk_overlap_tokens"],
          }),
      })
      .strict(),
  ])
  .openapi("ChunkingStrategy", {
    description:
      "`auto`: the structure-following chunker at the collection's sizes (default 400 tokens, 60 overlap). `static`: " +
      "chunks of at most `max_chunk_size_tokens` (100–4096) overlapping by at most `chunk_overlap_tokens` (≤ half), " +
      "counted with the chunker's token estimate. bge-base-en-v1.5 embeds only the first 512 tokens of a chunk.",
    example: { type: "static", static: { max_chunk_size_tokens: 200, chunk_overlap_tokens: 50 } },
  });
