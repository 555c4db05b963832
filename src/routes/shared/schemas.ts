import { z } from "@hono/zod-openapi";

/** A numbered source of an answer, as the chat routes return it. */
export const SourceSchema = z
  .object({
    n: z.number(),
    document_id: z.string(),
    document_name: z.string(),
    chunk: z.number(),
    score: z.number(),
    text: z.string(),
    page: z.number().nullable(),
    heading: z.string().nullable(),
  })
  .openapi("Source");
