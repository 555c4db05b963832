/**
 * Caps that keep extraction in bounded memory, checked while text is produced (before the next
 * expensive step, never after it). Sized so that the largest accepted upload (25 MiB) stays far
 * below a 128 MB isolate even after the expansions each format brings (docs/security.md).
 */
import { ApiError } from "../../http/errors";

export const EXTRACT_LIMITS = {
  /** Lines of a text-like document (newline floods). */
  maxLines: 1_000_000,
  /** CSV rows and cells (one-line CSV with millions of cells). */
  maxCsvRows: 1_000_000,
  maxCsvCells: 2_000_000,
  /** JSON nesting depth and number of values (deep or wide JSON). */
  maxJsonDepth: 64,
  maxJsonValues: 2_000_000,
  /** PDF pages read. */
  maxPdfPages: 2_000,
} as const;

export function tooLarge(what: string): ApiError {
  return new ApiError("document_too_large", `The document is over the processing limit: ${what}.`);
}

export function tooComplex(what: string): ApiError {
  return new ApiError("document_too_complex", `The document is too complex to process: ${what}.`);
}

/** Counts newlines without building an array of lines; throws once past the cap. */
export function assertLineCount(text: string, max: number = EXTRACT_LIMITS.maxLines): void {
  let n = 0;
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) {
    if (++n > max) throw tooLarge(`more than ${max.toLocaleString("en-US")} lines`);
  }
}

/**
 * Depth and value count of a JSON text, by one scan that skips strings (so brackets inside strings
 * do not count); throws before JSON.parse would allocate the structure.
 */
export function assertJsonShape(text: string, maxDepth: number = EXTRACT_LIMITS.maxJsonDepth, maxValues: number = EXTRACT_LIMITS.maxJsonValues): void {
  let depth = 0;
  let values = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \ */) i++;
        else if (d === 34) break;
      }
    } else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > maxDepth) throw tooComplex(`nested more than ${maxDepth} levels deep`);
    } else if (c === 93 || c === 125) {
      depth--;
    } else if (c === 44 /* , */ || c === 10 /* \n (JSON Lines) */) {
      if (++values > maxValues) throw tooLarge(`more than ${maxValues.toLocaleString("en-US")} values`);
    }
  }
}
