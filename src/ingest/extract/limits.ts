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
  /**
   * Bytes one PDF stream may inflate to, and all of a PDF's Flate streams together (images
   * excepted: text extraction never decodes them). pdf.js holds a stream's whole decoded output in
   * memory, so the per-stream bound is what keeps it inside a 128 MB isolate; the total bounds the
   * work. Measured before pdf.js sees the file (pdf.ts `assertStreamBudget`).
   */
  maxPdfStreamBytes: 32 * 1024 * 1024,
  maxPdfDecodedBytes: 96 * 1024 * 1024,
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
export function assertJsonShape(
  text: string,
  maxDepth: number = EXTRACT_LIMITS.maxJsonDepth,
  maxValues: number = EXTRACT_LIMITS.maxJsonValues,
): void {
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

/** Compressed bytes handed to the decompressor at a time: deflate expands at most ~1032:1, so one
 * step never holds more than ~8 MiB of output, whatever the stream would grow to. */
const INFLATE_STEP = 8 * 1024;

/**
 * Inflates `data` as a stream fed in small steps, handing each output piece to `sink` (which may
 * keep or only count it), and calls `over(size)` (which must throw) as soon as the output passes
 * `bound`. Damaged or trailing data ends the output: the pieces produced so far are what counts.
 * Returns the inflated size.
 */
export async function inflateWithin(
  data: Uint8Array,
  format: "deflate" | "deflate-raw",
  bound: number,
  over: (size: number) => never,
  sink?: (piece: Uint8Array) => void,
): Promise<{ size: number; damaged: boolean }> {
  const ds = new DecompressionStream(format);
  const writer = ds.writable.getWriter();
  const reader = ds.readable.getReader();
  // Input goes in one small step at a time, and the next only after a macrotask turn, in which the
  // reader below drains what the step produced: trailing or damaged data errors the stream, which
  // drops any output not yet read, so a stream padded with junk could otherwise hide all it
  // inflates to. What an erroring step itself produced can go uncounted: at most one step's output.
  let stop = false;
  const feed = (async () => {
    for (let at = 0; at < data.byteLength && !stop; at += INFLATE_STEP) {
      await writer.write(data.slice(at, at + INFLATE_STEP));
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    if (!stop) await writer.close();
  })().catch(() => {});
  let size = 0;
  let damaged = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > bound) {
        stop = true;
        await reader.cancel().catch(() => {});
        break;
      }
      sink?.(value);
    }
  } catch {
    damaged = true;
  } finally {
    stop = true;
    await feed;
  }
  if (size > bound) over(size);
  return { size, damaged };
}
