import { z } from "@hono/zod-openapi";

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "validation_error" }),
      message: z.string(),
      request_id: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi("Error");

/** Error body of the original's endpoints: its `message` or `error` field, plus code and request id. */
export const LegacyErrorSchema = z
  .object({
    message: z.string().optional(),
    error: z.string().optional(),
    code: z.string(),
    request_id: z.string(),
  })
  .openapi("LegacyError");

export function errorResponses(...statuses: number[]) {
  const out: Record<number, { description: string; content: { "application/json": { schema: typeof ErrorSchema } } }> = {};
  for (const s of statuses) {
    out[s] = { description: `Error (${s})`, content: { "application/json": { schema: ErrorSchema } } };
  }
  return out;
}

export function legacyErrorResponses(...statuses: number[]) {
  const out: Record<number, { description: string; content: { "application/json": { schema: typeof LegacyErrorSchema } } }> = {};
  for (const s of statuses) {
    out[s] = { description: `Error (${s}), in the original's shape`, content: { "application/json": { schema: LegacyErrorSchema } } };
  }
  return out;
}

export const json = <T extends z.ZodType>(schema: T, description = "OK") => ({
  description,
  content: { "application/json": { schema } },
});

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { "application/json": { schema } },
});
