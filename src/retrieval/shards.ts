/**
 * Document-hash shards of one collection (docs/scaling.md, "Shards"). A collection's shard count is
 * fixed at creation (the catalogue's `shards`, 1 by default); a document lives, whole, in the shard
 * its id hashes to, so every write stays one object's atomic commit. Shard 0's object is named by
 * the collection id alone, so every collection created before shards (and every 1-shard one) keeps
 * its object. A search over S > 1 shards is two parallel rounds: each shard's BM25 statistics for
 * the query's terms, summed into the collection's; then each shard's raw candidates scored with
 * those sums, merged and fused here as one object would.
 */
import { type Candidate, fuse } from "./fusion";
import type { IndexHit, IndexSearchRequest, KeywordStats, VectorCandidate } from "./collection-index/object";
import type { SearchResult } from "./collection-index/searcher";
import { MAX_TOP_K, sumKeywordStats } from "./collection-index/types";
import { whitenQuery } from "./local/whiten";
import { shardOf, type Stub } from "./shard-routing";

export { documentIndex, MAX_SHARDS, shardCount, shardName, shardOf, shardStub, shardStubs } from "./shard-routing";

/** The query's vector side, produced while the first round runs (an embedding, Vectorize candidates). */
export type VectorSide = Pick<IndexSearchRequest, "queryVector" | "vectorCandidates">;

/**
 * One search over a collection's shards (S > 1). Two rounds, each one call per shard in parallel:
 * 1. `termStats`: each shard's row count, token total and per-term document frequency for the
 *    query's terms (text and name fields), summed here: the collection's BM25 statistics. Skipped
 *    in vector mode. `vector()` (embedding, Vectorize) runs alongside it.
 * 2. `search({ raw, stats })`: each shard scores with the collection's statistics, so its keyword
 *    scores are those one object holding every shard would give, and returns every candidate of
 *    both sides, hydrated. Vectorize candidates go to the shard their document hashes to.
 * The keyword lists are merged by score into the collection's top `pool`, the vector lists
 * likewise, ranks renumbered, and fused by the object's own `fuse`, in the object's order (vector
 * list by rank, then keyword-only candidates by rank): the result equals one object's, ties aside.
 *
 * Why two rounds rather than statistics cached per shard: the sums are exact for every query at
 * every moment (a write to one shard changes them at once), a round costs one RPC per shard that
 * answers from memory in microseconds, and nothing has to be invalidated across objects.
 */
export async function fanOutSearch(stubs: Stub[], req: IndexSearchRequest, vector?: () => Promise<VectorSide>): Promise<SearchResult> {
  const timings: Record<string, number> = {};
  const keyword = req.mode !== "vector";
  // Local vectors with query whitening: each shard's per-dimension energy, summed, whitens the query once here.
  const whitening = req.whiten === true && req.mode !== "keyword";
  let stats: KeywordStats | undefined;
  let side: VectorSide = {};
  let whiten: { rows: number; sumSq: number[] } | null = null;
  if (keyword || whitening) {
    const t0 = performance.now();
    const round = Promise.all(stubs.map((s) => s.termStats(keyword ? req.query : null, whitening)));
    // Handled here so that a failing vector side (awaited first) leaves no unhandled rejection behind.
    round.catch(() => {});
    if (vector) side = await vector();
    const all = await round;
    timings.stats = performance.now() - t0;
    if (all.some((r) => r.sealed)) return { hits: [], timings, sealed: true };
    if (keyword) stats = sumKeywordStats(all.map((r) => r.stats));
    for (const r of all) {
      if (!r.whitening) continue;
      if (!whiten) whiten = { rows: 0, sumSq: new Array(r.whitening.sumSq.length).fill(0) };
      whiten.rows += r.whitening.rows;
      for (let i = 0; i < whiten.sumSq.length; i++) whiten.sumSq[i] += r.whitening.sumSq[i] ?? 0;
    }
  } else if (vector) side = await vector();

  let queryVector = side.queryVector ?? req.queryVector;
  let whitenHere = req.whiten;
  if (whitening && queryVector) {
    // No shard holds vectors yet: nothing to whiten against, and nothing to find.
    if (whiten && whiten.sumSq.length === queryVector.length) queryVector = Array.from(whitenQuery(queryVector, whiten.rows, whiten.sumSq));
    whitenHere = false;
  }
  const perShard: (VectorCandidate[] | undefined)[] = stubs.map(() => (side.vectorCandidates ? [] : undefined));
  for (const c of side.vectorCandidates ?? []) perShard[shardOf(c.documentId, stubs.length)]?.push(c);
  const parts = await Promise.all(
    stubs.map((s, i) =>
      s.search({ ...req, queryVector, whiten: whitenHere, vectorCandidates: perShard[i] ?? req.vectorCandidates, stats, raw: true }),
    ),
  );
  if (parts.some((p) => p.sealed)) return { hits: [], timings, sealed: true };
  // The shards ran in parallel: a step's time is its slowest shard's.
  for (const p of parts) for (const [name, ms] of Object.entries(p.timings)) timings[name] = Math.max(timings[name] ?? 0, ms);
  return {
    hits: mergeShards(
      parts.map((p) => p.hits),
      req,
    ),
    timings,
  };
}

/**
 * Merges the shards' raw candidate lists and fuses them as one object does: each side cut to the
 * collection's `pool` by score and re-ranked, then `fuse`, then the first `hydrate`.
 */
export function mergeShards(lists: IndexHit[][], req: IndexSearchRequest): IndexHit[] {
  const pool = Math.min(MAX_TOP_K, Math.max(1, Math.floor(req.pool)));
  const hydrate = Math.max(req.topK, Math.min(MAX_TOP_K, req.hydrate));
  const all = lists.flat();
  // FTS5's sign: a smaller bm25 is better. Vector: a larger cosine is better.
  const keyword = all.filter((h) => h.scores.keyword !== null).sort((a, b) => (a.scores.keyword ?? 0) - (b.scores.keyword ?? 0));
  const vector = all.filter((h) => h.scores.vector !== null).sort((a, b) => (b.scores.vector ?? 0) - (a.scores.vector ?? 0));
  type Row = Candidate & { hit: IndexHit };
  const byKey = new Map<string, Row>();
  const key = (h: IndexHit) => `${h.document_id}:${h.ordinal}`;
  // As in the object: at weight 0 with keyword hits filling the page, the vector side cannot change
  // it and is left out (so the hits' vector scores are null there too, as one object returns them).
  const keywordFills = req.vectorWeight === 0 && Math.min(pool, keyword.length) >= hydrate && (req.fusion ?? "convex") === "convex";
  const vectorSide = req.mode === "hybrid" && keywordFills ? [] : vector.slice(0, pool);
  let rank = 0;
  for (const h of vectorSide)
    byKey.set(key(h), { documentId: h.document_id, ordinal: h.ordinal, vector: { score: h.scores.vector ?? 0, rank: ++rank }, hit: h });
  rank = 0;
  for (const h of keyword.slice(0, pool)) {
    const row = byKey.get(key(h)) ?? { documentId: h.document_id, ordinal: h.ordinal, hit: h };
    row.keyword = { score: h.scores.keyword ?? 0, rank: ++rank };
    byKey.set(key(h), row);
  }
  return fuse([...byKey.values()], req)
    .slice(0, hydrate)
    .map(({ c, score }) => {
      const { hit, vector: v, keyword: k } = c as Row;
      return {
        ...hit,
        score,
        scores: {
          vector: v?.score ?? null,
          vector_rank: v?.rank ?? null,
          keyword: k?.score ?? null,
          keyword_rank: k?.rank ?? null,
          fused: score,
        },
      };
    });
}
