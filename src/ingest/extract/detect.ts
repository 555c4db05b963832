/**
 * Which extractor a file needs. Magic bytes win over the name and the declared content type,
 * because both come from the client and are often wrong; the name and type only choose between
 * text dialects and name the format in error messages.
 */
import { ApiError } from "../../http/errors";
import { detectBom, detectWideEncoding, decodeText } from "./decode";
import { isZip, readCentralDirectory } from "./zip";

export type DocumentKind = "text" | "markdown" | "html" | "pdf" | "docx" | "csv" | "json";

export const SUPPORTED_LIST = "PDF, DOCX, HTML, Markdown, plain text, CSV or JSON";

const unsupported = (what: string) => new ApiError("unsupported_type", `${what} files are not supported. Upload a ${SUPPORTED_LIST} file.`);

const LEGACY_WORD = () =>
  new ApiError(
    "unsupported_type",
    "Legacy Word (.doc) files are not supported. Open the file in Word or LibreOffice, save it as .docx, and upload that instead.",
  );

const EXTENSION_KIND: Record<string, DocumentKind> = {
  pdf: "pdf",
  docx: "docx",
  html: "html",
  htm: "html",
  xhtml: "html",
  md: "markdown",
  markdown: "markdown",
  mdown: "markdown",
  mkd: "markdown",
  txt: "text",
  text: "text",
  log: "text",
  csv: "csv",
  tsv: "csv",
  json: "json",
  jsonl: "json",
  ndjson: "json",
};

/** Formats people commonly try, named so the 415 message says what the file is. */
const KNOWN_UNSUPPORTED: Record<string, string> = {
  xlsx: "Excel spreadsheet (.xlsx)",
  xls: "Excel spreadsheet (.xls)",
  xlsm: "Excel spreadsheet (.xlsm)",
  pptx: "PowerPoint (.pptx)",
  ppt: "PowerPoint (.ppt)",
  odt: "OpenDocument (.odt)",
  ods: "OpenDocument (.ods)",
  odp: "OpenDocument (.odp)",
  rtf: "Rich Text (.rtf)",
  epub: "EPUB",
  zip: "Zip archive",
};

const CONTENT_TYPE_KIND: Record<string, DocumentKind> = {
  "application/pdf": "pdf",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
  "text/html": "html",
  "application/xhtml+xml": "html",
  "text/markdown": "markdown",
  "text/x-markdown": "markdown",
  "text/plain": "text",
  "text/csv": "csv",
  "text/tab-separated-values": "csv",
  "application/json": "json",
  "application/x-ndjson": "json",
};

/** Binary signatures that are certainly not documents we read. */
const BINARY_MAGIC: [number[], string][] = [
  [[0x89, 0x50, 0x4e, 0x47], "PNG image"],
  [[0xff, 0xd8, 0xff], "JPEG image"],
  [[0x47, 0x49, 0x46, 0x38], "GIF image"],
  [[0x1f, 0x8b], "Gzip archive"],
  [[0x37, 0x7a, 0xbc, 0xaf], "7-Zip archive"],
  [[0x52, 0x61, 0x72, 0x21], "RAR archive"],
  [[0x7f, 0x45, 0x4c, 0x46], "Executable"],
  [[0x4d, 0x5a], "Executable"],
  [[0x7b, 0x5c, 0x72, 0x74, 0x66], "Rich Text (.rtf)"],
];

export function extensionOf(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? "";
  const dot = base.lastIndexOf(".");
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : "";
}

export function detectKind(bytes: Uint8Array, name: string, contentType?: string | null): DocumentKind {
  if (bytes.length === 0) throw new ApiError("empty_document", "The file is empty.");
  const ext = extensionOf(name);

  if (findPdfHeader(bytes) >= 0) return "pdf";
  if (isZip(bytes)) return classifyZip(bytes, ext);
  if (isOle2(bytes)) {
    if (hasEncryptedPackage(bytes)) {
      throw new ApiError("encrypted_document", "This document is password-protected. Remove the password and upload it again.");
    }
    if (ext === "xls" || ext === "ppt") throw unsupported(KNOWN_UNSUPPORTED[ext]);
    throw LEGACY_WORD();
  }
  for (const [magic, what] of BINARY_MAGIC) {
    if (magic.every((v, i) => bytes[i] === v)) throw unsupported(what);
  }

  if (ext === "doc") throw LEGACY_WORD();
  if (KNOWN_UNSUPPORTED[ext]) throw unsupported(KNOWN_UNSUPPORTED[ext]);
  const mime = (contentType ?? "").split(";")[0].trim().toLowerCase();
  const declared = EXTENSION_KIND[ext] ?? CONTENT_TYPE_KIND[mime];
  if (declared === "pdf" || declared === "docx") {
    // Named or typed as PDF/DOCX, yet without the signature the format always has.
    throw new ApiError(
      "corrupt_document",
      `The file does not look like a valid ${declared.toUpperCase()} document. Please re-export it and upload again.`,
    );
  }

  if (looksBinary(bytes)) throw unsupported("Binary or unknown");
  if (declared) return declared;
  return sniffText(bytes);
}

/** pdf.js accepts a header anywhere in the first KiB (some producers prepend junk). */
export function findPdfHeader(b: Uint8Array): number {
  const limit = Math.min(b.length - 5, 1024);
  for (let i = 0; i <= limit; i++) {
    if (b[i] === 0x25 && b[i + 1] === 0x50 && b[i + 2] === 0x44 && b[i + 3] === 0x46 && b[i + 4] === 0x2d) return i;
  }
  return -1;
}

function classifyZip(bytes: Uint8Array, ext: string): DocumentKind {
  let names: string[];
  try {
    names = readCentralDirectory(bytes).map((e) => e.name);
  } catch (err) {
    // A cut-short package has no directory; the name tells us what it was meant to be, and a
    // damaged spreadsheet or slide deck is still a type we do not read.
    if (err instanceof ApiError && err.code === "corrupt_document" && KNOWN_UNSUPPORTED[ext] && ext !== "zip") {
      throw unsupported(KNOWN_UNSUPPORTED[ext]);
    }
    throw err;
  }
  if (names.includes("word/document.xml") || names.some((n) => n.startsWith("word/") && n.endsWith(".xml") && /document/i.test(n))) {
    return "docx";
  }
  if (names.some((n) => n.startsWith("xl/"))) throw unsupported("Excel spreadsheet (.xlsx)");
  if (names.some((n) => n.startsWith("ppt/"))) throw unsupported("PowerPoint (.pptx)");
  if (names.includes("mimetype") || names.some((n) => n.startsWith("META-INF/"))) {
    throw unsupported(KNOWN_UNSUPPORTED[ext] ?? "OpenDocument or EPUB");
  }
  if (ext === "docx") {
    throw new ApiError("unsupported_type", `This file is a zip archive, not a Word document. Upload a ${SUPPORTED_LIST} file.`);
  }
  throw unsupported("Zip archive");
}

function isOle2(b: Uint8Array): boolean {
  const sig = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];
  return b.length >= 512 && sig.every((v, i) => b[i] === v);
}

/**
 * An encrypted OOXML file is an OLE2 compound file with an "EncryptedPackage" stream. Directory
 * entries are 128 bytes, aligned to 128 from the 512-byte header, and start with the UTF-16LE name;
 * matching that layout (name length 34, type 2 = stream) avoids parsing the FAT chain.
 */
function hasEncryptedPackage(b: Uint8Array): boolean {
  const name = "EncryptedPackage";
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let at = 512; at + 128 <= b.length; at += 128) {
    if (view.getUint16(at + 64, true) !== (name.length + 1) * 2 || b[at + 66] !== 2) continue;
    let match = true;
    for (let i = 0; i < name.length && match; i++) match = view.getUint16(at + i * 2, true) === name.charCodeAt(i);
    if (match) return true;
  }
  return false;
}

/**
 * Text has almost no C0 control bytes; binary formats and random data have plenty. A few stray
 * NULs are tolerated (Markus Kuhn's UTF-8 test file contains one on purpose).
 */
export function looksBinary(bytes: Uint8Array): boolean {
  const sample = bytes.subarray(0, 8192);
  if (detectBom(sample) || detectWideEncoding(sample)) {
    const text = decodeText(sample).text;
    const bad = text.match(/[\u0000-\u0008\u000E-\u001A\u001C-\u001F\uFFFD]/g)?.length ?? 0;
    return bad > text.length * 0.1;
  }
  let nul = 0;
  let ctrl = 0;
  for (const c of sample) {
    if (c === 0) nul++;
    else if ((c < 0x20 && c !== 9 && c !== 10 && c !== 12 && c !== 13 && c !== 27) || c === 0x7f) ctrl++;
  }
  return nul > sample.length * 0.002 + 1 || nul + ctrl > sample.length * 0.05;
}

function sniffText(bytes: Uint8Array): DocumentKind {
  const head = decodeText(bytes.subarray(0, 2048)).text.trimStart().slice(0, 1024).toLowerCase();
  if (/^(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*<!doctype html/.test(head) || /<html[\s>]/.test(head)) return "html";
  if (/^\s*(<head[\s>]|<body[\s>])/.test(head)) return "html";
  return "text";
}
