/**
 * Bytes to string for text-like formats. Order matters: BOMs are authoritative; UTF-16/32 without
 * a BOM must be caught before strict UTF-8 (ASCII in UTF-16 with NULs is valid UTF-8); a declared
 * charset only counts once UTF-8 has failed, because pages often declare a charset they are not in
 * (readability's qq.html says gb2312 but is UTF-8).
 */

export interface Decoded {
  text: string;
  encoding: string;
}

type Bom = { encoding: "utf-8" | "utf-16le" | "utf-16be" | "utf-32le" | "utf-32be"; length: number };

export function detectBom(b: Uint8Array): Bom | null {
  // UTF-32LE must be tested before UTF-16LE: its BOM starts with FF FE too.
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xfe && b[2] === 0 && b[3] === 0) return { encoding: "utf-32le", length: 4 };
  if (b.length >= 4 && b[0] === 0 && b[1] === 0 && b[2] === 0xfe && b[3] === 0xff) return { encoding: "utf-32be", length: 4 };
  if (b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return { encoding: "utf-8", length: 3 };
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) return { encoding: "utf-16le", length: 2 };
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) return { encoding: "utf-16be", length: 2 };
  return null;
}

/** UTF-16/32 without a BOM, recognised by where the zero bytes of Latin text fall. */
export function detectWideEncoding(b: Uint8Array): "utf-16le" | "utf-16be" | "utf-32le" | "utf-32be" | null {
  const n = Math.min(b.length, 8192) & ~3;
  if (n < 8) return null;
  const zeros = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) if (b[i] === 0) zeros[i % 4]++;
  const quarter = n / 4;
  const [z0, z1, z2, z3] = zeros.map((z) => z / quarter);
  if (z2 > 0.95 && z3 > 0.95 && z0 < 0.05) return "utf-32le";
  if (z0 > 0.95 && z1 > 0.95 && z3 < 0.05) return "utf-32be";
  const even = (z0 + z2) / 2;
  const odd = (z1 + z3) / 2;
  if (odd > 0.3 && even < 0.05) return "utf-16le";
  if (even > 0.3 && odd < 0.05) return "utf-16be";
  return null;
}

/** workerd's TextDecoder has no UTF-32, so decode it by hand (invalid units become U+FFFD). */
export function decodeUtf32(b: Uint8Array, littleEndian: boolean): string {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const parts: string[] = [];
  let codes: number[] = [];
  const whole = b.length - (b.length % 4);
  for (let i = 0; i < whole; i += 4) {
    const cp = view.getUint32(i, littleEndian);
    codes.push(cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? 0xfffd : cp);
    if (codes.length === 8192) {
      parts.push(String.fromCodePoint(...codes));
      codes = [];
    }
  }
  if (whole !== b.length) codes.push(0xfffd);
  parts.push(String.fromCodePoint(...codes));
  return parts.join("");
}

/** The label TextDecoder knows it by, or null when workerd does not support it. */
export function canonicalLabel(label: string): string | null {
  try {
    return new TextDecoder(label.trim().toLowerCase()).encoding;
  } catch {
    return null;
  }
}

/** `<meta charset>`, `<meta http-equiv content="...; charset=">` or `<?xml encoding=?>` near the top. */
export function declaredCharset(b: Uint8Array): string | null {
  const head = new TextDecoder("windows-1252").decode(b.subarray(0, 4096));
  const m = /<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)/i.exec(head) ?? /<\?xml[^>]+encoding\s*=\s*["']([\w.:-]+)["']/i.exec(head);
  return m ? m[1] : null;
}

export function charsetFromContentType(contentType?: string | null): string | null {
  const m = contentType ? /;\s*charset\s*=\s*"?([\w.:-]+)"?/i.exec(contentType) : null;
  return m ? m[1] : null;
}

/** Counts well-formed multi-byte UTF-8 sequences and invalid high bytes. */
function utf8Shape(b: Uint8Array): { valid: number; invalid: number } {
  let valid = 0;
  let invalid = 0;
  for (let i = 0; i < b.length; ) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    const need = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    let ok = need > 0;
    for (let k = 1; ok && k <= need; k++) ok = i + k < b.length && (b[i + k] & 0xc0) === 0x80;
    if (ok) {
      valid++;
      i += need + 1;
    } else {
      invalid++;
      i++;
    }
  }
  return { valid, invalid };
}

/**
 * Shift_JIS is accepted only when it decodes without error and its double-byte characters mostly
 * use lead bytes 0x81–0x9F (kana, punctuation, level-1 kanji). Latin-1 accented letters are
 * 0xC0–0xFF, which Shift_JIS reads as rare level-2 kanji or half-width katakana, so a German
 * "äöüß" does not pass.
 */
function tryShiftJis(b: Uint8Array): string | null {
  let text: string;
  try {
    text = new TextDecoder("shift_jis", { fatal: true, ignoreBOM: false }).decode(b);
  } catch {
    return null;
  }
  let pairs = 0;
  let common = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if ((c >= 0x81 && c <= 0x9f) || (c >= 0xe0 && c <= 0xfc)) {
      pairs++;
      if (c <= 0x9f) common++;
      i++;
    }
  }
  if (pairs < 2 || common / pairs < 0.6) return null;
  const japanese = text.match(/[\u3000-\u30ff\u4e00-\u9fff\uff01-\uff5e]/g)?.length ?? 0;
  return japanese >= pairs * 0.8 ? text : null;
}

export function decodeText(bytes: Uint8Array, hints: { declared?: string | null; sniffMeta?: boolean } = {}): Decoded {
  const bom = detectBom(bytes);
  if (bom) return decodeAs(bytes.subarray(bom.length), bom.encoding);

  const wide = detectWideEncoding(bytes);
  if (wide) return decodeAs(bytes, wide);

  try {
    return { text: new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes), encoding: "utf-8" };
  } catch {
    // not clean UTF-8: fall through to the declared charset and the heuristics
  }

  const declared = hints.declared ?? (hints.sniffMeta ? declaredCharset(bytes) : null);
  const label = declared ? canonicalLabel(declared) : null;
  if (label) {
    // A declared UTF-16 on bytes without its NUL pattern is a lie browsers also ignore.
    const effective = label.startsWith("utf-16") ? "utf-8" : label;
    return { text: new TextDecoder(effective).decode(bytes), encoding: effective };
  }

  const sjis = tryShiftJis(bytes);
  if (sjis !== null) return { text: sjis, encoding: "shift_jis" };

  // Mostly valid UTF-8 with some damage (Markus Kuhn's test file): windows-1252 text practically
  // never forms well-formed multi-byte sequences, so a fair number of them means UTF-8.
  const shape = utf8Shape(bytes);
  if (shape.valid >= 4 && shape.valid >= shape.invalid * 0.1) {
    return { text: new TextDecoder("utf-8").decode(bytes), encoding: "utf-8" };
  }
  return { text: new TextDecoder("windows-1252").decode(bytes), encoding: "windows-1252" };
}

function decodeAs(b: Uint8Array, encoding: Bom["encoding"]): Decoded {
  if (encoding === "utf-32le" || encoding === "utf-32be") {
    return { text: decodeUtf32(b, encoding === "utf-32le"), encoding };
  }
  // ignoreBOM: the BOM was already stripped (or absent); keep any further U+FEFF for the normaliser.
  return { text: new TextDecoder(encoding, { fatal: false, ignoreBOM: true }).decode(b), encoding };
}
