/** A bracket holding one or more comma-separated numbers: `[3]`, `[1, 2]`, `[1,2,3]`. */
const CITATION = /\[(\s*\d{1,4}\s*(?:,\s*\d{1,4}\s*)*)\](?!\()/g;

/**
 * Source numbers cited in an answer, ascending and without duplicates. Understands `[n]`,
 * `[n, m]` and `[n][m]`; numbers outside 1..sourceCount are dropped (a model may invent them, or
 * the text may quote a year in brackets), and so are markdown links `[1](...)`.
 */
export function extractCitations(answer: string, sourceCount: number): number[] {
  const found = new Set<number>();
  for (const m of answer.matchAll(CITATION)) {
    for (const part of m[1].split(",")) {
      const n = Number(part.trim());
      if (Number.isInteger(n) && n >= 1 && n <= sourceCount) found.add(n);
    }
  }
  return [...found].sort((a, b) => a - b);
}

/** Brackets a document may use to dress a number up as a citation: ASCII, fullwidth, CJK lenticular and tortoise-shell. */
const OPEN = "[\\[\uff3b\u3010\u3014\u3016\u301a]";
const CLOSE = "[\\]\uff3d\u3011\u3015\u3017\u301b]";
/** Digits of any width and superscript/subscript digits. */
const DIGIT = "[0-9\uff10-\uff19\u00b2\u00b3\u00b9\u2070\u2074-\u2079\u2080-\u2089]";
/** Separators inside a marker: spaces, commas (also ideographic), semicolons, range dashes. */
const SEP = "[\\s,;\u3001\uff0c\\-\u2013\u2014~]";
const FORGED = new RegExp(`${OPEN}(${SEP}{0,8}${DIGIT}{1,6}(?:${SEP}{1,8}${DIGIT}{1,6}){0,30}${SEP}{0,8})${CLOSE}`, "g");

/** What a neutralised marker is bracketed with: not a citation to any reader or parser of answers. */
export const NEUTRAL_OPEN = "\u27e6";
export const NEUTRAL_CLOSE = "\u27e7";

/**
 * Makes every bracketed-number form in a passage inert before any answerer sees it: `[2]`,
 * `[ 2 ]`, `[1, 2]`, `【2】`, `［２］`, `[²]` become `⟦2⟧` and the like, so a document can neither
 * forge a citation in a model's answer nor have one quoted verbatim by the extractive answerer.
 * Only the two bracket characters change (one UTF-16 unit each), so every offset into the passage
 * stays an offset into the chunk's text. Linear time.
 */
export function neutraliseMarkers(text: string): string {
  if (!/[[\uff3b\u3010\u3014\u3016\u301a]/.test(text)) return text;
  return text.replace(FORGED, (_m, inner: string) => `${NEUTRAL_OPEN}${inner}${NEUTRAL_CLOSE}`);
}
