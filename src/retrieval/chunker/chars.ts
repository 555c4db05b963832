/**
 * One class per UTF-16 code unit, looked up in a 64 KiB table built once: the chunker and the
 * token counter read each character once and never run a regular expression over the text.
 */

export const WS = 0; // space, tab, other blanks: ends a word
export const NL = 1; // line break
export const PARA = 2; // form feed, paragraph separator: counts as a blank line
export const CR = 3; // carriage return: a line break unless followed by \n
export const LATIN = 4; // letters and digits of Latin scripts: ~4 characters per token
export const OTHER = 5; // letters of other scripts: 1 token each (English vocabularies split them)
export const CJK = 6; // Han, Kana, Hangul, Yi: 1 token each (Hangul syllables 2); a chunk may end after any
export const PUNCT = 7; // 1 token each
export const STOP = 8; // . ! ? … and other scripts' full stops: may end a sentence
export const CLOSE = 9; // closing quote or bracket: kept with the sentence it ends
export const CJK_STOP = 10; // 。！？ ｡ ．: end a sentence, no space needed
export const CJK_PAUSE = 11; // 、，；： ・: a clause boundary
export const CJK_OPEN = 12; // opening CJK bracket: starts the next piece
export const JOIN = 13; // combining marks, joiners, variation selectors: part of the previous character
export const HIGH = 14; // high surrogate: one token with the low one that follows
export const LOW = 15; // stray low surrogate

export const CLASS = buildTable();

function buildTable(): Uint8Array {
  const t = new Uint8Array(0x10000).fill(OTHER);
  const range = (from: number, to: number, cls: number) => t.fill(cls, from, to + 1);
  const each = (chars: string, cls: number) => {
    for (const ch of chars) t[ch.charCodeAt(0)] = cls;
  };

  // ASCII and Latin-1.
  range(0x00, 0x1f, WS);
  range(0x20, 0x7e, PUNCT);
  t[0x20] = WS;
  t[0x09] = WS;
  t[0x0a] = NL;
  t[0x0b] = NL;
  t[0x0c] = PARA;
  t[0x0d] = CR;
  range(0x30, 0x39, LATIN);
  range(0x41, 0x5a, LATIN);
  range(0x61, 0x7a, LATIN);
  each(".!?", STOP);
  each(")]}\"'", CLOSE);
  range(0x7f, 0x9f, WS);
  t[0x85] = NL;
  t[0xa0] = WS;
  range(0xa1, 0xbf, PUNCT);
  each("ªµº", LATIN);
  t[0xbb] = CLOSE;
  range(0xc0, 0x24f, LATIN);
  t[0xd7] = PUNCT;
  t[0xf7] = PUNCT;
  range(0x250, 0x2ff, LATIN);
  range(0x300, 0x36f, JOIN);

  // Other alphabets stay OTHER; a few of their marks and stops.
  range(0x483, 0x489, JOIN);
  t[0x37e] = STOP; // Greek question mark
  t[0x589] = STOP; // Armenian full stop
  t[0x61f] = STOP; // Arabic question mark
  t[0x6d4] = STOP; // Arabic full stop
  t[0x60c] = PUNCT;
  t[0x964] = STOP; // Devanagari danda
  t[0x965] = STOP;
  t[0x104a] = STOP; // Myanmar
  t[0x104b] = STOP;
  t[0x1362] = STOP; // Ethiopic
  range(0x1100, 0x11ff, CJK); // Hangul Jamo
  t[0x1680] = WS;
  range(0x1ab0, 0x1aff, JOIN);
  range(0x1dc0, 0x1dff, JOIN);
  range(0x1e00, 0x1eff, LATIN); // Latin Extended Additional (Vietnamese)

  // General punctuation and symbols.
  range(0x2000, 0x2bff, PUNCT);
  range(0x2000, 0x200b, WS); // including ZERO WIDTH SPACE, a word break in Thai and Khmer text
  t[0x200c] = JOIN;
  t[0x200d] = JOIN;
  each("’”›", CLOSE);
  t[0x2026] = STOP;
  t[0x203c] = STOP;
  range(0x2047, 0x2049, STOP);
  t[0x2028] = NL;
  t[0x2029] = PARA;
  t[0x202f] = WS;
  t[0x205f] = WS;
  t[0x2060] = JOIN;
  range(0x20d0, 0x20ff, JOIN);
  range(0x2c00, 0x2dff, OTHER);
  range(0x2c60, 0x2c7f, LATIN);
  range(0x2e00, 0x2e7f, PUNCT);

  // CJK.
  range(0x2e80, 0x2fff, CJK);
  range(0x3000, 0x303f, PUNCT);
  t[0x3000] = WS;
  t[0x3001] = CJK_PAUSE;
  t[0x3002] = CJK_STOP;
  range(0x3005, 0x3007, CJK);
  range(0x3021, 0x3029, CJK);
  t[0x303b] = CJK;
  each("〈《「『【〔〖〘〚〝", CJK_OPEN);
  each("〉》」』】〕〗〙〛〞〟", CLOSE);
  range(0x3040, 0x30ff, CJK);
  t[0x30fb] = CJK_PAUSE;
  range(0x3099, 0x309a, JOIN);
  range(0x3100, 0x33ff, CJK);
  range(0x3400, 0x4dbf, CJK);
  range(0x4dc0, 0x4dff, PUNCT);
  range(0x4e00, 0x9fff, CJK);
  range(0xa000, 0xa4cf, CJK);
  range(0xa720, 0xa7ff, LATIN);
  range(0xab30, 0xab6f, LATIN);
  range(0xac00, 0xd7ff, CJK);
  range(0xd800, 0xdbff, HIGH);
  range(0xdc00, 0xdfff, LOW);
  range(0xe000, 0xf8ff, PUNCT);
  range(0xf900, 0xfaff, CJK);
  range(0xfb00, 0xfb06, LATIN);
  range(0xfe00, 0xfe0f, JOIN);
  range(0xfe10, 0xfe1f, PUNCT);
  range(0xfe20, 0xfe2f, JOIN);
  range(0xfe30, 0xfe6f, PUNCT);
  t[0xfeff] = WS;

  // Halfwidth and fullwidth forms.
  range(0xff01, 0xff5e, PUNCT);
  range(0xff10, 0xff19, LATIN);
  range(0xff21, 0xff3a, LATIN);
  range(0xff41, 0xff5a, LATIN);
  each("！？．｡", CJK_STOP);
  each("，；：､", CJK_PAUSE);
  each("（［｛｢", CJK_OPEN);
  each("）］｝｣", CLOSE);
  range(0xff66, 0xffdc, CJK);
  range(0xffe0, 0xffff, PUNCT);
  return t;
}

/** High surrogates of supplementary CJK ideographs (U+20000–U+3FFFF). */
export function isCjkHigh(hi: number): boolean {
  return hi >= 0xd840 && hi <= 0xd8bf;
}
