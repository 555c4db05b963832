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

/**
 * A letter in brackets joined to a word ("E[x]tract", "[c]reate", "g[z]ipped"): a mnemonic mark
 * (tldr pages, menus) inside the word, not a word of its own.
 */
const MNEMONIC = /(?<=\p{L})\[(\p{L})\]|\[(\p{L})\](?=\p{L})/gu;

/** Content terms of a text. */
export function terms(input: string): Terms {
  const seq: string[] = [];
  let words = 0;
  const text = input.includes("[") ? input.replace(MNEMONIC, "$1$2") : input;
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
/**
 * The running footer and header of RFC-style plain-text pages (RFC 7322 §4.1): "de Jong [Page 12]",
 * "Internet-Draft remoteStorage December 2014", "RFC 9110 HTTP Semantics June 2022". Repeated on
 * every page, they mention the document's title and date but answer nothing.
 */
const PAGE_FURNITURE =
  /\[Page \d+\]$|^(?:Internet-Draft|RFC \d+)\s.{1,80}\s(?:January|February|March|April|May|June|July|August|September|October|November|December) \d{4}$/;
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
  if (PAGE_FURNITURE.test(s) || URL_ONLY.test(s) || HAS_URL.test(s) || CITATION.test(s) || NAV_PHRASE.test(s) || REFERENCE.test(s))
    return true;
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

/** A statement and the range of the passage it was read from (`text.slice(start, end)` is what a citation quotes). */
export interface Statement {
  text: string;
  /** Offsets into the passage; absent when the statement was cut out of a run-on line (then it is located by its text). */
  start?: number;
  end?: number;
  /** A row of a data table: a record complete on its own, never read together with the next. */
  record?: boolean;
}

/**
 * Splits a passage into statements: sentences, and the lines that stand alone (table rows,
 * infobox "Label Value" lines, list items). Blank lines and list items always break. Other line
 * breaks are the hard wrapping of PDF and plain text only when the line runs close to the block's
 * full width or the next line continues in lower case; a short line without final punctuation is a
 * statement of its own. A period ends a sentence unless it follows a known abbreviation or an
 * initial, or the next word starts in lower case.
 */
export function splitSentences(text: string): string[] {
  return splitStatements(text).map((s) => s.text);
}

/**
 * The same statements with the range of the passage each one was read from: the extractive
 * answerer cites exactly that range, so its quotes are the source's own text at known offsets
 * (a table row rewritten as "Header: value" quotes the row's line, and its caption line if any).
 */
export function splitStatements(text: string): Statement[] {
  const out: Statement[] = [];
  for (const segment of segments(text)) {
    const body = segment.text;
    let start = 0;
    TERMINATOR.lastIndex = 0;
    for (let m = TERMINATOR.exec(body); m; m = TERMINATOR.exec(body)) {
      const end = m.index + m[0].length;
      if (/^\.+$/.test(m[0].replace(/["'\u201d\u2019\u00bb)\]]+$/, "")) && !periodEnds(body, m.index, end)) continue;
      push(out, segment, start, end, text);
      start = end;
    }
    push(out, segment, start, body.length, text);
  }
  return out;
}

/**
 * A run of text a statement is cut from. `pieces` map its text back to the passage (each piece is
 * a trimmed line, joined to the next by one space); a rewritten table row has none and cites the
 * whole range `start`..`end` of its lines.
 */
interface Segment {
  text: string;
  pieces: { at: number; raw: number; len: number }[] | null;
  start: number;
  end: number;
  /** A row of a data table (a record of its own), not an infobox's label and value. */
  record?: boolean;
}

/** The passage offset of segment offset `i` (a joining space maps to the start of the next line). */
function rawAt(seg: Segment, i: number, side: "start" | "end"): number {
  const pieces = seg.pieces as NonNullable<Segment["pieces"]>;
  for (let k = 0; k < pieces.length; k++) {
    const p = pieces[k];
    if (i < p.at) return side === "start" ? p.raw : pieces[k - 1] ? pieces[k - 1].raw + pieces[k - 1].len : p.raw;
    if (i < p.at + p.len || (side === "end" && i === p.at + p.len)) return p.raw + (i - p.at);
  }
  const last = pieces[pieces.length - 1];
  return last ? last.raw + last.len : seg.start;
}

/** Markdown pipe-table rows ("| a | b |" or "a | b"), and the delimiter row under a header. */
const TABLE_ROW = /^\|?(?:[^|\n]*\|)+[^|\n]*\|?$/;
/** A line that is one code span ("`tar xf {{a|b}}`"): its pipes are the code's (alternation, shell), not table cells. */
const CODE_LINE = /^`[^`]+`$/;
const TABLE_RULE = /^\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?$/;
/** A caption under a form field: a whole parenthesised line or cell that starts with a capital ("(Address of principal executive offices)"). */
const CAPTION = /^\(\s*\p{Lu}[^()]*(?:\([^()]*\)[^()]*)*\)$/u;
const cells = (line: string) =>
  line
    .trim()
    .replace(/^\||\|$/g, "")
    .split("|")
    .map((c) => c.trim());

function* segments(text: string): Generator<Segment> {
  // "\r\n" becomes " \n" (not "\n"): offsets into the passage stay offsets into the chunk's text.
  const src = text.replace(/\r\n/g, " \n").replace(/\r/g, "\n");
  const BLOCK = /\n[ \t]*\n/g;
  for (let at = 0; at <= src.length; ) {
    BLOCK.lastIndex = at;
    const gap = BLOCK.exec(src);
    const blockEnd = gap ? gap.index : src.length;
    yield* blockSegments(src, at, blockEnd);
    if (!gap) break;
    at = gap.index + gap[0].length;
  }
}

interface Line {
  text: string;
  /** Offsets of the trimmed line in the passage. */
  start: number;
  end: number;
}

function* blockSegments(src: string, from: number, to: number): Generator<Segment> {
  const lines: Line[] = [];
  for (let at = from; at <= to; ) {
    const nl = src.indexOf("\n", at);
    const end = nl < 0 || nl > to ? to : nl;
    const raw = src.slice(at, end);
    const lead = raw.length - raw.trimStart().length;
    const t = raw.trim();
    if (t) lines.push({ text: t, start: at + lead, end: at + lead + t.length });
    if (end >= to) break;
    at = end + 1;
  }
  const width = lines.reduce((w, l) => Math.max(w, l.text.length), 0);
  const whole = (text: string, first: Line, last: Line, record = false): Segment => ({
    text,
    pieces: null,
    start: first.start,
    end: last.end,
    record,
  });
  let current: Segment | null = null;
  let header: string[] | null = null;
  for (let i = 0; i < lines.length; i++) {
    const lineOf = lines[i];
    const line = lineOf.text;
    // A Markdown heading names a section; it is not a statement an answer can quote.
    if (/^#{1,6}\s/.test(line) || /^```/.test(line)) {
      if (current) yield current;
      current = null;
      continue;
    }
    // Table rows become "Header: value; Header: value" statements.
    if (TABLE_ROW.test(line) && line.includes("|") && !CODE_LINE.test(line)) {
      if (current) yield current;
      current = null;
      if (TABLE_RULE.test(line)) continue;
      const row = cells(line);
      // Form layout (cover pages, certificates): each value has its caption in parentheses in
      // the row below ("Nevada | 20-8143439" over "(State of incorporation) | (IRS Employer No.)").
      const below = lines[i + 1]?.text;
      const captions = below?.includes("|") ? cells(below) : [];
      if (captions.length === row.length && captions.every((c) => CAPTION.test(c))) {
        yield whole(row.map((c, j) => `${captions[j].slice(1, -1).trim()}: ${c}`).join("; "), lineOf, lines[i + 1]);
        i++;
        continue;
      }
      if (header === null && i + 1 < lines.length && TABLE_RULE.test(lines[i + 1].text)) {
        header = row;
        continue;
      }
      if (header && header.length === row.length)
        yield whole(row.map((c, j) => (header?.[j] ? `${header[j]}: ${c}` : c)).join("; "), lineOf, lineOf, true);
      else if (row.length === 2)
        yield whole(`${row[0]}: ${row[1]}`, lineOf, lineOf); // an infobox line: label and value
      else yield whole(row.join("; "), lineOf, lineOf, true);
      continue;
    }
    header = null;
    // The same layout for one value on its own line ("6480 Cameron Street …" over "(Address of principal executive offices)").
    const below = lines[i + 1]?.text;
    const field = line.length <= 120 && (!ENDS_SENTENCE.test(line) || line.split(/\s+/).length <= 6);
    if (!current && below !== undefined && CAPTION.test(below) && !CAPTION.test(line) && field) {
      yield whole(`${below.slice(1, -1).trim()}: ${line}`, lineOf, lines[i + 1]);
      i++;
      continue;
    }
    if (current && LIST_ITEM.test(line)) {
      yield current;
      current = null;
    }
    if (current) {
      current.pieces?.push({ at: current.text.length + 1, raw: lineOf.start, len: line.length });
      current.text = `${current.text} ${line}`;
      current.end = lineOf.end;
    } else {
      current = { text: line, pieces: [{ at: 0, raw: lineOf.start, len: line.length }], start: lineOf.start, end: lineOf.end };
    }
    const next = lines[i + 1]?.text;
    // Wrapped prose continues; a short unterminated line (a label and its value) stands alone.
    const wrapped = line.length >= Math.max(40, width * 0.6) || (next !== undefined && /^\p{Ll}/u.test(next));
    if (!wrapped && !ENDS_SENTENCE.test(line)) {
      yield current;
      current = null;
    }
  }
  if (current) yield current;
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

function push(out: Statement[], seg: Segment, from: number, to: number, passage: string): void {
  const raw = seg.text.slice(from, to);
  // Bullets and heading marks are layout, not content; footnote markers are noise in a quote.
  const s = raw
    .replace(FOOTNOTE, "")
    .replace(/\s+/g, " ")
    .replace(/\s+([,.;:])/g, "$1")
    .trim()
    .replace(BULLET, "");
  if (!s) return;
  let start = seg.start;
  let end = seg.end;
  if (seg.pieces) {
    // The sentence's own range, without the whitespace and bullet around it.
    const lead = raw.length - raw.trimStart().length;
    const body = raw.trim();
    const bullet = BULLET.exec(body)?.[0].length ?? 0;
    start = rawAt(seg, from + lead + bullet, "start");
    end = rawAt(seg, from + lead + body.length, "end");
    while (end > start && /\s/.test(passage[end - 1])) end--;
  }
  if (s.length <= MAX_SENTENCE) {
    out.push(seg.record ? { text: s, start, end, record: true } : { text: s, start, end });
    return;
  }
  // Run-on text (tables, lists without punctuation): break at semicolons, then between words. The
  // parts are located by their text when cited (their ranges inside the run are not tracked).
  for (const part of s.split(/(?<=;)\s+/)) {
    let rest = part;
    while (rest.length > MAX_SENTENCE) {
      const cut = rest.lastIndexOf(" ", MAX_SENTENCE * 0.7);
      const at = cut > 0 ? cut : MAX_SENTENCE;
      out.push({ text: rest.slice(0, at).trim() });
      rest = rest.slice(at).trim();
    }
    if (rest) out.push({ text: rest });
  }
}
