import { CJK, CLASS, CR, HIGH, JOIN, LATIN, LOW, OTHER } from "./chars";

/**
 * Tokens of `text[from, to)` under an approximation of WordPiece that errs on the high side:
 * a run of Latin letters or digits costs one token per 4 characters (at least 1), a letter of
 * another alphabet 1 (English vocabularies split Cyrillic, Greek, Arabic... into single
 * letters), each CJK character, punctuation mark or astral character (emoji, supplementary
 * ideographs) 1, a Hangul syllable its 2 or 3 jamo, whitespace nothing.
 *
 * Measured against bge's WordPiece (bench/tokens.mjs, docs/performance.md "Token estimate"): about
 * 1.31x the real count on English abstracts, and as low as 0.7x on Latin-script languages that the
 * English vocabulary splits finely; the Latin curve is kept conservative for those.
 *
 * The count is additive over pieces cut at whitespace, punctuation or CJK characters, which is
 * what lets the chunker count each piece once and add.
 */
export function countTokensRange(text: string, from: number, to: number): number {
  let tokens = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    const k = CLASS[c];
    if (k === LATIN || k === OTHER) {
      // The whole run at once: letters of the same kind, and marks that join them.
      let run = 1;
      let j = i + 1;
      for (; j < to; j++) {
        const kj = CLASS[text.charCodeAt(j)];
        if (kj === k) run++;
        else if (kj !== JOIN) break;
      }
      tokens += runTokens(k, run);
      i = j - 1;
      continue;
    }
    if (k <= CR || k === JOIN) continue; // the whitespace classes are numbered first
    tokens += k === CJK && c >= 0xac00 && c <= 0xd7a3 ? hangulTokens(c) : 1;
    if (k === HIGH && i + 1 < to && CLASS[text.charCodeAt(i + 1)] === LOW) i++;
  }
  return tokens;
}

/**
 * The largest `m` in [from, to] with `countTokensRange(text, from, m) <= max` (`from` when not even
 * one character fits), in one pass: the count of every prefix, the same loop as countTokensRange
 * evaluated at each character. The count of a prefix never decreases as it grows, so the first
 * prefix over `max` ends the scan. (The chunker's cut of an oversized word used a binary search,
 * counting each probe from `from` again: O(L log L) per cut, and work that its yield checkpoints
 * never saw.)
 */
export function fitEnd(text: string, from: number, to: number, max: number): number {
  let tokens = 0;
  let best = from;
  let i = from;
  while (i < to) {
    const c = text.charCodeAt(i);
    const k = CLASS[c];
    if (k === LATIN || k === OTHER) {
      let run = 1;
      if (tokens + runTokens(k, run) > max) return best;
      best = i + 1;
      let j = i + 1;
      for (; j < to; j++) {
        const kj = CLASS[text.charCodeAt(j)];
        if (kj === k) run++;
        else if (kj !== JOIN) break;
        if (tokens + runTokens(k, run) > max) return best;
        best = j + 1;
      }
      tokens += runTokens(k, run);
      i = j;
      continue;
    }
    if (k <= CR || k === JOIN) {
      best = ++i;
      continue;
    }
    const t = k === CJK && c >= 0xac00 && c <= 0xd7a3 ? hangulTokens(c) : 1;
    if (tokens + t > max) return best;
    tokens += t;
    // A surrogate pair costs its one token at the high half; the prefix ending between the halves counts the same.
    i += k === HIGH && i + 1 < to && CLASS[text.charCodeAt(i + 1)] === LOW ? 2 : 1;
    best = i;
  }
  return best;
}

/**
 * A Hangul syllable: bge's tokenizer strips accents after NFD, which decomposes the syllable into
 * its jamo, each a token (measured 2.3 per syllable on the Korean fixtures): 2 without a final
 * consonant, 3 with one.
 */
export function hangulTokens(c: number): number {
  return (c - 0xac00) % 28 === 0 ? 2 : 3;
}

/** Tokens of a run of `run` letters of class `kind` (LATIN or OTHER). */
export function runTokens(kind: number, run: number): number {
  return kind === LATIN ? (run + 3) >> 2 : run;
}

/** Tokens of `text`; see countTokensRange. */
export function countTokens(text: string): number {
  return countTokensRange(text, 0, text.length);
}
