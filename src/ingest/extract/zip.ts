/**
 * A minimal reader of the zip central directory, so an OOXML package can be classified and checked
 * against zip bombs and hostile XML before any library unpacks it. The directory is small and at
 * the end of the file; reading it ourselves costs nothing and gives sizes without inflating.
 */
import { ApiError } from "../../http/errors";

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

/**
 * Limits for any package we open: a DOCX has tens of parts and rarely tens of MB. Every part counts,
 * since mammoth may open any of them (XML, relationships, and images when it converts them); the
 * total stays well below the 128 MB of an isolate, which also holds the upload and mammoth's output.
 */
export const ZIP_LIMITS = { maxEntries: 5_000, maxPartUncompressed: 16 * 1024 * 1024, maxTotalUncompressed: 48 * 1024 * 1024 };

const EOCD_SIG = 0x06054b50;
const CEN_SIG = 0x02014b50;
const LOC_SIG = 0x04034b50;

const corrupt = (what: string) =>
  new ApiError("corrupt_document", `The file is damaged or incomplete (${what}). Please re-save or re-export it and upload again.`);

export function isZip(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && (b[2] === 3 || b[2] === 5) && (b[3] === 4 || b[3] === 6);
}

/** Parses the central directory; throws `corrupt_document` when it is missing or inconsistent. */
export function readCentralDirectory(b: Uint8Array): ZipEntry[] {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  // The end record is 22 bytes plus a comment of at most 65,535 bytes.
  let eocd = -1;
  for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw corrupt("the archive's directory is missing, the file was probably cut short");

  const count = view.getUint16(eocd + 10, true);
  const cdSize = view.getUint32(eocd + 12, true);
  const cdOffset = view.getUint32(eocd + 16, true);
  if (count === 0xffff || cdOffset === 0xffffffff) {
    // ZIP64 is never needed for documents of the size we accept.
    throw new ApiError("document_too_large", "The document is too large to process.");
  }
  if (count === 0) throw corrupt("the archive is empty");
  if (count > ZIP_LIMITS.maxEntries) throw new ApiError("document_too_large", "The document has too many parts to process.");
  if (cdOffset + cdSize > eocd) throw corrupt("the archive's directory points outside the file");

  const entries: ZipEntry[] = [];
  let p = cdOffset;
  let total = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > eocd || view.getUint32(p, true) !== CEN_SIG) throw corrupt("the archive's directory is malformed");
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    const entry: ZipEntry = {
      flags: view.getUint16(p + 8, true),
      method: view.getUint16(p + 10, true),
      compressedSize: view.getUint32(p + 20, true),
      size: view.getUint32(p + 24, true),
      localOffset: view.getUint32(p + 42, true),
      // Names of OOXML parts are ASCII; latin1 keeps any byte as one char without failing.
      name: latin1(b.subarray(p + 46, p + 46 + nameLen)),
    };
    if (entry.size > ZIP_LIMITS.maxPartUncompressed)
      throw new ApiError("document_too_large", "The document has a part that is too large to process once unpacked.");
    total += entry.size;
    if (total > ZIP_LIMITS.maxTotalUncompressed)
      throw new ApiError("document_too_large", "The document is too large to process once unpacked.");
    if (entry.localOffset + 30 > cdOffset) throw corrupt("an archive entry points outside the file");
    entries.push(entry);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** Inflates one entry, never producing more than its declared size (a lying header is corrupt). */
export async function readEntry(b: Uint8Array, entry: ZipEntry): Promise<Uint8Array> {
  if (entry.flags & 1)
    throw new ApiError("encrypted_document", "This document is password-protected. Remove the password and upload it again.");
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const at = entry.localOffset;
  if (view.getUint32(at, true) !== LOC_SIG) throw corrupt("an archive entry is malformed");
  const start = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
  const end = start + entry.compressedSize;
  if (end > b.length) throw corrupt("an archive entry is cut short");
  const data = b.subarray(start, end);
  if (entry.method === 0) return data;
  if (entry.method !== 8) throw corrupt("an archive entry uses an unsupported compression method");

  const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > entry.size) {
        await reader.cancel();
        throw corrupt("an archive entry is larger than it claims");
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw corrupt("an archive entry cannot be decompressed");
  }
  const out = new Uint8Array(size);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (const c of bytes) s += String.fromCharCode(c);
  return s;
}
