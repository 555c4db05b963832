// Types for scorer.mjs, so the workerd test (test/scorer/scorer.test.ts) type-checks under `strict`.
export type Judgments = Record<string, number>;
export type Qrels = Record<string, Judgments>;

export interface QueryMetrics {
  ndcg10: number;
  recall10: number;
  recall100: number;
  mrr10: number;
}

export interface RunMetrics extends QueryMetrics {
  queries: number;
  missing: number;
  perQuery: Record<string, QueryMetrics>;
}

export function rankDocuments(hits: Array<{ doc: string; score: number }>): string[];
export function ndcgAt(ranking: string[], judgments: Judgments, k: number): number | null;
export function recallAt(ranking: string[], judgments: Judgments, k: number): number | null;
export function mrrAt(ranking: string[], judgments: Judgments, k: number): number | null;
export function evaluate(run: Record<string, string[]>, qrels: Qrels): RunMetrics;
export function parseQrels(text: string): Qrels;
