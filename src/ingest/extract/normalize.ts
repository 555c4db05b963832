/**
 * Whitespace and Unicode clean-up shared by every format, so chunking and search see the same
 * text whatever the source was.
 */

// C0/C1 controls other than tab and newline: NULs and friends break SQLite FTS and JSON consumers.
// U+FEFF inside text is a stray BOM from concatenated files.
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\uFEFF]/g;
// Horizontal whitespace, including NBSP and the Unicode space separators (U+3000 ideographic space).
const HSPACE = /[ \t\u00A0\u1680\u2000-\u200A\u202F\u205F\u3000]+/g;

export function normalizeText(input: string): string {
  const text = input
    .replace(/\r\n?|\u2028|\u2029/g, "\n")
    .replace(CONTROL, "")
    .normalize("NFC");
  const lines = text.split("\n").map((line) => line.replace(HSPACE, " ").trim());
  return lines
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

/** True when nothing but whitespace (of any script) remains. */
export function isBlank(text: string): boolean {
  return !/[^\s\u00A0\u2000-\u200B\u3000\uFEFF]/.test(text);
}
