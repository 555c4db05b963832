import { z } from "@hono/zod-openapi";
import type { ApiError } from "./errors";

/**
 * Routes that declare `errors: "openai"` (src/auth/access.ts) answer errors in OpenAI's shape,
 * `{error: {message, type, param, code}}`, so the SDKs raise their own typed errors; `code` stays
 * this API's stable code.
 */
export const OpenAiErrorSchema = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.string().openapi({ example: "invalid_request_error" }),
      param: z.string().nullable(),
      code: z.string().openapi({ example: "not_found" }),
    }),
  })
  .openapi("OpenAIError");

const TYPES: Record<number, string> = { 401: "authentication_error", 403: "permission_error", 429: "rate_limit_error" };

export function openAiErrorBody(err: ApiError): z.infer<typeof OpenAiErrorSchema> {
  const type = TYPES[err.status] ?? (err.status >= 500 ? "api_error" : "invalid_request_error");
  const details = err.details as { path?: unknown }[] | undefined;
  const first = Array.isArray(details) ? details[0]?.path : undefined;
  return { error: { message: err.message, type, param: typeof first === "string" && first ? first : null, code: err.code } };
}

export function openAiErrorResponses(...statuses: number[]) {
  const out: Record<number, { description: string; content: { "application/json": { schema: typeof OpenAiErrorSchema } } }> = {};
  for (const s of statuses)
    out[s] = { description: `Error (${s}), in OpenAI's shape`, content: { "application/json": { schema: OpenAiErrorSchema } } };
  return out;
}
