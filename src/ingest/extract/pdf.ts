/**
 * PDF text with pdf.js (through unpdf), page by page, so each page's start offset can be kept and
 * extraction can stop as soon as the text cap is passed (recursive form XObjects can otherwise
 * produce text without end).
 */
import { ApiError } from "../../http/errors";
import { CMAPS } from "./cmaps";
import { normalizeText } from "./normalize";
import { EXTRACT_LIMITS, tooLarge as limitTooLarge } from "./limits";

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
