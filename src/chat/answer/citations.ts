/** A bracket holding one or more comma-separated numbers: `[3]`, `[1, 2]`, `[1,2,3]`. */
const CITATION = /\[(\s*\d{1,4}\s*(?:,\s*\d{1,4}\s*)*)\](?!\()/g;

/**
 * Source numbers cited in an answer, ascending and without duplicates. Understands `[n]`,
 * `[n, m]` and `[n][m]`; numbers outside 1..sourceCount are dropped (a model may invent them, or
 * the text may quote a year in brackets), and so are markdown links `[1](...)`.
 */
export function extractCitations(answer: string, sourceCount: number): number[] {
  const found = new Set<number>();
  for (const m of answer.matchAll(CITATION)) {
    for (const part of m[1].split(",")) {
      const n = Number(part.trim());
      if (Number.isInteger(n) && n >= 1 && n <= sourceCount) found.add(n);
    }
  }
  return [...found].sort((a, b) => a - b);
}
