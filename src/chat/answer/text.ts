/**
 * Text helpers of the extractive answerer: sentence splitting (Latin and CJK punctuation), word
 * tokens with light stemming, and CJK bigrams. All regexes are compiled once: this is the hot path.
 */

const CJK = "\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Hangul}";
/** A run of CJK characters, or a word of any other script (letters, digits, marks, inner apostrophes). */
const TOKEN = new RegExp(`([${CJK}]+)|((?:(?![${CJK}])[\\p{L}\\p{N}\\p{M}])+(?:['\u2019](?:(?![${CJK}])[\\p{L}\\p{M}])+)*)`, "gu");

// Common English function words plus the filler of questions about documents ("what does the
// document say about ..."), which would otherwise match everything.
const STOPWORDS = new Set(
  (
    "a about above after again against all also am an and any are as at be because been before being below between both but by " +
    "can could did do does doing down during each few for from further had has have having he her here hers herself him himself " +
    "his how i if in into is it its itself just me more most my myself no nor not now of off on once only or other our ours " +
    "ourselves out over own same she should so some such than that the their theirs them themselves then there these they this " +
    "those through to too under until up very was we were what when where which while who whom why will with would you your " +
    "yours yourself yourselves there's what's it's i'm don't doesn't isn't aren't can't won't let's " +
    "tell explain describe say says said mention mentions mentioned document documents doc docs file files text please " +
    "according give show find know want need much many way ways kind sort thing things one ones may might must shall " +
    // CJK question words and particles, as they come out of the bigram tokenizer.
    "什么 怎么 怎样 如何 哪些 哪个 为什 是什 么是 为何 多少 是否 的是 吗 呢 です ます ですか とは について 何ですか 무엇 어떻게"
  ).split(/\s+/),
);

const VOWEL = /[aeiouy]/;

/** Conservative English suffix stripping: enough to match plural, past and -ing forms. */
export function stem(word: string): string {
  let w = word;
  if (w.length <= 3 || !/^[a-z]+$/.test(w)) return w;
  if (w.endsWith("ies") && w.length > 4) return `${w.slice(0, -3)}y`;
  if (w.endsWith("sses")) w = w.slice(0, -2);
  else if (/(?:sh|ch|x|z)es$/.test(w)) w = w.slice(0, -2);
  else if (w.endsWith("s") && !/(?:ss|us|is)$/.test(w)) w = w.slice(0, -1);
  if (w.endsWith("ing") && w.length > 5 && VOWEL.test(w.slice(0, -3))) w = undouble(w.slice(0, -3));
  else if (w.endsWith("ed") && w.length > 4 && VOWEL.test(w.slice(0, -2))) w = undouble(w.slice(0, -2));
  if (w.endsWith("ly") && w.length > 5) w = w.slice(0, -2);
  if (w.endsWith("e") && w.length > 4) w = w.slice(0, -1);
  return w;
}

function undouble(w: string): string {
  const n = w.length;
  return n > 3 && w[n - 1] === w[n - 2] && !/[lsz]/.test(w[n - 1]) ? w.slice(0, -1) : w;
}

export interface Terms {
  /** Content terms in order (stopwords removed): stems, CJK bigrams. */
  seq: string[];
  /** Number of words (a CJK run counts one per two characters). */
  words: number;
}

/** Content terms of a text. */
export function terms(text: string): Terms {
  const seq: string[] = [];
  let words = 0;
  for (const m of text.toLowerCase().matchAll(TOKEN)) {
    if (m[1]) {
      const chars = Array.from(m[1]);
      words += Math.ceil(chars.length / 2);
      if (chars.length === 1) {
        if (!STOPWORDS.has(chars[0])) seq.push(chars[0]);
        continue;
      }
      for (let i = 0; i + 1 < chars.length; i++) {
        const bigram = chars[i] + chars[i + 1];
        if (!STOPWORDS.has(bigram)) seq.push(bigram);
      }
    } else {
      words++;
      const w = m[2].replace(/\u2019/g, "'");
      if (STOPWORDS.has(w)) continue;
      seq.push(stem(w.endsWith("'s") ? w.slice(0, -2) : w));
    }
  }
  return { seq, words };
}

// ---------------------------------------------------------------------------------------------
// Sentences

const ABBREVIATIONS = new Set(
  "mr mrs ms dr prof sr jr st mt vs etc e.g i.e eg ie al fig figs no nos vol vols pp p ca approx inc ltd co corp dept est jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k cf resp".split(
    " ",
  ),
);
const LIST_ITEM = /^\s*(?:[-*+\u2022\u2023\u25e6\u25aa\u2043]|\d{1,3}[.)]|[a-z][.)]|#{1,6})\s+/i;
/** Latin terminators need following whitespace (or the end); CJK ones end a sentence outright. */
const TERMINATOR = /[.!?\u2026]+["'\u201d\u2019\u00bb)\]]*(?=\s|$)|[\u3002\uff01\uff1f]+[\u300d\u300f\u201d\u2019\uff09)\u3011]*/g;
const WORD_BEFORE_DOT = /([\p{L}.]+)$/u;
const MAX_SENTENCE = 600;

/**
 * Splits a passage into sentences. Blank lines and list items always break; other line breaks are
 * treated as the hard wrapping of PDF text. A period ends a sentence unless it follows a known
 * abbreviation or an initial, or the next word starts in lower case.
 */
export function splitSentences(text: string): string[] {
  const out: string[] = [];
  for (const segment of segments(text)) {
    let start = 0;
    TERMINATOR.lastIndex = 0;
    for (let m = TERMINATOR.exec(segment); m; m = TERMINATOR.exec(segment)) {
      const end = m.index + m[0].length;
      if (/^\.+$/.test(m[0].replace(/["'\u201d\u2019\u00bb)\]]+$/, "")) && !periodEnds(segment, m.index, end)) continue;
      push(out, segment.slice(start, end));
      start = end;
    }
    push(out, segment.slice(start));
  }
  return out;
}

function* segments(text: string): Generator<string> {
  for (const block of text.replace(/\r\n?/g, "\n").split(/\n[ \t]*\n/)) {
    let current = "";
    for (const line of block.split("\n")) {
      const trimmed = line.trim();
      if (!trimmed) continue;
      // A Markdown heading names a section; it is not a sentence an answer can quote.
      if (/^#{1,6}\s/.test(trimmed)) {
        if (current) yield current;
        current = "";
        continue;
      }
      if (current && (LIST_ITEM.test(line) || trimmed.startsWith("|"))) {
        yield current;
        current = trimmed;
      } else {
        current = current ? `${current} ${trimmed}` : trimmed;
      }
    }
    if (current) yield current;
  }
}

function periodEnds(segment: string, dotAt: number, end: number): boolean {
  const before = WORD_BEFORE_DOT.exec(segment.slice(Math.max(0, dotAt - 12), dotAt));
  if (before) {
    const word = before[1];
    const lower = word.toLowerCase();
    // "e.g.", "Dr.", an initial ("J. Smith"), dotted acronyms ("U.S.")
    if (ABBREVIATIONS.has(lower) || /^\p{Lu}$/u.test(word) || /^(?:\p{L}\.)+\p{L}$/u.test(word)) return false;
  }
  const next = /\S/u.exec(segment.slice(end));
  return !next || !/\p{Ll}/u.test(next[0]);
}

const BULLET = /^(?:[-*+\u2022\u2023\u25e6\u25aa\u2043]|#{1,6})\s+/;

function push(out: string[], raw: string): void {
  // Bullets and heading marks are layout, not content: a quoted sentence reads better without.
  const s = raw.replace(/\s+/g, " ").trim().replace(BULLET, "");
  if (!s) return;
  if (s.length <= MAX_SENTENCE) {
    out.push(s);
    return;
  }
  // Run-on text (tables, lists without punctuation): break at semicolons, then between words.
  for (const part of s.split(/(?<=;)\s+/)) {
    let rest = part;
    while (rest.length > MAX_SENTENCE) {
      const cut = rest.lastIndexOf(" ", MAX_SENTENCE * 0.7);
      const at = cut > 0 ? cut : MAX_SENTENCE;
      out.push(rest.slice(0, at).trim());
      rest = rest.slice(at).trim();
    }
    if (rest) out.push(rest);
  }
}
