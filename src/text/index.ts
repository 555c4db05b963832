/**
 * The one text module: tokens, stopwords and the stemmer shared by keyword search (query terms),
 * the local hash embedder and the extractive answerer, so the three agree on what a word is.
 *
 * - Words are runs of letters, marks and digits (`WORD`); CJK scripts, written without spaces,
 *   are told apart by `CJK_RUN` / `isCjk` and handled per use (bigrams, n-grams).
 * - `STOPWORDS` (keyword queries) and `FUNCTION_WORDS` (STOPWORDS and more: embedder, answerer).
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

/**
 * English function words that carry no query meaning: what keyword queries drop (BM25 gives them
 * almost no weight, yet FTS5 must score every chunk they match). Kept short on purpose: words such
 * as "during", "after", "more" or "without" do carry meaning in a query ("during pregnancy"), and
 * dropping them cost keyword search on SciFact's held-out half (docs/performance.md, "Hybrid defaults").
 */
export const STOPWORDS: ReadonlySet<string> = new Set(
  (
    "a an and are as at be been but by can could did do does for from had has have how i if in into is it its may " +
    "might must no not of on or our should so than that the their them then there these they this those to was we " +
    "were what when where which while who whom why will with would you your"
  ).split(" "),
);

/**
 * STOPWORDS plus the rest of the most frequent English function words (Lucene's list and more):
 * what the local embedder and the answerer ignore. Without idf, every word weighs alike in a hashed
 * vector, so the longer list keeps frequent words from drowning the content words.
 */
export const FUNCTION_WORDS: ReadonlySet<string> = new Set([
  ...STOPWORDS,
  ...(
    "about above after again against all am any because before being below between both doing down during each few " +
    "further having he her here hers herself him himself his itself just me more most my myself nor now off once only " +
    "other ours ourselves out over own same she some such theirs themselves through too under until up very yours " +
    "yourself yourselves also shall us via upon within without among whether however thus therefore"
  ).split(" "),
]);

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

export { ftsStem, ftsTermCounts, ftsTokens } from "./fts";
