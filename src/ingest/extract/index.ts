/**
 * Document type detection, decoding and text extraction for ingestion.
 *
 * `extract()` returns clean text with headings as markdown `#` lines (for heading paths in the
 * chunker) and, for PDFs, the offset where each page starts. Every failure is an ApiError with a
 * stable code and a message fit for end users; library errors never leak through.
 */
import { ApiError } from "../../http/errors";
import { charsetFromContentType, decodeText } from "./decode";
import { type DocumentKind, detectKind, extensionOf } from "./detect";
import { htmlToText } from "./html";
import { markdownToText } from "./markdown";
import { assertLineCount } from "./limits";
import { isBlank, normalizeText } from "./normalize";
import { csvToText, jsonToText } from "./structured";
import { createYielder, type Yielder } from "../../util/yield";

// PDF (pdf.js via unpdf, the CMap table) and DOCX (mammoth and its zip reader) are loaded by the
// dispatch below on the first document of that kind: a cold isolate serving /healthz, search or chat
// never evaluates them. The bundler keeps them in the one upload, wrapped to be evaluated on first use.
const loadPdf = () => import("./pdf");
const loadDocx = () => import("./docx");

export type { DocumentKind } from "./detect";
export { detectKind } from "./detect";

export interface ExtractedDocument {
  kind: DocumentKind;
  /** Clean text; headings of HTML/DOCX/Markdown kept as "# Title", "## Sub" lines. */
  text: string;
  /** PDFs: char offset in `text` where each page (1-based) starts. */
  pages?: { page: number; start: number }[];
  title?: string;
  /** Source encoding of text-like formats, e.g. "utf-8", "utf-16le", "windows-1252", "shift_jis". */
  encoding?: string;
}

export interface ExtractOptions {
  name: string;
  contentType?: string | null;
  /** Refuse documents whose extracted text is longer (default 5,000,000). */
  maxChars?: number;
  /**
   * Where long loops hand the event loop back (src/util/yield.ts); the ingest pipeline passes the
   * one it also gives the chunker. A fresh one by default.
   */
  yielder?: Yielder;
}

export const DEFAULT_MAX_CHARS = 5_000_000;

export async function extract(bytes: Uint8Array, opts: ExtractOptions): Promise<ExtractedDocument> {
  const maxChars = opts.maxChars ?? DEFAULT_MAX_CHARS;
  const kind = detectKind(bytes, opts.name, opts.contentType);

  let doc: ExtractedDocument;
  try {
    doc = await extractKind(kind, bytes, opts, maxChars);
  } catch (err) {
    if (err instanceof ApiError) throw err;
    // Whatever a parser threw, the user gets a plain message; the original stays as `cause` for logs.
    throw new ApiError("corrupt_document", "The document could not be read. It may be damaged; please re-save it and upload again.", {
      cause: err,
    });
  }

  if (isBlank(doc.text)) {
    throw new ApiError("empty_document", "The document contains no text.");
  }
  if (doc.text.length > maxChars) {
    throw new ApiError(
      "document_too_large",
      `The document contains more than ${maxChars.toLocaleString("en-US")} characters of text, which is over the limit.`,
    );
  }
  return doc;
}

async function extractKind(kind: DocumentKind, bytes: Uint8Array, opts: ExtractOptions, maxChars: number): Promise<ExtractedDocument> {
  if (kind === "pdf") {
    const { extractPdf } = await loadPdf();
    const { text, pages, title } = await extractPdf(bytes, maxChars);
    return withTitle({ kind, text, pages }, title);
  }
  if (kind === "docx") {
    const { extractDocx } = await loadDocx();
    const { text, title } = await extractDocx(bytes);
    return withTitle({ kind, text: normalizeText(text) }, title);
  }

  // Text formats run a few linear passes of tens of milliseconds each over megabytes: a checkpoint
  // between passes keeps each stretch without a yield to about one pass (markdown yields inside too).
  const y = opts.yielder ?? createYielder();
  const { text: raw, encoding } = decodeText(bytes, {
    declared: charsetFromContentType(opts.contentType),
    sniffMeta: kind === "html",
  });
  await y.maybeYield(bytes.length);
  // Newline floods: refused before any per-line work or array of lines is built.
  assertLineCount(raw);
  const ext = extensionOf(opts.name);
  const normalized = async (text: string) => {
    await y.maybeYield(text.length);
    return normalizeText(text);
  };
  switch (kind) {
    case "html": {
      const { text, title } = await htmlToText(raw);
      return withTitle({ kind, text: await normalized(text), encoding }, title);
    }
    case "markdown": {
      const { text, title } = await markdownToText(raw, y);
      return withTitle({ kind, text: await normalized(text), encoding }, title);
    }
    case "csv":
      return { kind, text: normalizeText(csvToText(raw, ext === "tsv")), encoding };
    case "json":
      return { kind, text: normalizeText(jsonToText(raw, ext === "jsonl" || ext === "ndjson")), encoding };
    default:
      return { kind, text: normalizeText(raw), encoding };
  }
}

function withTitle(doc: ExtractedDocument, title: string | undefined): ExtractedDocument {
  return title ? { ...doc, title } : doc;
}
