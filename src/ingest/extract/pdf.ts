/**
 * PDF text with pdf.js (through unpdf), page by page, so each page's start offset can be kept and
 * extraction can stop as soon as the text cap is passed (recursive form XObjects can otherwise
 * produce text without end).
 */
import { ApiError } from "../../http/errors";
import { CMAPS } from "./cmaps";
import { normalizeText } from "./normalize";
import { EXTRACT_LIMITS, inflateWithin, tooLarge as limitTooLarge } from "./limits";

type PdfDocument = Awaited<ReturnType<typeof import("unpdf").getDocumentProxy>>;

/**
 * pdf.js asks its BinaryDataFactory for the standard CMaps a CID font names (an encoding such as
 * 90ms-RKSJ-H, and Adobe-Japan1-UCS2 to map its CIDs to Unicode when the font has no ToUnicode).
 * workerd has no file system: the packed CMaps are bundled as Data modules and loaded on demand.
 * Other binary data (standard font files, wasm decoders) is not shipped: pdf.js falls back without.
 */
class BundledCMapFactory {
  // pdf.js constructs it with {cMapUrl, standardFontDataUrl, wasmUrl}; only the CMaps are served.
  async fetch({ kind, filename }: { kind: string; filename: string }): Promise<Uint8Array> {
    const name = filename.replace(/\.bcmap$/, "");
    const load = kind === "cMapUrl" && Object.hasOwn(CMAPS, name) ? CMAPS[name] : undefined;
    if (!load) throw new Error(`${kind} ${filename} is not bundled`);
    return new Uint8Array((await load()).default);
  }
}

export interface PdfText {
  text: string;
  pages: { page: number; start: number }[];
  title?: string;
}

const tooLarge = (maxChars: number) =>
  new ApiError(
    "document_too_large",
    `The document contains more than ${maxChars.toLocaleString("en-US")} characters of text, which is over the limit.`,
  );

const corrupt = () =>
  new ApiError("corrupt_document", "The PDF is damaged and could not be read. Please re-save or re-export it and upload again.");

export async function extractPdf(bytes: Uint8Array, maxChars: number): Promise<PdfText> {
  await assertStreamBudget(bytes);
  // Loaded on first use: pdf.js takes seconds to initialise and most uploads are not PDFs.
  const { getDocumentProxy } = await import("unpdf");
  let pdf: PdfDocument;
  try {
    // pdf.js may take ownership of (detach) the buffer it is given, so it gets a copy.
    pdf = await getDocumentProxy(bytes.slice(), {
      disableFontFace: true,
      useSystemFonts: false,
      // A custom factory makes pdf.js ask the main thread (here, the same isolate) for CMaps.
      BinaryDataFactory: BundledCMapFactory,
      cMapUrl: "cmaps/",
      cMapPacked: true,
      stopAtErrors: false,
      verbosity: 0,
    });
  } catch (err) {
    // pdf.js tries the empty user password itself; asking for one means a real password is set.
    if (errorName(err) === "PasswordException") {
      throw new ApiError("encrypted_document", "This PDF is password-protected. Remove the password and upload it again.");
    }
    throw corrupt();
  }

  try {
    const pages: PdfText["pages"] = [];
    let text = "";
    let failedPages = 0;
    if (pdf.numPages > EXTRACT_LIMITS.maxPdfPages) throw limitTooLarge(`more than ${EXTRACT_LIMITS.maxPdfPages} pages`);
    for (let n = 1; n <= pdf.numPages; n++) {
      let pageText: string;
      try {
        pageText = normalizeText(await readPage(pdf, n, maxChars - text.length, maxChars));
      } catch (err) {
        if (err instanceof ApiError) throw err;
        // One unreadable page should not lose the others.
        failedPages++;
        pageText = "";
      }
      if (pageText && text) text += "\n\n";
      pages.push({ page: n, start: text.length });
      text += pageText;
      if (text.length > maxChars) throw tooLarge(maxChars);
    }
    if (failedPages === pdf.numPages) throw corrupt();
    if (!text) {
      throw new ApiError(
        "empty_document",
        "No text could be extracted from this PDF. It may be a scanned image; text recognition (OCR) is not supported.",
      );
    }
    return { text, pages, title: await readTitle(pdf) };
  } finally {
    await pdf.loadingTask.destroy().catch(() => {});
  }
}

/** Reads a page's text stream and gives up as soon as `budget` characters are exceeded. */
async function readPage(pdf: PdfDocument, n: number, budget: number, maxChars: number): Promise<string> {
  const page = await pdf.getPage(n);
  const reader = page.streamTextContent().getReader();
  const parts: string[] = [];
  let length = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (const item of (value as { items: unknown[] }).items) {
        if (!item || typeof item !== "object" || !("str" in item)) continue;
        const { str, hasEOL } = item as { str: string; hasEOL?: boolean };
        const piece = hasEOL ? `${str}\n` : str;
        parts.push(piece);
        length += piece.length;
      }
      if (length > budget) {
        // No reader.cancel(): pdf.js then enqueues into the closed stream and rejects unhandled;
        // destroying the document in extractPdf stops the work instead.
        throw tooLarge(maxChars);
      }
    }
  } finally {
    page.cleanup();
  }
  return parts.join("");
}

async function readTitle(pdf: PdfDocument): Promise<string | undefined> {
  try {
    const { info } = await pdf.getMetadata();
    const title = (info as { Title?: unknown } | undefined)?.Title;
    return typeof title === "string" && title.trim() ? normalizeText(title) : undefined;
  } catch {
    return undefined;
  }
}

function errorName(err: unknown): string | undefined {
  return err && typeof err === "object" && "name" in err ? String((err as { name: unknown }).name) : undefined;
}

const STREAM = [0x73, 0x74, 0x72, 0x65, 0x61, 0x6d]; // "stream"
const ENDSTREAM = new TextEncoder().encode("endstream");

function matchAt(b: Uint8Array, at: number, word: ArrayLike<number>): boolean {
  if (at < 0 || at + word.length > b.length) return false;
  for (let i = 0; i < word.length; i++) if (b[at + i] !== word[i]) return false;
  return true;
}

function indexOfWord(b: Uint8Array, word: Uint8Array, from: number): number {
  for (let i = b.indexOf(word[0], from); i !== -1; i = b.indexOf(word[0], i + 1)) if (matchAt(b, i, word)) return i;
  return -1;
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

/**
 * Inflates every Flate-encoded stream of the file (except images, which text extraction never
 * decodes) as a stream, counting and discarding its output, and refuses the file with 413
 * `document_too_large` as soon as one stream passes EXTRACT_LIMITS.maxPdfStreamBytes or all of them
 * maxPdfDecodedBytes. pdf.js has no such bound: it would hold a stream's whole output (a content
 * stream of a few hundred KB can inflate to hundreds of MB with no text operator in it). Streams
 * are found by their `stream` keyword, so object streams and streams pdf.js would find only by
 * reconstructing a broken xref are counted too. Damaged data ends that stream's count, not the scan.
 */
export async function assertStreamBudget(bytes: Uint8Array): Promise<void> {
  let total = 0;
  for (let at = indexOfWord(bytes, Uint8Array.from(STREAM), 0); at !== -1; at = indexOfWord(bytes, Uint8Array.from(STREAM), at + 6)) {
    if (matchAt(bytes, at - 3, [0x65, 0x6e, 0x64])) continue; // "endstream"
    // The stream's dictionary ends right before the keyword and starts at its object's `obj`.
    const dict = latin1(bytes.subarray(Math.max(0, at - 2048), at));
    const head = dict.slice(dict.lastIndexOf("obj") + 1);
    if (!/\/(FlateDecode|Fl)\b/.test(head) || /\/Subtype\s*\/Image\b/.test(head)) continue;
    let start = at + 6;
    if (bytes[start] === 0x0d) start++;
    if (bytes[start] === 0x0a) start++;
    let end = indexOfWord(bytes, ENDSTREAM, start);
    if (end === -1) end = bytes.length;
    total += await inflatedSize(bytes.subarray(start, end), EXTRACT_LIMITS.maxPdfDecodedBytes - total);
    at = end;
  }
}

/** Output bytes of one zlib stream, counted as they come; throws once past either bound. */
async function inflatedSize(data: Uint8Array, left: number): Promise<number> {
  const perStream = EXTRACT_LIMITS.maxPdfStreamBytes;
  const r = await inflateWithin(data, "deflate", Math.min(perStream, left), () => {
    throw left < perStream
      ? limitTooLarge(`its compressed streams decode to more than ${EXTRACT_LIMITS.maxPdfDecodedBytes / 1024 / 1024} MiB`)
      : limitTooLarge(`a compressed stream decodes to more than ${perStream / 1024 / 1024} MiB`);
  });
  return r.size;
}
