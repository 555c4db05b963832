/**
 * The keyword index's tokens, exactly as SQLite's FTS5 `porter unicode61 remove_diacritics 2`
 * tokenizer makes them, so that the collection object's in-memory BM25 index and FTS5 agree term
 * for term (test/retrieval/keyword-equality.test.ts checks it against FTS5's own index):
 *
 * - unicode61: a token is a run of letters, numbers and private-use characters (categories L*, N*,
 *   Co), plus the combining diacritics U+0300–U+0331 that SQLite treats as part of a token (and then
 *   drops). Case is folded, and with `remove_diacritics 2` a Latin letter loses its diacritics.
 * - porter: SQLite's porter step runs on the token's UTF-8 bytes, whatever the script, and passes
 *   tokens of fewer than 3 or more than 64 bytes through unchanged (unlike `stem`, which keeps any
 *   non-`[a-z]` word as it is).
 */
import { porterStem } from "./porter";

// biome-ignore lint/suspicious/noMisleadingCharacterClass: combining diacritics are token characters (unicode61), on purpose
const TOKEN = /[\p{L}\p{N}\p{Co}\u0300-\u0331]+/gu;
const ASCII = /^[\x00-\x7f]*$/;
/** Precomposed Latin letters that may carry a diacritic (Latin-1 Supplement to Latin Extended-B, Extended Additional). */
const LATIN_ACCENTED = /[\u00c0-\u024f\u1e00-\u1eff]/g;
const DIACRITICS = /[\u0300-\u036f]/g;
const MAX_STEM_BYTES = 64;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Where unicode61's case folding differs from toLowerCase (it folds as Unicode's CaseFolding does). */
const FOLD_TO: Record<string, string> = {
  "\u00b5": "\u03bc", // µ → μ
  "\u017f": "s", // ſ
  "\u03c2": "\u03c3", // ς → σ
  "\u03d0": "\u03b2", // ϐ → β
  "\u03d1": "\u03b8", // ϑ → θ
  "\u03d5": "\u03c6", // ϕ → φ
  "\u03d6": "\u03c0", // ϖ → π
  "\u03f0": "\u03ba", // ϰ → κ
  "\u03f1": "\u03c1", // ϱ → ρ
  "\u03f5": "\u03b5", // ϵ → ε
  "\u1fbe": "\u03b9", // ι → ι
};
const FOLD_EXTRA = new RegExp(`[${Object.keys(FOLD_TO).join("")}]`, "g");

/** unicode61's case and diacritic folding of one token. */
function fold(token: string): string {
  if (ASCII.test(token)) return token.toLowerCase();
  return token
    .toLowerCase()
    .replace(FOLD_EXTRA, (c) => FOLD_TO[c])
    .replace(LATIN_ACCENTED, (c) => c.normalize("NFD").replace(DIACRITICS, "") || c)
    .replace(DIACRITICS, "");
}

/** SQLite's porter step on a folded token (bytes, any script). */
export function ftsStem(token: string): string {
  if (ASCII.test(token)) return token.length > MAX_STEM_BYTES ? token : porterStem(token);
  const bytes = encoder.encode(token);
  if (bytes.length > MAX_STEM_BYTES || bytes.length < 3) return token;
  let latin1 = "";
  for (const b of bytes) latin1 += String.fromCharCode(b);
  const stemmed = porterStem(latin1);
  if (stemmed === latin1) return token;
  return decoder.decode(Uint8Array.from(stemmed, (c) => c.charCodeAt(0)));
}

const cache = new Map<string, string>();

/** A raw token → its index term (cached: the same words recur across chunks). */
function termOf(raw: string): string {
  let t = cache.get(raw);
  if (t === undefined) {
    const folded = fold(raw);
    t = folded ? ftsStem(folded) : "";
    if (cache.size >= 200_000) cache.clear();
    cache.set(raw, t);
  }
  return t;
}

/** Every token of a text, in order, as FTS5 indexes it (a token that folds to nothing is skipped). */
export function ftsTokens(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(TOKEN)) {
    const t = termOf(m[0]);
    if (t) out.push(t);
  }
  return out;
}

/** A text's length in tokens and its terms with their frequencies (what a BM25 posting needs). */
export function ftsTermCounts(text: string): { length: number; terms: Map<string, number> } {
  const tokens = ftsTokens(text);
  const terms = new Map<string, number>();
  for (const t of tokens) terms.set(t, (terms.get(t) ?? 0) + 1);
  return { length: tokens.length, terms };
}
