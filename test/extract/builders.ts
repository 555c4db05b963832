/**
 * Tiny document builders so the core suites run anywhere, without the shared corpus: a zip writer
 * (stored or deflated entries), a minimal DOCX, a hand-made PDF with correct xref offsets, an OLE2
 * shell, and byte helpers for the text encodings.
 */
import { expect } from "vitest";
import { ApiError, type ErrorCode } from "../../src/http/errors";

export const utf8 = (s: string) => new TextEncoder().encode(s);

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function utf16(s: string, littleEndian: boolean, bom: boolean): Uint8Array {
  const out = new Uint8Array((bom ? 2 : 0) + s.length * 2);
  const view = new DataView(out.buffer);
  let o = 0;
  if (bom) {
    view.setUint16(0, 0xfeff, littleEndian);
    o = 2;
  }
  for (let i = 0; i < s.length; i++, o += 2) view.setUint16(o, s.charCodeAt(i), littleEndian);
  return out;
}

export function utf32(s: string, littleEndian: boolean, bom: boolean): Uint8Array {
  const cps = [...s].map((c) => c.codePointAt(0) as number);
  if (bom) cps.unshift(0xfeff);
  const out = new Uint8Array(cps.length * 4);
  const view = new DataView(out.buffer);
  cps.forEach((cp, i) => {
    view.setUint32(i * 4, cp, littleEndian);
  });
  return out;
}

// ---------------------------------------------------------------- zip

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

async function deflateRaw(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data]).stream().pipeThrough(new CompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export interface ZipInput {
  name: string;
  data: Uint8Array | string;
  /** Overrides the uncompressed size written in the headers (to fake bombs and liars). */
  declaredSize?: number;
  /** `data` is already raw-deflated (a bomb from `deflatedRun`): stored as method 8 as it is. */
  predeflated?: boolean;
}

/**
 * `size` bytes of `byte`, deflated as a stream (never held whole): a few hundred MB of spaces
 * become a few hundred KB. `format` "deflate-raw" for zip entries, "deflate" (zlib) for PDF streams.
 */
export async function deflatedRun(size: number, format: "deflate" | "deflate-raw", byte = 0x20): Promise<Uint8Array> {
  const piece = new Uint8Array(1024 * 1024).fill(byte);
  let left = size;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (left <= 0) return controller.close();
      const n = Math.min(left, piece.length);
      controller.enqueue(n === piece.length ? piece : piece.subarray(0, n));
      left -= n;
    },
  });
  return new Uint8Array(await new Response(source.pipeThrough(new CompressionStream(format))).arrayBuffer());
}

export async function buildZip(entries: ZipInput[], opts: { deflate?: boolean } = {}): Promise<Uint8Array> {
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const raw = typeof e.data === "string" ? utf8(e.data) : e.data;
    const body = e.predeflated ? raw : opts.deflate ? await deflateRaw(raw) : raw;
    const name = utf8(e.name);
    const size = e.declaredSize ?? raw.length;
    const crc = e.predeflated ? 0 : crc32(raw);
    const method = opts.deflate || e.predeflated ? 8 : 0;

    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, method, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, body.length, true);
    lv.setUint32(22, size, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);

    const central = new Uint8Array(46 + name.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(10, method, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, body.length, true);
    cv.setUint32(24, size, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    central.set(name, 46);

    locals.push(local, body);
    centrals.push(central);
    offset += local.length + body.length;
  }
  const cd = concat(...centrals);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cd.length, true);
  ev.setUint32(16, offset, true);
  return concat(...locals, cd, end);
}

// ---------------------------------------------------------------- docx

const W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"';

export function docxParts(bodyXml: string, extra: Record<string, string> = {}): ZipInput[] {
  return [
    {
      name: "[Content_Types].xml",
      data: `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/></Types>`,
    },
    {
      name: "_rels/.rels",
      data: `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`,
    },
    {
      name: "word/_rels/document.xml.rels",
      data: `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>`,
    },
    {
      name: "word/styles.xml",
      data: `<?xml version="1.0" encoding="UTF-8"?><w:styles ${W}><w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/></w:style><w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/></w:style></w:styles>`,
    },
    { name: "word/document.xml", data: `<?xml version="1.0" encoding="UTF-8"?><w:document ${W}><w:body>${bodyXml}</w:body></w:document>` },
    ...Object.entries(extra).map(([name, data]) => ({ name, data })),
  ];
}

export const para = (text: string, style?: string) =>
  `<w:p>${style ? `<w:pPr><w:pStyle w:val="${style}"/></w:pPr>` : ""}<w:r><w:t xml:space="preserve">${text}</w:t></w:r></w:p>`;

export const table = (rows: string[][]) =>
  `<w:tbl>${rows.map((r) => `<w:tr>${r.map((c) => `<w:tc>${para(c)}</w:tc>`).join("")}</w:tr>`).join("")}</w:tbl>`;

// ---------------------------------------------------------------- pdf

export interface PdfPage {
  /** Lines of text drawn with Helvetica; empty for an image-only page. */
  lines: string[];
}

/** A valid PDF with a correct xref table (pdf.js must not need to reconstruct it). */
export function buildPdf(pages: PdfPage[], opts: { encrypt?: boolean; recursiveForm?: boolean } = {}): Uint8Array {
  const objects: string[] = [];
  const add = (body: string) => objects.push(body); // push returns the 1-based object number
  const catalog = add("");
  const pagesObj = add("");
  const font = add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>");
  const kids: number[] = [];
  for (const page of pages) {
    const esc = (s: string) => s.replace(/[\\()]/g, (c) => `\\${c}`);
    let content = page.lines.length ? `BT /F1 12 Tf 14 TL 72 720 Td ${page.lines.map((l) => `(${esc(l)}) Tj T*`).join(" ")} ET` : "";
    let xobject = "";
    if (opts.recursiveForm) {
      // A form XObject that draws text and then itself: infinite recursion if unguarded.
      const form = objects.length + 1;
      const stream = "BT /F1 12 Tf 72 700 Td (Loop) Tj ET /X0 Do";
      add(
        `<< /Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /Font << /F1 ${font} 0 R >> /XObject << /X0 ${form} 0 R >> >> /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
      );
      xobject = ` /XObject << /X0 ${form} 0 R >>`;
      content += " /X0 Do";
    }
    const contents = add(`<< /Length ${content.length} >>\nstream\n${content}\nendstream`);
    kids.push(
      add(
        `<< /Type /Page /Parent ${pagesObj} 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 ${font} 0 R >>${xobject} >> /Contents ${contents} 0 R >>`,
      ),
    );
  }
  objects[catalog - 1] = `<< /Type /Catalog /Pages ${pagesObj} 0 R >>`;
  objects[pagesObj - 1] = `<< /Type /Pages /Kids [${kids.map((k) => `${k} 0 R`).join(" ")}] /Count ${kids.length} >>`;
  let encrypt = "";
  if (opts.encrypt) {
    // Standard security handler with an owner/user hash the empty password does not match, so a
    // reader must ask for a password. (The content is not really encrypted; it is never reached.)
    const hex32 = "A5".repeat(32);
    const enc = add(`<< /Filter /Standard /V 1 /R 2 /O <${hex32}> /U <${"5A".repeat(32)}> /P -4 >>`);
    encrypt = ` /Encrypt ${enc} 0 R /ID [<00112233445566778899AABBCCDDEEFF> <00112233445566778899AABBCCDDEEFF>]`;
  }

  let out = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, "0")} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root ${catalog} 0 R${encrypt} >>\nstartxref\n${xref}\n%%EOF\n`;
  // Latin-1 so the binary comment bytes stay single bytes.
  return Uint8Array.from(out, (c) => c.charCodeAt(0));
}

/**
 * A one-page PDF whose content stream is `compressed` (zlib), with `/FlateDecode` and nothing else:
 * a stream with no text operator can still inflate to hundreds of MB.
 */
export function pdfWithFlateStream(compressed: Uint8Array, textLine = "Hello"): Uint8Array {
  const bin = (b: Uint8Array) => {
    let s = "";
    for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
    return s;
  };
  const text = `BT /F1 12 Tf 72 720 Td (${textLine}) Tj ET`;
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents [5 0 R 6 0 R] >>",
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    `<< /Length ${text.length} >>\nstream\n${text}\nendstream`,
    `<< /Length ${compressed.length} /Filter /FlateDecode >>\nstream\n${bin(compressed)}\nendstream`,
  ];
  let out = "%PDF-1.4\n";
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, "0")} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Uint8Array.from(out, (c) => c.charCodeAt(0));
}

// ---------------------------------------------------------------- OLE2 (compound file)

/** A compound-file shell with one directory entry of the given name (enough for detection). */
export function buildOle2(streamName: string): Uint8Array {
  const out = new Uint8Array(512 * 3);
  out.set([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
  const view = new DataView(out.buffer);
  const entry = (at: number, name: string, type: number) => {
    for (let i = 0; i < name.length; i++) view.setUint16(at + i * 2, name.charCodeAt(i), true);
    view.setUint16(at + 64, (name.length + 1) * 2, true);
    out[at + 66] = type;
  };
  entry(512, "Root Entry", 5);
  entry(640, streamName, 2);
  return out;
}

// ---------------------------------------------------------------- assertions

/** The error an end user would see: right code and status, a short plain sentence, no internals. */
export async function expectApiError(promise: Promise<unknown> | (() => unknown), code: ErrorCode): Promise<ApiError> {
  let caught: unknown;
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected ApiError ${code}`).toBeInstanceOf(ApiError);
  const err = caught as ApiError;
  expect(err.code).toBe(code);
  expectCleanMessage(err.message);
  return err;
}

export function expectCleanMessage(message: string): void {
  expect(message.length).toBeGreaterThan(10);
  expect(message.length).toBeLessThan(300);
  expect(message).not.toMatch(/\n\s+at |\bat [\w.]+ \(|Error:|Exception|undefined|null|\.js\b|\.ts\b/);
}
