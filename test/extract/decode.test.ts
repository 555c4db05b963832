import { describe, expect, it } from "vitest";
import { canonicalLabel, decodeText, decodeUtf32 } from "../../src/ingest/extract/decode";
import { isBlank, normalizeText } from "../../src/ingest/extract/normalize";
import { concat, utf16, utf32, utf8 } from "./builders";

const SAMPLE = "Grüße, 世界! ελληνικά 😀";

describe("TextDecoder labels in workerd", () => {
  // Recorded so a runtime change that drops a legacy label shows up here, not as garbled uploads.
  it.each([
    ["utf-8", "utf-8"],
    ["utf-16le", "utf-16le"],
    ["utf-16be", "utf-16be"],
    ["windows-1252", "windows-1252"],
    ["latin1", "windows-1252"],
    ["iso-8859-1", "windows-1252"],
    ["shift_jis", "shift_jis"],
    ["windows-31j", "shift_jis"],
    ["euc-jp", "euc-jp"],
    ["gb2312", "gbk"],
    ["gb18030", "gb18030"],
    ["big5", "big5"],
    ["euc-kr", "euc-kr"],
    ["koi8-r", "koi8-r"],
    ["windows-1251", "windows-1251"],
  ])("supports %s", (label, canonical) => {
    expect(canonicalLabel(label)).toBe(canonical);
  });

  it("has no UTF-32 (decoded by hand instead) and no cp932 label", () => {
    expect(canonicalLabel("utf-32le")).toBeNull();
    expect(canonicalLabel("utf-32be")).toBeNull();
    expect(canonicalLabel("cp932")).toBeNull();
  });
});

describe("decodeText", () => {
  it.each([
    ["utf-8", concat(new Uint8Array([0xef, 0xbb, 0xbf]), utf8(SAMPLE))],
    ["utf-16le", utf16(SAMPLE, true, true)],
    ["utf-16be", utf16(SAMPLE, false, true)],
    ["utf-32le", utf32(SAMPLE, true, true)],
    ["utf-32be", utf32(SAMPLE, false, true)],
  ])("follows a %s BOM and strips it", (encoding, bytes) => {
    expect(decodeText(bytes)).toEqual({ text: SAMPLE, encoding });
  });

  it.each([
    ["utf-16le", utf16("Plain Latin text, no BOM.\n", true, false)],
    ["utf-16be", utf16("Plain Latin text, no BOM.\n", false, false)],
    ["utf-32le", utf32("Plain Latin text, no BOM.\n", true, false)],
    ["utf-32be", utf32("Plain Latin text, no BOM.\n", false, false)],
  ])("recognises %s without a BOM by its NUL pattern", (encoding, bytes) => {
    expect(decodeText(bytes)).toEqual({ text: "Plain Latin text, no BOM.\n", encoding });
  });

  it("decodes UTF-32 by hand, replacing invalid code units", () => {
    const bytes = concat(utf32("ok", true, false), new Uint8Array([0xff, 0xff, 0xff, 0x7f, 0x41]));
    expect(decodeUtf32(bytes, true)).toBe("ok\uFFFD\uFFFD");
  });

  it("takes clean UTF-8 as UTF-8 even when a page declares something else", () => {
    const bytes = utf8('<meta charset="gb2312"><p>中文 text</p>');
    expect(decodeText(bytes, { sniffMeta: true })).toEqual({ text: '<meta charset="gb2312"><p>中文 text</p>', encoding: "utf-8" });
  });

  it("uses the <meta charset> of a page that is not UTF-8", () => {
    const koi8 = new Uint8Array([0xf0, 0xd2, 0xc9, 0xd7, 0xc5, 0xd4]); // "Привет" in KOI8-R
    const bytes = concat(utf8('<html><head><meta charset="koi8-r"></head><body>'), koi8, utf8("</body></html>"));
    const out = decodeText(bytes, { sniffMeta: true });
    expect(out.encoding).toBe("koi8-r");
    expect(out.text).toContain("Привет");
  });

  it("uses the XML declaration's encoding and a content-type charset", () => {
    const latin = concat(utf8('<?xml version="1.0" encoding="ISO-8859-1"?><a>'), new Uint8Array([0xe9]), utf8("</a>"));
    expect(decodeText(latin, { sniffMeta: true }).text).toContain("<a>é</a>");
    const cyr = new Uint8Array([0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2]); // "Привет" in windows-1251
    expect(decodeText(cyr, { declared: "windows-1251" })).toEqual({ text: "Привет", encoding: "windows-1251" });
  });

  it("recognises Shift_JIS Japanese, kanji only included", () => {
    // "名前,住所\n佐藤,東京" in Shift_JIS
    const sjis = new Uint8Array([
      0x96, 0xbc, 0x91, 0x4f, 0x2c, 0x8f, 0x5a, 0x8f, 0x8a, 0x0a, 0x8d, 0xb2, 0x93, 0xa1, 0x2c, 0x93, 0x8c, 0x8b, 0x9e,
    ]);
    expect(decodeText(sjis)).toEqual({ text: "名前,住所\n佐藤,東京", encoding: "shift_jis" });
  });

  it("falls back to windows-1252 for Latin text, including runs Shift_JIS would accept", () => {
    const bytes = concat(
      utf8("## k"),
      new Uint8Array([0xf6]),
      utf8("nnen\n\n"),
      new Uint8Array([0xe4, 0xf6, 0xfc, 0xdf, 0x20, 0x80]),
      utf8(" 5"),
    );
    expect(decodeText(bytes)).toEqual({ text: "## können\n\näöüß € 5", encoding: "windows-1252" });
  });

  it("keeps mostly valid UTF-8 with malformed sequences as UTF-8 with U+FFFD (Kuhn-style)", () => {
    const good = utf8("κόσμε — valid text ✓ ünïcödé ".repeat(3));
    const bad = new Uint8Array([0x80, 0xbf, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xfe, 0xff]);
    const out = decodeText(concat(good, bad, good));
    expect(out.encoding).toBe("utf-8");
    expect(out.text).toContain("κόσμε");
    expect(out.text).toContain("\uFFFD");
  });
});

describe("normalizeText", () => {
  it("removes NULs and controls, composes to NFC, collapses spaces, keeps paragraph breaks", () => {
    const input = "  Cafe\u0301\u0000 au\t\tlait \u00A0 now\r\n\r\n\r\n\r\nNext\u0007 para\u3000end  \n";
    expect(normalizeText(input)).toBe("Café au lait now\n\nNext para end");
  });

  it("treats Unicode spaces as blank", () => {
    expect(isBlank(" \n\t\u00A0\u3000\uFEFF")).toBe(true);
    expect(isBlank(" a ")).toBe(false);
  });
});
