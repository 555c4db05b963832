/**
 * How well a source span supports a claim, in [0, 1], computed offline: the weighted share of the
 * claim's content terms (the extractive answerer's stems) found in the span, numbers and names
 * weighing more than other words; a negation on one side only, or a number of the claim missing
 * from the span, multiplies the score by a penalty. No model, a few microseconds per pair.
 */
import { terms } from "../answer/text";
import { CLAIMS } from "../tuning";

const NEGATION =
  /\b(?:not|no|never|none|neither|nor|without|cannot)\b|n't\b|\b(?:nicht|kein|nie|ne|pas|jamais|sin|nunca)\b|不|没|無|않|없/iu;
const NUMBER = /\d/;
const MARKERS = /\s*\[\d{1,4}(?:\s*,\s*\d{1,4})*\]/g;

/** Stems of the capitalised words of a text that do not start a sentence: names, places, titles. */
function nameStems(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/(?<=[\p{L}\p{N},;:)]\s+)\p{Lu}[\p{L}\p{M}'’-]*/gu)) for (const t of terms(m[0]).seq) out.add(t);
  return out;
}

export function supportScore(claim: string, span: string): number {
  const text = claim.replace(MARKERS, "");
  const claimTerms = [...new Set(terms(text).seq)];
  if (claimTerms.length === 0) return 0;
  const spanTerms = new Set(terms(span).seq);
  const names = nameStems(text);
  let total = 0;
  let found = 0;
  let missingNumber = false;
  for (const t of claimTerms) {
    const number = NUMBER.test(t);
    const w = number ? CLAIMS.numberWeight : names.has(t) ? CLAIMS.nameWeight : CLAIMS.termWeight;
    total += w;
    if (spanTerms.has(t)) found += w;
    else if (number) missingNumber = true;
  }
  let score = found / total;
  if (NEGATION.test(text) !== NEGATION.test(span)) score *= CLAIMS.negationPenalty;
  if (missingNumber) score *= CLAIMS.numberPenalty;
  return Math.round(score * 1000) / 1000;
}
