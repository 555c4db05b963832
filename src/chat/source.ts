/**
 * The one source shape of an answer, and the claim shape that points into it. Every other source
 * type (the answerer's passage, a session's stored source, the OpenAI/MCP source without heading,
 * the routes' OpenAPI schemas, the chat page's type) is derived from these; nothing restates a field.
 * Plain zod (no OpenAPI extension), so the chat layer, the MCP tools and the routes can all use it.
 */
import { z } from "zod";

/** A numbered source of an answer, as the chat routes return it. */
export const SourceSchema = z.object({
  /** 1-based number the answer cites as `[n]`. */
  n: z.number(),
  document_id: z.string(),
  document_name: z.string(),
  /** The chunk's ordinal in its document. */
  chunk: z.number(),
  score: z.number(),
  text: z.string(),
  page: z.number().nullable(),
  heading: z.string().nullable(),
  /** Where the chunk starts in the document's extracted text (null when unknown). */
  char_start: z.number().nullable(),
});
export type PublicSource = z.infer<typeof SourceSchema>;

/** The source as OpenAI-style and MCP clients get it: without the heading. */
export const HeadinglessSourceSchema = SourceSchema.omit({ heading: true });
export type HeadinglessSource = z.infer<typeof HeadinglessSourceSchema>;
export function sourceWithoutHeading({ heading: _heading, ...rest }: PublicSource): HeadinglessSource {
  return rest;
}

/** What an answerer reads of a source. */
export type SourcePassage = Pick<PublicSource, "n" | "document_id" | "document_name" | "chunk" | "text" | "score"> & {
  /** The chunk's statements as analysed at ingest (extractive answerer), when the index stored them; never shown. */
  statements?: string | null;
};
export function passageOf(s: PublicSource): SourcePassage {
  return { n: s.n, document_id: s.document_id, document_name: s.document_name, chunk: s.chunk, text: s.text, score: s.score };
}

/** What a session stores of a source (no text: the history stays small). */
export type SessionSource = Pick<PublicSource, "n" | "document_id" | "document_name" | "chunk" | "score">;
export function sessionSourceOf(s: PublicSource): SessionSource {
  return { n: s.n, document_id: s.document_id, document_name: s.document_name, chunk: s.chunk, score: s.score };
}

/**
 * One citation of a claim: a verified span of a source's chunk text. `chunk_text.slice(start, end)
 * === quote` always holds (the server never returns a span it could not verify).
 */
export const CitationSchema = z.object({
  /** The `[n]` of the source. */
  source: z.number(),
  document_id: z.string(),
  document_name: z.string(),
  /** The chunk's ordinal in its document (the source's `chunk`). */
  chunk_id: z.number(),
  /** Character range in the chunk's text (UTF-16 code units, as JavaScript's `slice`). */
  start: z.number(),
  end: z.number(),
  /** The same range in the document's extracted text, when the chunk records where it starts; else null. */
  document_start: z.number().nullable(),
  document_end: z.number().nullable(),
  /** Page of the span's chunk (PDF); null for formats without pages. */
  page: z.number().nullable(),
  quote: z.string(),
  /** How well the span supports the claim, in [0, 1] (src/chat/claims/support.ts). */
  support: z.number(),
});
export type Citation = z.infer<typeof CitationSchema>;

/** One sentence of the answer (`answer.slice(start, end) === text`) and the spans behind it. */
export const ClaimSchema = z.object({
  text: z.string(),
  start: z.number(),
  end: z.number(),
  /** True when at least one citation's support reaches the threshold (or the sentence is the no-answer reply). */
  supported: z.boolean(),
  citations: z.array(CitationSchema),
});
export type Claim = z.infer<typeof ClaimSchema>;
