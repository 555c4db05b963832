/**
 * Claims: an answer split into sentences, each with the verified source spans behind it (the claim
 * and citation shapes are in src/chat/source.ts). The server never trusts a span it did not find
 * itself: every citation's quote is `source.text.slice(start, end)` of a located match, a quote
 * that cannot be found in the source it cites is re-pointed to the source that holds it or dropped,
 * and each citation carries a support score (support.ts).
 */
import type { Citation, Claim, PublicSource } from "../source";
import { CLAIMS } from "../tuning";
import { isNoAnswer, NO_ANSWER } from "../answer/types";
import { locateQuote, type Span } from "./locate";
import { supportScore } from "./support";

export { locateQuote } from "./locate";
export { supportScore } from "./support";

/** What claims need of a source: its number, identity, chunk text and where the chunk sits. */
export type ClaimSource = Pick<PublicSource, "n" | "document_id" | "document_name" | "chunk" | "text" | "page" | "char_start">;

/** A quote an answerer gives for source `n` (a language model's, or the extractive answerer's own statement). */
export interface Quote {
  n: number;
  quote: string;
  /** Where the quote sits in source `n`'s text, when the answerer read it from there (extractive): cited as is. */
  start?: number;
  end?: number;
}

/** A sentence whose range and quotes the answerer already knows (the extractive answerer). */
export interface KnownSentence {
  start: number;
  end: number;
  quotes: Quote[];
}

const MARKER_GROUP = /\[(\s*\d{1,4}\s*(?:,\s*\d{1,4}\s*)*)\]/g;
/**
 * A sentence of an answer: up to a terminator (Latin ones need following space or the end), then
 * any citation markers written after it ("... done. [2]").
 */
const SENTENCE =
  /[\s\S]*?(?:[.!?\u2026]+["'\u201d\u2019)\]]*(?=\s|$)|[\u3002\uff01\uff1f]+|$)(?:\s*\[\s*\d{1,4}\s*(?:,\s*\d{1,4}\s*)*\])*/gy;

/** The sentences of an answer with their ranges (whitespace between them belongs to none). */
export function answerSentences(answer: string): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  SENTENCE.lastIndex = 0;
  while (SENTENCE.lastIndex < answer.length) {
    const at = SENTENCE.lastIndex;
    const m = SENTENCE.exec(answer);
    if (!m || m[0].length === 0) {
      if (at < answer.length) out.push({ start: at, end: answer.length });
      break;
    }
    let start = at;
    let end = at + m[0].length;
    while (start < end && /\s/.test(answer[start])) start++;
    while (end > start && /\s/.test(answer[end - 1])) end--;
    if (end > start) out.push({ start, end });
  }
  return out;
}

/** Source numbers a sentence cites, in order of first mention. */
function markersOf(sentence: string, sourceCount: number): number[] {
  const out: number[] = [];
  for (const m of sentence.matchAll(MARKER_GROUP))
    for (const part of m[1].split(",")) {
      const n = Number(part.trim());
      if (n >= 1 && n <= sourceCount && !out.includes(n)) out.push(n);
    }
  return out;
}

const stripMarkers = (s: string) => s.replace(/\s*\[\d{1,4}(?:\s*,\s*\d{1,4})*\]/g, "").trim();

function citation(src: ClaimSource, span: Span, claimText: string): Citation {
  const quote = src.text.slice(span.start, span.end);
  return {
    source: src.n,
    document_id: src.document_id,
    document_name: src.document_name,
    chunk_id: src.chunk,
    start: span.start,
    end: span.end,
    document_start: src.char_start === null ? null : src.char_start + span.start,
    document_end: src.char_start === null ? null : src.char_start + span.end,
    page: src.page,
    quote,
    support: supportScore(claimText, quote),
  };
}

/** The range an answerer gives with its quote, when it lies inside the source's text and is not empty. */
function knownSpan(q: Quote, text: string): Span | null {
  if (q.start === undefined || q.end === undefined) return null;
  if (!(Number.isInteger(q.start) && Number.isInteger(q.end) && 0 <= q.start && q.start < q.end && q.end <= text.length)) return null;
  return { start: q.start, end: q.end, match: "exact" };
}

/**
 * One claim per sentence of `answer`. `quotes` are a language model's quotes (any sentence citing
 * their source may use them); `known` are sentences whose ranges and quotes the answerer knows.
 * Without a quote for a cited source, the sentence itself (markers removed) is looked for there.
 */
export function buildClaims(
  answer: string,
  sources: ClaimSource[],
  opts: { quotes?: Quote[]; known?: KnownSentence[]; threshold?: number } = {},
): Claim[] {
  if (isNoAnswer(answer)) return [];
  const threshold = opts.threshold ?? CLAIMS.supportThreshold;
  const byN = new Map(sources.map((s) => [s.n, s]));
  const sentences = opts.known ?? answerSentences(answer).map((s) => ({ ...s, quotes: [] as Quote[] }));
  return sentences.map(({ start, end, quotes: own }) => {
    const text = answer.slice(start, end);
    const claimText = stripMarkers(text);
    const cited = markersOf(text, sources.length);
    const citations: Citation[] = [];
    const seen = new Set<string>();
    const add = (c: Citation) => {
      const key = `${c.source}:${c.start}:${c.end}`;
      if (!seen.has(key)) {
        seen.add(key);
        citations.push(c);
      }
    };
    for (const n of cited) {
      const src = byN.get(n);
      if (!src) continue;
      // The answerer's own quotes for this source, then the model's, then the sentence itself.
      const candidates = [...own.filter((q) => q.n === n), ...(opts.quotes ?? []).filter((q) => q.n === n), { n, quote: claimText }];
      let best: Citation | null = null;
      const repointed: Citation[] = [];
      for (const q of candidates) {
        const span = knownSpan(q, src.text) ?? locateQuote(q.quote, src.text);
        if (span) {
          const c = citation(src, span, claimText);
          if (!best || c.support > best.support) best = c;
        } else if (q.quote !== claimText) {
          // A quote not in the source it names: re-pointed to the source that holds it, if any.
          for (const other of sources) {
            if (other.n === n) continue;
            const elsewhere = locateQuote(q.quote, other.text);
            if (elsewhere) {
              // Only where it supports this sentence: a quote names a source, not a sentence.
              const c = citation(other, elsewhere, claimText);
              if (c.support >= threshold) repointed.push(c);
              break;
            }
          }
        }
      }
      if (best) add(best);
      for (const c of repointed) add(c);
    }
    return { text, start, end, supported: citations.some((c) => c.support >= threshold), citations };
  });
}

/**
 * Strict grounding: the answer without its unsupported sentences (claims re-indexed); when nothing
 * is left, the no-answer reply with no claims.
 */
export function dropUnsupported(answer: string, claims: Claim[]): { answer: string; claims: Claim[] } {
  if (claims.every((c) => c.supported)) return { answer, claims };
  const kept = claims.filter((c) => c.supported);
  if (kept.length === 0) return { answer: NO_ANSWER, claims: [] };
  let out = "";
  const claimsOut: Claim[] = [];
  for (const c of kept) {
    const sep = out && !/[\u3002\uff01\uff1f]$/.test(out) ? " " : "";
    const start = out.length + sep.length;
    out += sep + c.text;
    claimsOut.push({ ...c, start, end: start + c.text.length });
  }
  return { answer: out, claims: claimsOut };
}
