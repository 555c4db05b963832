import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Every error code the API can answer with, and the HTTP status it always maps to. */
export const ERROR_STATUS = {
  bad_request: 400,
  invalid_json: 400,
  validation_error: 400,
  invalid_filter: 400,
  missing_fields: 400,
  master_key_not_allowed: 400,
  url_mismatch: 400,
  ttl_out_of_range: 400,
  unsupported_model: 400,
  unauthorized: 401,
  invalid_master_key: 401,
  invalid_api_key: 401,
  token_missing: 401,
  token_invalid: 401,
  invalid_session: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  embedder_mismatch: 409,
  payload_too_large: 413,
  unsupported_type: 415,
  encrypted_document: 422,
  corrupt_document: 422,
  empty_document: 422,
  document_too_complex: 422,
  document_too_large: 413,
  rate_limited: 429,
  quota_exceeded: 403,
  internal_error: 500,
  misconfigured: 500,
  upstream_error: 502,
  unavailable: 503,
  upstream_timeout: 504,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_STATUS;

/**
 * The original Flask service answered errors as `{message}` or `{error}` with a fixed string.
 * Its compatible endpoints keep that field and string so old clients still match on them.
 */
export interface LegacyShape {
  field: "message" | "error";
  text: string;
}

export class ApiError extends HTTPException {
  readonly code: ErrorCode;
  readonly details?: unknown;
  readonly legacy?: LegacyShape;
  /** Response headers the error carries (Retry-After, RateLimit, ...). */
  readonly headers?: Record<string, string>;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { details?: unknown; legacy?: LegacyShape; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(ERROR_STATUS[code], { message, cause: opts.cause });
    this.name = "ApiError";
    this.code = code;
    this.details = opts.details;
    this.legacy = opts.legacy;
    this.headers = opts.headers;
  }
}

/** Shorthand for an error of an original endpoint: the same status, field and text as the original. */
export function legacyError(code: ErrorCode, field: "message" | "error", text: string): ApiError {
  return new ApiError(code, text, { legacy: { field, text } });
}

/** `legacyPath`: the route declares the original's flat shape (src/auth/access.ts). */
export function errorBody(err: ApiError, requestId: string, legacyPath = false): Record<string, unknown> {
  if (err.legacy) {
    return { [err.legacy.field]: err.legacy.text, code: err.code, request_id: requestId };
  }
  if (legacyPath) {
    const out: Record<string, unknown> = { error: err.message, code: err.code, request_id: requestId };
    if (err.details !== undefined) out.details = err.details;
    return out;
  }
  const error: Record<string, unknown> = { code: err.code, message: err.message, request_id: requestId };
  if (err.details !== undefined) error.details = err.details;
  return { error };
}

const STATUS_CODES: Record<number, ErrorCode> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  413: "payload_too_large",
  415: "unsupported_type",
};

/** Any thrown value as an ApiError: Hono's HTTP errors keep their status, anything else is a 500. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException) {
    const code = STATUS_CODES[err.status];
    if (code) {
      const json = /json/i.test(err.message);
      return new ApiError(json ? "invalid_json" : code, json ? "Request body is not valid JSON" : err.message || code, { cause: err });
    }
  }
  return new ApiError("internal_error", "Internal server error", { cause: err });
}
