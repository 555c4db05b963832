/**
 * Query whitening: each component divided by the root mean square of that dimension over the rows
 * (`sumSq` summed over `rows`). One matrix uses its own; a sharded collection's Worker whitens with
 * the sums over every shard (src/retrieval/shards.ts), so each shard scans with the same query.
 * A module of its own so that the Worker's search code does not load the matrix.
 */
export function whitenQuery(query: ArrayLike<number>, rows: number, sumSq: ArrayLike<number>): Float64Array {
  const dims = sumSq.length;
  const out = new Float64Array(dims);
  const n = Math.max(1, rows);
  for (let i = 0; i < dims; i++) out[i] = query[i] / Math.sqrt(sumSq[i] / n + 1e-9);
  return out;
}
