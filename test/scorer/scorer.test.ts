// The benchmark scorer (bench/lib/scorer.mjs) on tiny rankings whose figures were worked out by hand.
import { describe, expect, it } from "vitest";
import { evaluate, mrrAt, ndcgAt, parseQrels, rankDocuments, recallAt } from "../../bench/lib/scorer.mjs";

const LOG2_3 = Math.log2(3); // discount at rank 2
const LOG2_5 = Math.log2(5); // discount at rank 4

describe("nDCG@k (graded gains as trec_eval, ideal DCG over judged relevant documents)", () => {
  it("two relevant documents found at ranks 2 and 4", () => {
    // DCG = 1/log2(3) + 1/log2(5) = 0.63093 + 0.43068 = 1.06161
    // IDCG = 1 + 1/log2(3) = 1.63093  ->  nDCG = 0.65092
    const v = ndcgAt(["x", "a", "y", "b"], { a: 1, b: 1 }, 10);
    expect(v).toBeCloseTo((1 / LOG2_3 + 1 / LOG2_5) / (1 + 1 / LOG2_3), 12);
    expect(v).toBeCloseTo(0.650921, 6);
  });

  it("caps the ideal DCG at k when there are more relevant documents than k", () => {
    const judged = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`r${i}`, 1]));
    const ranking = Array.from({ length: 10 }, (_, i) => `r${i}`);
    expect(ndcgAt(ranking, judged, 10)).toBeCloseTo(1, 12);
  });

  it("ignores the cut-off beyond k", () => {
    expect(ndcgAt(["x", "y", "a"], { a: 1 }, 2)).toBe(0);
  });

  it("counts relevance 0 and unjudged documents as non-relevant, and gains as binary", () => {
    // only `a` is relevant; it sits at rank 2 -> 1/log2(3) / 1 = 0.63093
    expect(ndcgAt(["z", "a"], { a: 1, z: 0 }, 10)).toBeCloseTo(1 / LOG2_3, 12);
    expect(ndcgAt(["z", "a"], { a: 2, z: 0 }, 10)).toBeCloseTo(1 / LOG2_3, 12);
  });

  it("counts a document once, at its first position", () => {
    expect(ndcgAt(["a", "a", "b"], { b: 1 }, 10)).toBeCloseTo(1 / LOG2_3, 12);
  });

  it("uses graded gains as trec_eval (gain = judged relevance) when judgments are graded", () => {
    // a (rel 1) at rank 1, b (rel 2) at rank 2: DCG = 1 + 2/log2(3); ideal = b then a: 2 + 1/log2(3)
    expect(ndcgAt(["a", "b"], { a: 1, b: 2 }, 10)).toBeCloseTo((1 + 2 / LOG2_3) / (2 + 1 / LOG2_3), 12);
    expect(ndcgAt(["b", "a"], { a: 1, b: 2 }, 10)).toBeCloseTo(1, 12);
    // binary judgments: the same figure as binary gains
    expect(ndcgAt(["a", "b"], { a: 1, b: 1 }, 10)).toBeCloseTo(1, 12);
  });

  it("is null for a query without relevant judgments", () => {
    expect(ndcgAt(["a"], { a: 0 }, 10)).toBeNull();
  });
});

describe("Recall@k and MRR@k", () => {
  it("recall is the share of judged relevant documents in the first k", () => {
    expect(recallAt(["x", "a", "y", "b"], { a: 1, b: 1 }, 10)).toBe(1);
    expect(recallAt(["x", "a", "y", "b"], { a: 1, b: 1 }, 2)).toBe(0.5);
    const judged = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`r${i}`, 1]));
    expect(
      recallAt(
        Array.from({ length: 10 }, (_, i) => `r${i}`),
        judged,
        10,
      ),
    ).toBeCloseTo(10 / 12, 12);
  });

  it("MRR is the reciprocal rank of the first relevant document within k", () => {
    expect(mrrAt(["x", "a", "y", "b"], { a: 1, b: 1 }, 10)).toBe(0.5);
    expect(mrrAt(["a"], { a: 1 }, 10)).toBe(1);
    expect(mrrAt(["x", "y", "a"], { a: 1 }, 2)).toBe(0);
    expect(mrrAt(["a", "a", "b"], { b: 1 }, 10)).toBe(0.5);
  });
});

describe("rankDocuments", () => {
  it("scores a document by its best chunk and keeps the server's order on ties", () => {
    const hits = [
      { doc: "d1", score: 0.5 },
      { doc: "d2", score: 0.9 },
      { doc: "d1", score: 0.95 },
      { doc: "d3", score: 0.9 },
    ];
    expect(rankDocuments(hits)).toEqual(["d1", "d2", "d3"]);
  });
});

describe("evaluate", () => {
  it("averages over judged queries, counting a query without results as 0", () => {
    const qrels = { q1: { a: 1, b: 1 }, q2: { c: 1 }, q3: { d: 0 }, q4: { e: 1 } };
    const run = { q1: ["x", "a", "y", "b"], q2: ["c"] };
    const m = evaluate(run, qrels);
    expect(m.queries).toBe(3); // q3 has no relevant document
    expect(m.missing).toBe(1); // q4 has no results
    // nDCG@10: (0.650921 + 1 + 0) / 3 = 0.550307
    expect(m.ndcg10).toBeCloseTo(0.550307, 6);
    expect(m.recall10).toBeCloseTo(2 / 3, 12); // (1 + 1 + 0) / 3
    expect(m.recall100).toBeCloseTo(2 / 3, 12);
    expect(m.mrr10).toBeCloseTo(0.5, 12); // (0.5 + 1 + 0) / 3
    expect(m.perQuery.q4).toEqual({ ndcg10: 0, recall10: 0, recall100: 0, mrr10: 0 });
  });

  it("parses BEIR qrels with a header line", () => {
    expect(parseQrels("query-id\tcorpus-id\tscore\n1\t31715818\t1\n1\t4983\t1\n3\t14717500\t1\n")).toEqual({
      "1": { "31715818": 1, "4983": 1 },
      "3": { "14717500": 1 },
    });
  });
});
