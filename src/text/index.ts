/**
 * The one text module: tokens, stopwords and the stemmer shared by keyword search (query terms),
 * the local hash embedder and the extractive answerer, so the three agree on what a word is.
 *
 * - Words are runs of letters, marks and digits (`WORD`); CJK scripts, written without spaces,
 *   are told apart by `CJK_RUN` / `isCjk` and handled per use (bigrams, n-grams).
 * - `STOPWORDS`: Lucene's English list plus the most frequent English function words.
 * - `stem`: the Porter (1980) stemmer as in SQLite's FTS5 `porter` tokenizer (the keyword index's
 *   own), checked against it word by word in test/text/stem.test.ts; non-ASCII words are kept.
 */
import { porterStem } from "./porter";

export { porterStem };

/** A word: letters, combining marks and digits (any script). */
export const WORD = /[\p{L}\p{M}\p{N}]+/gu;
/** Scripts written without spaces between words. */
export const CJK_CLASS = "\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Hangul}";
const CJK_TEST = new RegExp(`[${CJK_CLASS}]`, "u");
export const isCjk = (s: string): boolean => CJK_TEST.test(s);

// Lucene's English stopwords plus the rest of the most frequent English function words.
export const STOPWORDS: ReadonlySet<string> = new Set(
  (
    "a about above after again against all am an and any are as at be because been before being below between both " +
    "but by can could did do does doing down during each few for from further had has have having he her here hers " +
    "herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off on " +
    "once only or other our ours ourselves out over own same she should so some such than that the their theirs them " +
    "themselves then there these they this those through to too under until up very was we were what when where which " +
    "while who whom why will with would you your yours yourself yourselves also may might must shall us via upon " +
    "within without among whether however thus therefore"
  ).split(" "),
);

/**
 * Filler of questions about documents ("what does the document say about ..."): no content for an
 * answer to match, though a search may still use them.
 */
export const QUESTION_WORDS: ReadonlySet<string> = new Set(
  (
    "there's what's it's i'm don't doesn't isn't aren't can't won't let's " +
    "tell explain describe say says said mention mentions mentioned document documents doc docs file files text please " +
    "according give show find know want need much many way ways kind sort thing things one ones"
  ).split(" "),
);

const LATIN_WORD = /^[a-z]+$/;
const stems = new Map<string, string>();

/** Porter stem of a lower-case ASCII word (cached); any other token is returned as it is. */
export function stem(token: string): string {
  let s = stems.get(token);
  if (s === undefined) {
    s = LATIN_WORD.test(token) ? porterStem(token) : token;
    if (stems.size >= 100_000) stems.clear();
    stems.set(token, s);
  }
  return s;
}

/** Lower-cased words of a text (NFKC), in order. */
export function words(text: string): string[] {
  return text.normalize("NFKC").toLowerCase().match(WORD) ?? [];
}
