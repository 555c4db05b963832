import {
  CJK,
  CJK_OPEN,
  CJK_PAUSE,
  CJK_STOP,
  CLASS,
  CLOSE,
  CR,
  HIGH,
  isCjkHigh,
  JOIN,
  LATIN,
  LOW,
  NL,
  OTHER,
  PARA,
  PUNCT,
  STOP,
} from "./chars";
import { countTokens, countTokensRange, fitEnd, hangulTokens, runTokens } from "./tokens";
import { createYielder, type Yielder } from "../../util/yield";

export { countTokens };

export interface ChunkInput {
  text: string;
  /** Where each page starts, as char offsets into `text` (e.g. from a PDF extractor). */
  pages?: { page: number; start: number }[];
}

export interface Chunk {
  ordinal: number;
  text: string;
  /** `text === input.text.slice(start, end)`. */
  start: number;
  end: number;
  /** Page of the chunk's first character; null without `pages`. */
  page: number | null;
  /** Markdown heading path at the chunk's start, e.g. "Intro > Background". */
  heading: string | null;
  tokens: number;
}

export interface ChunkOptions {
  maxTokens: number;
  overlapTokens: number;
}

// Strength of the boundary before a piece of text ("atom"); a chunk prefers the strongest.
const L_CHAR = 0; // inside a run without spaces: between CJK characters, or a cut of an oversized word
const L_WORD = 1;
const L_SENT = 2;
const L_LINE = 3;
const L_PARA = 4;
const L_HEAD = 5;

/**
 * Splits text into chunks of at most `maxTokens` (see countTokens) that follow its structure:
 * markdown sections first, then paragraphs, lines, sentences, words and, for scripts written
 * without spaces, characters. Within each level the pieces are packed greedily; a section
 * starts a new chunk unless the chunk so far holds only headings. Consecutive chunks of a
 * section overlap by up to `overlapTokens`, carried as whole trailing sentences when they are
 * long enough, else as whole words. A word is cut only when it alone exceeds `maxTokens`.
 *
 * Runs in one pass over the characters plus work proportional to the number of words; the
 * text is never copied except for the returned chunk strings. Async only to yield: the scan hands
 * the event loop back every slice of work (src/util/yield.ts), so chunking a huge or pathological
 * document never stalls the requests that share the isolate.
 */
export async function chunkText(doc: ChunkInput, opts: ChunkOptions, yielder: Yielder = createYielder()): Promise<Chunk[]> {
  const { maxTokens: max, overlapTokens: overlap } = opts;
  if (!Number.isInteger(max) || max < 1) throw new RangeError("maxTokens must be a positive integer");
  if (!Number.isInteger(overlap) || overlap < 0 || overlap >= max) {
    throw new RangeError("overlapTokens must be an integer from 0 to maxTokens - 1");
  }
  const text = doc.text;
  const atoms = await scan(text, max, yielder);
  try {
    if (atoms.n === 0) return [];
    const spans: number[] = [];
    await yielder.maybeYield(0);
    pack(atoms, max, 0, atoms.n, spans);
    await yielder.maybeYield(0);
    return assemble(text, atoms, spans, max, overlap, doc.pages);
  } finally {
    // Given back only now: until here these arrays are this call's, and another call that runs
    // while this one is yielding finds no scratch and allocates its own.
    if (atoms.start.length <= KEEP_ATOMS) scratch = atoms;
  }
}

interface Atoms {
  n: number;
  start: Int32Array;
  end: Int32Array;
  /** pre[i] = tokens of atoms [0, i). */
  pre: Int32Array;
  lvl: Uint8Array;
  /** 1 when the atom belongs to a heading line. */
  head: Uint8Array;
  /** Heading path in force from atom headAt[j] on. */
  headAt: number[];
  headPath: (string | null)[];
}

// Scratch arrays reused across calls; a call takes them (scratch = null) for its whole run, since
// calls interleave at their yields. Not kept once they grew large.
let scratch: Atoms | null = null;
const KEEP_ATOMS = 1 << 16;
const CHECK_EVERY = 8192;

function allocAtoms(cap: number): Atoms {
  return {
    n: 0,
    start: new Int32Array(cap),
    end: new Int32Array(cap),
    pre: new Int32Array(cap + 1),
    lvl: new Uint8Array(cap),
    head: new Uint8Array(cap),
    headAt: [],
    headPath: [],
  };
}

function grow(a: Atoms): void {
  const b = allocAtoms(a.start.length * 2);
  b.start.set(a.start);
  b.end.set(a.end);
  b.pre.set(a.pre);
  b.lvl.set(a.lvl);
  b.head.set(a.head);
  a.start = b.start;
  a.end = b.end;
  a.pre = b.pre;
  a.lvl = b.lvl;
  a.head = b.head;
}

/**
 * Appends atom [s, e) of `tok` tokens. Returns a promise only for an oversized atom (cut while
 * yielding); the common path allocates nothing: `const p = emit(...); if (p) await p;`.
 */
function emit(
  a: Atoms,
  text: string,
  s: number,
  e: number,
  tok: number,
  lvl: number,
  head: boolean,
  max: number,
  y: Yielder,
): Promise<void> | undefined {
  if (tok > max) return emitOversized(a, text, s, e, lvl, head, max, y);
  push(a, s, e, tok, lvl, head);
  return undefined;
}

function push(a: Atoms, s: number, e: number, tok: number, lvl: number, head: boolean): void {
  const n = a.n;
  if (n === a.start.length) grow(a);
  a.start[n] = s;
  a.end[n] = e;
  a.lvl[n] = lvl;
  a.head[n] = head ? 1 : 0;
  a.pre[n + 1] = a.pre[n] + tok;
  a.n = n + 1;
}

/**
 * A word longer than a chunk: cut into pieces of at most `max` tokens (kept out of emit's fast
 * path). A multi-megabyte "word" is the slowest input there is (a binary search per cut), so the
 * cuts are checkpoints too.
 */
async function emitOversized(
  a: Atoms,
  text: string,
  s: number,
  e: number,
  lvl: number,
  head: boolean,
  max: number,
  y: Yielder,
): Promise<void> {
  while (s < e) {
    const cut = cutPoint(text, s, e, max);
    // A piece of at most `max` tokens by construction: never oversized again.
    push(a, s, cut, countTokensRange(text, s, cut), lvl, head);
    lvl = L_CHAR;
    const p = y.maybeYield(cut - s);
    s = cut;
    if (p) await p;
  }
}

/**
 * Cuts `text` into atoms (words, CJK characters, pieces of oversized words) with their tokens.
 * One pass; all state lives in locals (no closures) so that V8 keeps it in registers.
 */
async function scan(text: string, max: number, y: Yielder): Promise<Atoms> {
  const len = text.length;
  const a = scratch ?? allocAtoms(1024);
  scratch = null;
  // Checkpoint every CHECK_EVERY characters (one comparison per character in between).
  let checked = 0;
  let checkAt = CHECK_EVERY;
  a.n = 0;
  a.pre[0] = 0;
  a.headAt = [];
  a.headPath = [];
  const stack: string[] = [];

  let open = false;
  let aStart = 0;
  let aLvl = L_HEAD;
  let tok = 0;
  let brk = -1; // boundary forced before the next letter of the same non-space run
  let openOnly = false; // the open atom holds only opening brackets
  let endsStop = false; // the open atom ends a sentence if whitespace follows
  let gapNl = 0;
  let sentence = false;
  let inHead = false;
  let inFence = false;

  for (let i = 0; i < len; i++) {
    if (i >= checkAt) {
      const p = y.maybeYield(i - checked);
      checked = i;
      checkAt = i + CHECK_EVERY;
      if (p) await p;
    }
    const c = text.charCodeAt(i);
    const k = CLASS[c];
    if (k <= CR) {
      if (open) {
        const p = emit(a, text, aStart, i, tok, aLvl, inHead, max, y);
        if (p) await p;
        open = false;
        sentence = endsStop;
      }
      if (k === NL) gapNl++;
      else if (k === PARA) gapNl += 2;
      else if (k === CR && (i + 1 >= len || text.charCodeAt(i + 1) !== 0x0a)) gapNl++;
      continue;
    }
    const pair = k === HIGH && i + 1 < len && CLASS[text.charCodeAt(i + 1)] === LOW;
    const ideograph = k === CJK || (pair && isCjkHigh(c));
    if (open) {
      // A new atom inside the same non-space run: after a CJK character or CJK punctuation,
      // before a CJK character or an opening CJK bracket.
      let cut = -1;
      if (ideograph || k === CJK_OPEN) {
        if (!openOnly) cut = brk >= 0 ? brk : L_CHAR;
      } else if (brk >= 0 && (k === LATIN || k === OTHER || k === HIGH)) {
        cut = brk;
      }
      if (cut >= 0) {
        const p = emit(a, text, aStart, i, tok, aLvl, inHead, max, y);
        if (p) await p;
        aStart = i;
        aLvl = cut;
        tok = 0;
        brk = -1;
        openOnly = false;
        endsStop = false;
      }
    } else {
      let l: number;
      if (a.n === 0 || gapNl > 0) {
        l = a.n === 0 ? L_HEAD : gapNl >= 2 ? L_PARA : L_LINE;
        inHead = false;
        if (c === 0x23 && !inFence) {
          const path = headingPath(text, i, stack);
          if (path !== undefined) {
            a.headAt.push(a.n);
            a.headPath.push(path);
            l = L_HEAD;
            inHead = true;
          }
        } else if ((c === 0x60 || c === 0x7e) && text.startsWith(c === 0x60 ? "```" : "~~~", i)) {
          inFence = !inFence;
        }
      } else {
        l = sentence && !(c >= 0x61 && c <= 0x7a) ? L_SENT : L_WORD;
      }
      open = true;
      aStart = i;
      aLvl = l;
      tok = 0;
      brk = -1;
      openOnly = false;
      endsStop = false;
      gapNl = 0;
      sentence = false;
    }
    if (k === LATIN || k === OTHER) {
      // The whole run at once (most of any text): letters of one kind and the marks joining them.
      let run = 1;
      let j = i + 1;
      for (; j < len; j++) {
        const kj = CLASS[text.charCodeAt(j)];
        if (kj === k) run++;
        else if (kj !== JOIN) break;
      }
      tok += runTokens(k, run);
      i = j - 1;
      openOnly = false;
      endsStop = false;
      continue;
    }
    if (k === JOIN) continue;
    tok += ideograph && c >= 0xac00 && c <= 0xd7a3 ? hangulTokens(c) : 1;
    if (ideograph || k === HIGH) {
      brk = ideograph ? L_CHAR : -1;
      openOnly = false;
      endsStop = false;
      if (pair) i++;
    } else if (k === CJK_OPEN) {
      openOnly = true;
      endsStop = false;
    } else {
      // Punctuation stays with the atom before it.
      if (k === STOP) {
        endsStop = true;
        if (brk >= 0) brk = L_SENT;
      } else if (k === CJK_STOP) {
        endsStop = true;
        brk = L_SENT;
      } else if (k === CJK_PAUSE) {
        endsStop = false;
        if (brk < L_WORD) brk = L_WORD;
      } else if (k !== CLOSE) {
        endsStop = false;
      }
      if (k !== CLOSE) openOnly = false;
    }
  }
  if (open) {
    const p = emit(a, text, aStart, len, tok, aLvl, inHead, max, y);
    if (p) await p;
  }
  return a;
}

/** The heading path after the markdown heading line at `i` (updating `stack`), or undefined. */
function headingPath(text: string, i: number, stack: string[]): string | null | undefined {
  const len = text.length;
  let j = i;
  while (j < len && j - i < 7 && text.charCodeAt(j) === 0x23) j++;
  const level = j - i;
  if (level > 6) return undefined;
  const c = j < len ? text.charCodeAt(j) : 0x0a;
  if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return undefined;
  let lineEnd = text.indexOf("\n", j);
  if (lineEnd < 0) lineEnd = len;
  stack.length = level;
  stack[level - 1] = headingTitle(text, j, lineEnd);
  return stack.filter((t) => t).join(" > ") || null;
}

/** The end of the longest piece of `text[s, e)` that fits in `max` tokens, at a safe place. */
export function cutPoint(text: string, s: number, e: number, max: number): number {
  // Nothing past s + 8·max + 8 is counted (a few more than four characters per token never fit
  // for Latin text): counting all of a huge atom at every cut made long runs quadratic (issue 10).
  const fit = fitEnd(text, s, Math.min(e, s + 8 * max + 8), max);
  if (fit === e) return e;
  // At least `max` characters (each costs one token, but for Hangul syllables), as before.
  let cut = Math.max(Math.min(e, s + max), fit);
  // Never between the halves of a surrogate pair or before a combining mark.
  while (cut > s + 1 && cut < e) {
    const k = CLASS[text.charCodeAt(cut)];
    if (k !== LOW && k !== JOIN) break;
    cut--;
  }
  // Prefer to cut just after punctuation in the last quarter (URLs, paths, chemical names).
  for (let j = cut - 1; j > s + ((3 * (cut - s)) >> 2); j--) {
    const k = CLASS[text.charCodeAt(j)];
    if (k === PUNCT || k === STOP || k === CLOSE) return j + 1;
  }
  return cut;
}

function headingTitle(text: string, from: number, to: number): string {
  let s = from;
  let e = to;
  while (s < e && text.charCodeAt(s) <= 0x20) s++;
  while (e > s && text.charCodeAt(e - 1) <= 0x20) e--;
  // A closing sequence of #s counts only after a space ("## Title ##", but not "C#").
  let h = e;
  while (h > s && text.charCodeAt(h - 1) === 0x23) h--;
  if (h === s) return "";
  if (h < e && text.charCodeAt(h - 1) <= 0x20) {
    e = h;
    while (e > s && text.charCodeAt(e - 1) <= 0x20) e--;
  }
  return text.slice(s, e);
}

/**
 * Recursive split of atoms [a, b): if they fit, one span; else cut at every boundary of the
 * strongest level present, pack the pieces that fit greedily and recurse into those that don't.
 * `lead` < a marks heading lines [lead, a) that must not form a chunk alone: they go with the
 * first piece of [a, b).
 */
function pack(atoms: Atoms, max: number, a: number, b: number, out: number[], lead = a): void {
  const { pre, lvl, head } = atoms;
  if (pre[b] - pre[lead] <= max) {
    out.push(lead, b);
    return;
  }
  if (b - a === 1) {
    if (lead < a) out.push(lead, a);
    out.push(a, b);
    return;
  }
  let top = 0;
  for (let j = a + 1; j < b && top < L_HEAD; j++) if (lvl[j] > top) top = lvl[j];
  // The group being packed is [gs, ge); it holds only headings while head[ge - 1] is set, since
  // headings open their section and a range that spans sections is cut at them first.
  let gs = lead < a ? lead : -1;
  let ge = a;
  let s = a;
  for (let j = a + 1; j <= b; j++) {
    if (j < b && lvl[j] !== top) continue;
    const headingsOnly = gs >= 0 && head[ge - 1] === 1;
    if (gs >= 0 && pre[j] - pre[gs] <= max && (top < L_HEAD || headingsOnly)) {
      ge = j;
    } else if (headingsOnly && j - s > 1) {
      pack(atoms, max, s, j, out, gs);
      gs = -1;
    } else {
      if (gs >= 0) out.push(gs, ge);
      gs = -1;
      if (pre[j] - pre[s] <= max) {
        gs = s;
        ge = j;
      } else {
        pack(atoms, max, s, j, out);
      }
    }
    s = j;
  }
  if (gs >= 0) out.push(gs, ge);
}

function assemble(text: string, atoms: Atoms, spans: number[], max: number, overlap: number, pages: ChunkInput["pages"]): Chunk[] {
  const { start, end, pre, lvl, headAt, headPath } = atoms;
  const sortedPages = pages && pages.length > 0 ? [...pages].sort((x, y) => x.start - y.start) : null;
  const chunks: Chunk[] = [];
  let prevStart = -1;
  let h = -1;
  let p = -1;
  for (let c = 0; c < spans.length; c += 2) {
    let s = spans[c];
    const e = spans[c + 1];
    if (c > 0 && overlap > 0 && lvl[s] < L_HEAD) s = overlapStart(atoms, prevStart, s, e, max, overlap);
    prevStart = s;
    while (h + 1 < headAt.length && headAt[h + 1] <= s) h++;
    const from = start[s];
    const to = end[e - 1];
    let page: number | null = null;
    if (sortedPages) {
      while (p + 1 < sortedPages.length && sortedPages[p + 1].start <= from) p++;
      page = p >= 0 ? sortedPages[p].page : null;
    }
    chunks.push({
      ordinal: chunks.length,
      text: text.slice(from, to),
      start: from,
      end: to,
      page,
      heading: h >= 0 ? headPath[h] : null,
      tokens: pre[e] - pre[s],
    });
  }
  return chunks;
}

/**
 * Where a chunk [s, e) starts once it carries the end of the chunk before it: the earliest
 * sentence start within the overlap budget if that carries at least half of it, else the
 * earliest word (or, without spaces, character) start. Never at or before `prevStart`.
 */
function overlapStart(atoms: Atoms, prevStart: number, s: number, e: number, max: number, overlap: number): number {
  const { pre, lvl, head } = atoms;
  const budget = Math.min(overlap, max - (pre[e] - pre[s]));
  let sent = -1;
  let word = -1;
  let char = -1;
  // Headings are not carried: the chunk's heading path already names its section.
  for (let j = s - 1; j > prevStart && pre[s] - pre[j] <= budget && head[j] === 0; j--) {
    const l = lvl[j];
    if (l >= L_SENT) sent = j;
    if (l >= L_WORD) word = j;
    char = j;
  }
  if (sent >= 0 && 2 * (pre[s] - pre[sent]) >= budget) return sent;
  if (word >= 0) return word;
  if (char >= 0) return char;
  return s;
}
