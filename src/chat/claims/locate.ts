/**
 * Finds a quote in a passage and returns its exact range there: verbatim first, then ignoring
 * whitespace runs and case, then a bounded fuzzy match over words (most of the quote's words, in
 * order, within a window not much longer than the quote). Whatever stage matches, the caller
 * quotes `text.slice(start, end)`, so a shown quote is always the source's own text.
 */
import { CLAIMS } from "../tuning";

export interface Span {
  start: number;
  end: number;
  /** Which stage matched: a verbatim quote, the same text up to spacing and case, or most of its words in order. */
  match: "exact" | "normalised" | "fuzzy";
}

/** Lower-cased text with whitespace runs collapsed to one space, and where each of its units came from. */
function normalise(text: string): { norm: string; from: number[] } {
  const out: string[] = [];
  const from: number[] = [];
  let space = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === " " || ch === "\n" || ch === "\t" || ch === "\r" || ch === "\u00a0" || ch === "\u3000") {
      if (!space && out.length > 0) {
        out.push(" ");
        from.push(i);
      }
      space = true;
      continue;
    }
    space = false;
    const lower = ch.toLowerCase();
    out.push(lower.length === 1 ? lower : ch);
    from.push(i);
  }
  if (out[out.length - 1] === " ") {
    out.pop();
    from.pop();
  }
  return { norm: out.join(""), from };
}

const WORD = /[\p{L}\p{N}]+/gu;

function words(text: string): { w: string; start: number; end: number }[] {
  const out: { w: string; start: number; end: number }[] = [];
  for (const m of text.matchAll(WORD))
    out.push({ w: m[0].toLowerCase(), start: m.index as number, end: (m.index as number) + m[0].length });
  return out;
}

export function locateQuote(quote: string, text: string): Span | null {
  const q = quote.trim();
  if (q.length < CLAIMS.minQuoteChars) return null;
  const at = text.indexOf(q);
  if (at >= 0) return { start: at, end: at + q.length, match: "exact" };

  const nq = normalise(q).norm;
  const nt = normalise(text);
  const i = nt.norm.indexOf(nq);
  if (i >= 0) return { start: nt.from[i], end: nt.from[i + nq.length - 1] + 1, match: "normalised" };

  // Bounded fuzzy: for each place the quote's first words occur, match its words greedily in order
  // within a window of fuzzyWindow × its length; keep the best match that covers enough of it.
  const qw = words(q).map((x) => x.w);
  if (qw.length < 3) return null;
  const tw = words(text);
  const need = Math.ceil(qw.length * CLAIMS.fuzzyMinShare);
  const window = Math.ceil(qw.length * CLAIMS.fuzzyWindow) + 2;
  const heads = new Set(qw.slice(0, qw.length - need + 1));
  let best: { matched: number; start: number; end: number } | null = null;
  for (let s = 0; s < tw.length; s++) {
    if (!heads.has(tw[s].w)) continue;
    let k = qw.indexOf(tw[s].w);
    let matched = 0;
    let last = s;
    for (let j = s; j < Math.min(tw.length, s + window) && k < qw.length; j++) {
      if (tw[j].w === qw[k]) {
        matched++;
        last = j;
        k++;
      } else if (k + 1 < qw.length && tw[j].w === qw[k + 1]) {
        // The model (or a table's layout) dropped one word of the quote.
        matched++;
        last = j;
        k += 2;
      }
    }
    if (matched >= need && (!best || matched > best.matched)) best = { matched, start: tw[s].start, end: tw[last].end };
  }
  return best ? { start: best.start, end: best.end, match: "fuzzy" } : null;
}
