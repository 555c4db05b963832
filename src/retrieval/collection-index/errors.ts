/**
 * The collection object's typed errors. Across RPC only an error's message survives (not its class
 * or fields), so the code travels as the message's prefix (`invalid_filter: …`) and `indexErrorOf`
 * reads it back on the Worker's side, where `toApiError` maps it to the API envelope: a request the
 * caller can fix is a 400 with its own code, anything else stays an internal error.
 */
export const INDEX_ERROR_CODES = [
  "invalid_filter",
  "invalid_top_k",
  "invalid_vector",
  "dimension_mismatch",
  "invalid_page",
  "invalid_document",
  "invalid_id",
  "incomplete_document",
] as const;

export type IndexErrorCode = (typeof INDEX_ERROR_CODES)[number];

/** Codes a caller's request can cause (and fix): the Worker answers them with 400. */
export const CLIENT_INDEX_ERRORS: ReadonlySet<IndexErrorCode> = new Set(["invalid_filter", "invalid_top_k"]);

export class IndexError extends Error {
  readonly code: IndexErrorCode;
  constructor(code: IndexErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = "IndexError";
    this.code = code;
  }
}

/** After RPC the message reads "IndexError: <code>: …" (workerd prefixes a custom error's name). */
const PREFIX = new RegExp(`^(?:IndexError: )?(${INDEX_ERROR_CODES.join("|")}): (.*)$`, "s");

/** The code and message of an error the object threw (also after RPC), or null for any other error. */
export function indexErrorOf(err: unknown): { code: IndexErrorCode; message: string } | null {
  if (err instanceof IndexError) return { code: err.code, message: err.message.slice(err.code.length + 2) };
  const m = err instanceof Error ? PREFIX.exec(err.message) : null;
  return m ? { code: m[1] as IndexErrorCode, message: m[2] } : null;
}
