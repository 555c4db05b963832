import { CJK_CLASS, isCjk, STOPWORDS } from "../../text";

/**
 * Turns free text into keyword queries for the collection index: Latin-script (and other
 * space-separated) words go to the porter FTS5 table; runs of CJK script (Han, Hiragana, Katakana,
 * Hangul), which `unicode61` would keep as one long token, go to the trigram table as overlapping
 * trigrams. Runs of one or two CJK characters cannot form a trigram: they, and the bigrams of longer
 * runs when no trigram matches (CJK words are often two characters), are matched as substrings of
 * the CJK chunks. In a question with CJK text, its Latin words are looked up in the CJK chunks as well.
 */

export const CJK_RUN = new RegExp(`[${CJK_CLASS}]+`, "gu");

/** Whether a chunk holds CJK text (only those are copied into the trigram table). */
export const hasCjk = isCjk;

export interface KeywordQuery {
  /** The Latin-script (space-separated) words, each one quoted phrase of `porter`. */
  words: string[];
  /** FTS5 MATCH expression for the porter table, or null. */
  porter: string | null;
  /** FTS5 MATCH expression for the trigram table, or null. */
  trigram: string | null;
  /** Substrings (1-2 CJK characters) matched with instr(); at most MAX_SUBSTRINGS. */
  short: string[];
  /** Bigrams of the longer runs, the fallback when no trigram matches. */
  bigrams: string[];
}

/** Substring terms per query (each is a bound parameter, and a scan of the CJK chunks). */
export const MAX_SUBSTRINGS = 16;

/**
 * Every term is quoted, so user input can never inject FTS5 syntax; terms are joined by OR, which
 * is what BM25 ranking expects.
 */
export function keywordQuery(text: string, maxTerms = 64): KeywordQuery {
  const normalised = text.normalize("NFKC").toLowerCase();
  const runs = normalised.match(CJK_RUN) ?? [];
  const rest = normalised.replace(CJK_RUN, " ");
  const words = rest.match(/[\p{L}\p{N}]+/gu) ?? [];
  const all = [...new Set(words)];
  const content = all.filter((w) => !STOPWORDS.has(w));
  const latin = (content.length > 0 ? content : all).slice(0, maxTerms);

  const grams = new Set<string>();
  const short = new Set<string>();
  const bigrams = new Set<string>();
  for (const run of runs) {
    const chars = [...run];
    if (chars.length < 3) short.add(run);
    else {
      for (let i = 0; i + 3 <= chars.length && grams.size < maxTerms; i++) grams.add(chars.slice(i, i + 3).join(""));
      for (let i = 0; i + 2 <= chars.length; i++) bigrams.add(chars.slice(i, i + 2).join(""));
    }
  }
  // A Latin word in a CJK question ("DNC是什么") is most often written inside CJK text too
  // ("名为DNC（…）"), where unicode61 makes it part of one long token that the porter table never
  // matches: look it up as a substring of the CJK chunks as well.
  if (runs.length > 0)
    for (const w of latin) {
      if ([...w].length >= 3) {
        if (grams.size < maxTerms) grams.add(w);
      } else short.add(w);
    }
  return {
    words: latin,
    porter: latin.length ? latin.map((w) => `"${w}"`).join(" OR ") : null,
    trigram: grams.size ? [...grams].map((g) => `"${g}"`).join(" OR ") : null,
    short: [...short].slice(0, MAX_SUBSTRINGS),
    bigrams: [...bigrams].slice(0, MAX_SUBSTRINGS),
  };
}

/** Back-compatible helper: the porter expression alone. */
export function ftsQuery(text: string, maxTerms = 64): string | null {
  return keywordQuery(text, maxTerms).porter;
}
