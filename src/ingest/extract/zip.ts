/**
 * A minimal reader of the zip central directory, so an OOXML package can be classified and checked
 * against zip bombs and hostile XML before any library unpacks it. The directory is small and at
 * the end of the file; reading it ourselves costs nothing and gives sizes without inflating.
 */
import { ApiError } from "../../http/errors";
import { inflateWithin } from "./limits";

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  compressedSize: number;
  size: number;
  localOffset: number;
  crc: number;
  /** The name's bytes as stored (written back unchanged by `rebuildVerified`). */
  rawName: Uint8Array;
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
      crc: view.getUint32(p + 16, true),
      compressedSize: view.getUint32(p + 20, true),
      size: view.getUint32(p + 24, true),
      localOffset: view.getUint32(p + 42, true),
      // Names of OOXML parts are ASCII; latin1 keeps any byte as one char without failing.
      name: latin1(b.subarray(p + 46, p + 46 + nameLen)),
      rawName: b.subarray(p + 46, p + 46 + nameLen),
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

/** The stored (possibly compressed) bytes of an entry, located through its local header. */
function entryData(b: Uint8Array, entry: ZipEntry): Uint8Array {
  if (entry.flags & 1)
    throw new ApiError("encrypted_document", "This document is password-protected. Remove the password and upload it again.");
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const at = entry.localOffset;
  if (view.getUint32(at, true) !== LOC_SIG) throw corrupt("an archive entry is malformed");
  const start = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
  const end = start + entry.compressedSize;
  if (end > b.length) throw corrupt("an archive entry is cut short");
  if (entry.method !== 0 && entry.method !== 8) throw corrupt("an archive entry uses an unsupported compression method");
  return b.subarray(start, end);
}

/** Inflates an entry, never past `bound` bytes (a lying header is corrupt). */
async function inflateBounded(data: Uint8Array, bound: number, sink?: (piece: Uint8Array) => void): Promise<number> {
  const r = await inflateWithin(
    data,
    "deflate-raw",
    bound,
    () => {
      throw corrupt("an archive entry is larger than it claims");
    },
    sink,
  );
  if (r.damaged) throw corrupt("an archive entry cannot be decompressed");
  return r.size;
}

/**
 * A copy of the archive that holds only entries whose inflated size was measured here, each no
 * larger than it declared (at most ZIP_LIMITS.maxPartUncompressed, all together at most
 * maxTotalUncompressed): the compressed bytes are copied unchanged and the headers rewritten with
 * the measured sizes. A library given this copy (mammoth's JSZip) can open any part, whatever
 * `_rels/.rels` or the local headers name, and never inflate more than was verified. Entries are
 * inflated as streams and counted, not kept (except the ones `keep` asks for, returned by name).
 */
export async function rebuildVerified(
  b: Uint8Array,
  keep: (name: string) => boolean = () => false,
): Promise<{ archive: Uint8Array; kept: Map<string, Uint8Array> }> {
  const entries = readCentralDirectory(b);
  const names = new Set<string>();
  const kept = new Map<string, Uint8Array>();
  const out: { entry: ZipEntry; data: Uint8Array; size: number }[] = [];
  let total = 0;
  for (const entry of entries) {
    // Two entries of one name: which one a library opens is its choice, so neither is trusted.
    if (names.has(entry.name)) throw corrupt("the archive names a part twice");
    names.add(entry.name);
    const data = entryData(b, entry);
    const pieces: Uint8Array[] = [];
    const wanted = keep(entry.name);
    let size: number;
    if (entry.method === 0) {
      if (data.byteLength > entry.size) throw corrupt("an archive entry is larger than it claims");
      size = data.byteLength;
      if (wanted) pieces.push(data);
    } else {
      size = await inflateBounded(data, entry.size, wanted ? (p) => pieces.push(p) : undefined);
    }
    total += size;
    if (total > ZIP_LIMITS.maxTotalUncompressed)
      throw new ApiError("document_too_large", "The document is too large to process once unpacked.");
    if (wanted) kept.set(entry.name, join(pieces, size));
    out.push({ entry, data, size });
  }
  return { archive: writeZip(out), kept };
}

/** A zip of already-compressed entries with the given sizes (no data descriptors, no extras). */
function writeZip(items: { entry: ZipEntry; data: Uint8Array; size: number }[]): Uint8Array {
  let length = 22;
  for (const { entry, data } of items) length += 30 + 46 + 2 * entry.rawName.byteLength + data.byteLength;
  const out = new Uint8Array(length);
  const view = new DataView(out.buffer);
  const offsets: number[] = [];
  let o = 0;
  // Bit 11 (UTF-8 names) is kept; bit 3 (sizes after the data) is dropped: the sizes are known.
  const flagsOf = (e: ZipEntry) => e.flags & 0x0800;
  for (const { entry, data, size } of items) {
    offsets.push(o);
    view.setUint32(o, LOC_SIG, true);
    view.setUint16(o + 4, 20, true);
    view.setUint16(o + 6, flagsOf(entry), true);
    view.setUint16(o + 8, entry.method, true);
    view.setUint32(o + 14, entry.crc, true);
    view.setUint32(o + 18, data.byteLength, true);
    view.setUint32(o + 22, size, true);
    view.setUint16(o + 26, entry.rawName.byteLength, true);
    out.set(entry.rawName, o + 30);
    out.set(data, o + 30 + entry.rawName.byteLength);
    o += 30 + entry.rawName.byteLength + data.byteLength;
  }
  const cdStart = o;
  items.forEach(({ entry, data, size }, i) => {
    view.setUint32(o, CEN_SIG, true);
    view.setUint16(o + 4, 20, true);
    view.setUint16(o + 6, 20, true);
    view.setUint16(o + 8, flagsOf(entry), true);
    view.setUint16(o + 10, entry.method, true);
    view.setUint32(o + 16, entry.crc, true);
    view.setUint32(o + 20, data.byteLength, true);
    view.setUint32(o + 24, size, true);
    view.setUint16(o + 28, entry.rawName.byteLength, true);
    view.setUint32(o + 42, offsets[i], true);
    out.set(entry.rawName, o + 46);
    o += 46 + entry.rawName.byteLength;
  });
  view.setUint32(o, EOCD_SIG, true);
  view.setUint16(o + 8, items.length, true);
  view.setUint16(o + 10, items.length, true);
  view.setUint32(o + 12, o - cdStart, true);
  view.setUint32(o + 16, cdStart, true);
  return out;
}

function join(chunks: Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
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
