/**
 * Text helpers of the extractive answerer: the statements of a passage (sentences, and the lines of
 * tables and infoboxes that stand on their own), boilerplate filtering, and content terms built on
 * the shared text module (src/text). All regexes are compiled once: this is the hot path.
 */
import { CJK_CLASS, FUNCTION_WORDS, QUESTION_WORDS, stem } from "../../text";
import { EXTRACTIVE } from "../tuning";

/** A run of CJK characters, or a word of any other script (letters, digits, marks, inner apostrophes). */
const TOKEN = new RegExp(
  `([${CJK_CLASS}]+)|((?:(?![${CJK_CLASS}])[\\p{L}\\p{N}\\p{M}])+(?:['\u2019](?:(?![${CJK_CLASS}])[\\p{L}\\p{M}])+)*)`,
  "gu",
);

/** CJK question words and particles, as they come out of the bigram tokenizer. */
const CJK_FILLER = new Set(
  "什么 怎么 怎样 如何 哪些 哪个 为什 是什 么是 为何 多少 是否 的是 吗 呢 です ます ですか とは について 何ですか 무엇 어떻게".split(" "),
);

/**
 * Irregular English verb forms, to their base form before stemming: the Porter stemmer leaves
 * "found" (of find) equal to the stem of "founded" (of found), and "wrote" apart from "write".
 */
const IRREGULAR = new Map(
  Object.entries({
    found: "find",
    wrote: "write",
    written: "write",
    began: "begin",
    begun: "begin",
    became: "become",
    built: "build",
    bought: "buy",
    sold: "sell",
    won: "win",
    led: "lead",
    left: "leave",
    made: "make",
    took: "take",
    taken: "take",
    gave: "give",
    given: "give",
    grew: "grow",
    grown: "grow",
    knew: "know",
    known: "know",
    met: "meet",
    paid: "pay",
    said: "say",
    sent: "send",
    spent: "spend",
    taught: "teach",
    thought: "think",
    told: "tell",
    chose: "choose",
    chosen: "choose",
    drew: "draw",
    drawn: "draw",
    held: "hold",
    ran: "run",
    saw: "see",
    seen: "see",
  }),
);

const isStop = (w: string) => FUNCTION_WORDS.has(w) || QUESTION_WORDS.has(w) || CJK_FILLER.has(w);

export interface Terms {
  /** Content terms in order (stopwords removed): Porter stems, CJK bigrams. */
  seq: string[];
  /** Number of words (a CJK run counts one per two characters). */
  words: number;
}

/** Printable ASCII and whitespace only: NFKC leaves it unchanged and the Unicode tokenizer is not needed. */
const ASCII = /^[\x00-\x7f]*$/;
/** The Unicode TOKEN's words restricted to ASCII: letters and digits, then inner-apostrophe letter runs. */
const ASCII_TOKEN = /[a-z0-9]+(?:'[a-z]+)*/g;
/** Stems of words (irregular forms mapped first), per isolate: most words recur across passages. */
const WORD_STEMS = new Map<string, string>();

function wordTerm(w: string): string | null {
  let t = WORD_STEMS.get(w);
  if (t === undefined) {
    if (isStop(w)) t = "";
    else {
      const base = w.endsWith("'s") ? w.slice(0, -2) : w;
      t = stem(IRREGULAR.get(base) ?? base);
    }
    if (WORD_STEMS.size >= 100_000) WORD_STEMS.clear();
    WORD_STEMS.set(w, t);
  }
  return t === "" ? null : t;
}

/** Content terms of a text. */
export function terms(text: string): Terms {
  const seq: string[] = [];
  let words = 0;
  if (ASCII.test(text)) {
    // The fast path: most passages and questions are ASCII.
    for (const m of text.toLowerCase().matchAll(ASCII_TOKEN)) {
      words++;
      const t = wordTerm(m[0]);
      if (t !== null) seq.push(t);
    }
    return { seq, words };
  }
  for (const m of text.normalize("NFKC").toLowerCase().matchAll(TOKEN)) {
    if (m[1]) {
      const chars = Array.from(m[1]);
      words += Math.ceil(chars.length / 2);
      if (chars.length === 1) {
        if (!isStop(chars[0])) seq.push(chars[0]);
        continue;
      }
      for (let i = 0; i + 1 < chars.length; i++) {
        const bigram = chars[i] + chars[i + 1];
        if (!isStop(bigram)) seq.push(bigram);
      }
    } else {
      words++;
      const t = wordTerm(m[2].replace(/\u2019/g, "'"));
      if (t !== null) seq.push(t);
    }
  }
  return { seq, words };
}

// ---------------------------------------------------------------------------------------------
// Boilerplate

/** Page furniture of web pages and wikis: never an answer. */
const NAV_PHRASE =
  /\b(?:toggle the table of contents|jump to (?:content|navigation)|skip to (?:main )?content|main menu|move to sidebar|edit links|create account|log in|personal tools|from wikipedia, the free encyclopedia|retrieved (?:on )?\d|archived from the original|cookies?\b.*\b(?:accept|consent)|all rights reserved|privacy policy|terms of (?:use|service)|subscribe to)/i;
/** Reference-list entries and bibliographic debris. */
const REFERENCE = /^(?:\^|↑|[[\u27e6]\d+[\]\u27e7]\s*\^?|\d{1,3}\.\s*\^)|\b(?:isbn(?:-1[03])?:?\s*[\d-]{9,}|doi:\s*10\.|issn\s+\d{4})/i;
const URL_ONLY = /^(?:<?(?:https?:\/\/|www\.)\S+>?[\s.,;]*)+$/i;
/** A URL anywhere (also as PDF text wraps it: "h ttps://"): prose seldom holds one, references always do. */
const HAS_URL = /\bh\s?ttps?:\/\/|\bwww\.\S|\(https?:/i;
/** A citation: a quoted title followed by its source ("Tales from the City" (…), "Title". Publisher). */
const CITATION = /^["“][^"”]{3,200}["”]\s*(?:\(|\.|,)/;
/** Wikipedia-style footnote markers inside a sentence ("born in Bangor,[1] and"), also once neutralised (⟦1⟧, citations.ts). */
const FOOTNOTE = /[[\u27e6](?:\d{1,3}|note \d+|citation needed)[\]\u27e7]/gi;

const SPACE = /\s/;
const LETTER = /\p{L}/u;
const DIGIT = /\p{N}/u;

/**
 * Length without whitespace (UTF-16 units), letters and digits (code points): one pass, no
 * allocation per character, ASCII decided by code.
 */
function charCounts(s: string): { length: number; letters: number; digits: number } {
  let length = 0;
  let letters = 0;
  let digits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 128) {
      if (c === 32 || (c >= 9 && c <= 13)) continue;
      length++;
      if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) letters++;
      else if (c >= 48 && c <= 57) digits++;
      continue;
    }
    const cp = s.codePointAt(i) as number;
    const ch = String.fromCodePoint(cp);
    if (cp > 0xffff) i++;
    if (SPACE.test(ch)) continue;
    length += ch.length;
    if (LETTER.test(ch)) letters++;
    else if (DIGIT.test(ch)) digits++;
  }
  return { length, letters, digits };
}

/** True when a statement is page furniture, a reference, a bare URL or mostly numbers. */
export function isBoilerplate(s: string): boolean {
  if (URL_ONLY.test(s) || HAS_URL.test(s) || CITATION.test(s) || NAV_PHRASE.test(s) || REFERENCE.test(s)) return true;
  const { length, letters, digits } = charCounts(s);
  if (length === 0) return true;
  // Score tables, career statistics, page numbers: more digits and symbols than letters.
  if (letters < length * 0.45 && digits > letters * 0.6) return true;
  // A line that is half URL.
  const urls = s.match(/https?:\/\/\S+/g);
  if (urls && urls.join("").length > s.length * 0.5) return true;
  // Runs of short capitalised menu items without a verb-like lower-case word ("Home News Sport Weather ...").
  const words = s.split(/\s+/);
  if (words.length >= 8 && !/[.!?:;,]/.test(s)) {
    const lower = words.filter((w) => /^\p{Ll}{3,}/u.test(w)).length;
    if (lower <= words.length * 0.15) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Statements

const ABBREVIATIONS = new Set(
  "mr mrs ms dr prof sr jr st ste ave blvd rd mt vs etc e.g i.e eg ie al fig figs no nos vol vols pp p ca approx inc ltd co corp dept est jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k cf resp f.c".split(
    " ",
  ),
);
const LIST_ITEM = /^\s*(?:[-*+\u2022\u2023\u25e6\u25aa\u2043]|\d{1,3}[.)]|[a-z][.)]|#{1,6})\s+/i;
/** Latin terminators need following whitespace (or the end); CJK ones end a sentence outright. */
const TERMINATOR = /[.!?\u2026]+["'\u201d\u2019\u00bb)\]]*(?=\s|$)|[\u3002\uff01\uff1f]+[\u300d\u300f\u201d\u2019\uff09)\u3011]*/g;
const WORD_BEFORE_DOT = /([\p{L}.]+)$/u;
const ENDS_SENTENCE = /[.!?:;\u3002\uff01\uff1f\uff1a\u2026]["'\u201d\u2019)\]]*$/;
const MAX_SENTENCE = EXTRACTIVE.maxStatementChars;

/**
 * Splits a passage into statements: sentences, and the lines that stand alone (table rows,
 * infobox "Label Value" lines, list items). Blank lines and list items always break. Other line
 * breaks are the hard wrapping of PDF and plain text only when the line runs close to the block's
 * full width or the next line continues in lower case; a short line without final punctuation is a
 * statement of its own. A period ends a sentence unless it follows a known abbreviation or an
 * initial, or the next word starts in lower case.
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

/** Markdown pipe-table rows ("| a | b |" or "a | b"), and the delimiter row under a header. */
const TABLE_ROW = /^\|?(?:[^|\n]*\|)+[^|\n]*\|?$/;
const TABLE_RULE = /^\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?$/;
/** A caption under a form field: a whole parenthesised line or cell that starts with a capital ("(Address of principal executive offices)"). */
const CAPTION = /^\(\s*\p{Lu}[^()]*(?:\([^()]*\)[^()]*)*\)$/u;
const cells = (line: string) =>
  line
    .trim()
    .replace(/^\||\|$/g, "")
    .split("|")
    .map((c) => c.trim());

function* segments(text: string): Generator<string> {
  for (const block of text.replace(/\r\n?/g, "\n").split(/\n[ \t]*\n/)) {
    const lines = block
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean);
    const width = lines.reduce((w, l) => Math.max(w, l.length), 0);
    let current = "";
    let header: string[] | null = null;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      // A Markdown heading names a section; it is not a statement an answer can quote.
      if (/^#{1,6}\s/.test(line) || /^```/.test(line)) {
        if (current) yield current;
        current = "";
        continue;
      }
      // Table rows become "Header: value; Header: value" statements.
      if (TABLE_ROW.test(line) && line.includes("|")) {
        if (current) yield current;
        current = "";
        if (TABLE_RULE.test(line)) continue;
        const row = cells(line);
        // Form layout (cover pages, certificates): each value has its caption in parentheses in
        // the row below ("Nevada | 20-8143439" over "(State of incorporation) | (IRS Employer No.)").
        const below = lines[i + 1];
        const captions = below?.includes("|") ? cells(below) : [];
        if (captions.length === row.length && captions.every((c) => CAPTION.test(c))) {
          yield row.map((c, j) => `${captions[j].slice(1, -1).trim()}: ${c}`).join("; ");
          i++;
          continue;
        }
        if (header === null && i + 1 < lines.length && TABLE_RULE.test(lines[i + 1])) {
          header = row;
          continue;
        }
        if (header && header.length === row.length) yield row.map((c, j) => (header?.[j] ? `${header[j]}: ${c}` : c)).join("; ");
        else if (row.length === 2)
          yield `${row[0]}: ${row[1]}`; // an infobox line: label and value
        else yield row.join("; ");
        continue;
      }
      header = null;
      // The same layout for one value on its own line ("6480 Cameron Street …" over "(Address of principal executive offices)").
      const below = lines[i + 1];
      const field = line.length <= 120 && (!ENDS_SENTENCE.test(line) || line.split(/\s+/).length <= 6);
      if (!current && below !== undefined && CAPTION.test(below) && !CAPTION.test(line) && field) {
        yield `${below.slice(1, -1).trim()}: ${line}`;
        i++;
        continue;
      }
      if (current && LIST_ITEM.test(line)) {
        yield current;
        current = line;
      } else {
        current = current ? `${current} ${line}` : line;
      }
      const next = lines[i + 1];
      // Wrapped prose continues; a short unterminated line (a label and its value) stands alone.
      const wrapped = line.length >= Math.max(40, width * 0.6) || (next !== undefined && /^\p{Ll}/u.test(next));
      if (!wrapped && !ENDS_SENTENCE.test(line)) {
        yield current;
        current = "";
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
  // Bullets and heading marks are layout, not content; footnote markers are noise in a quote.
  const s = raw
    .replace(FOOTNOTE, "")
    .replace(/\s+/g, " ")
    .replace(/\s+([,.;:])/g, "$1")
    .trim()
    .replace(BULLET, "");
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
