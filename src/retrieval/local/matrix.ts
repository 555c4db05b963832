/**
 * The in-memory side of the local vector index: rows quantised to int8 with one scale per row,
 * kept in the memory of a WebAssembly instance and scanned by its SIMD kernel (kernel/gen.mjs).
 *
 * 100,000 rows of 384 float32 would take 154 MB, over the 128 MB a Worker may use; as int8 they
 * take 38 MB. The query keeps 16 bits, so the only rounding that matters is the rows' (about
 * 0.4% of a component's range), which moves cosine scores by roughly 0.0005.
 *
 * Free of Workers-only imports so that the benchmarks run the same code under Node.
 */
import { whitenQuery } from "./whiten";

export interface MatrixMatch {
  id: string;
  score: number;
  documentId: string;
  ordinal: number;
}

interface KernelExports {
  memory: WebAssembly.Memory;
  scan(q: number, m: number, out: number, n: number, stride: number): void;
}

/** Rows scanned per kernel call; the i32 dot products of one call land in a fixed buffer. */
const BLOCK = 4096;
const PAGE = 65536;
const INT8_MAX = 127;

/** Quantises `values` after scaling them to unit length; returns the scale (0 for a zero vector). */
export function quantize(values: ArrayLike<number>, out: Int8Array): number {
  const dims = values.length;
  let norm = 0;
  for (let i = 0; i < dims; i++) norm += values[i] * values[i];
  norm = Math.sqrt(norm);
  let max = 0;
  for (let i = 0; i < dims; i++) {
    const a = Math.abs(values[i]);
    if (a > max) max = a;
  }
  if (norm === 0 || max === 0) {
    out.fill(0, 0, dims);
    return 0;
  }
  const k = (INT8_MAX * norm) / max;
  for (let i = 0; i < dims; i++) out[i] = Math.round((values[i] / norm) * k);
  return max / norm / INT8_MAX;
}

export class QuantizedMatrix {
  readonly dims: number;
  /** Row length in bytes: dims rounded up to 16 for the SIMD loads, zero padded. */
  readonly stride: number;
  private readonly kernel: KernelExports;
  private readonly queryOff = 0;
  private readonly outOff: number;
  private readonly rowsOff: number;
  private capacity = 0;
  private n = 0;
  private scales = new Float32Array(0);
  private ordinals = new Int32Array(0);
  private ids: string[] = [];
  private documentIds: string[] = [];
  private readonly rowOf = new Map<string, number>();
  /** Sum over rows of each dimension squared (rows at unit length), for query whitening. */
  private readonly sumSq: Float64Array;
  private readonly scratch: Int8Array;
  /** Largest 16-bit query component for which no i32 sum can overflow at this stride. */
  private readonly queryMax: number;

  constructor(kernel: WebAssembly.Module, dims: number, capacity = 0) {
    if (!Number.isInteger(dims) || dims < 1 || dims > 4096) throw new RangeError(`invalid dimensions ${dims}`);
    this.dims = dims;
    this.stride = Math.ceil(dims / 16) * 16;
    this.outOff = this.stride * 2;
    this.rowsOff = this.outOff + BLOCK * 4;
    this.queryMax = Math.min(32767, Math.floor(0x7fffffff / (this.stride * INT8_MAX)));
    this.kernel = new WebAssembly.Instance(kernel, {}).exports as unknown as KernelExports;
    this.scratch = new Int8Array(this.stride);
    this.sumSq = new Float64Array(dims);
    this.reserve(Math.max(capacity, 16));
  }

  get size(): number {
    return this.n;
  }

  /** Bytes held: the wasm memory plus the per-row arrays (ids not counted). */
  get memoryBytes(): number {
    return this.kernel.memory.buffer.byteLength + this.scales.byteLength + this.ordinals.byteLength;
  }

  has(id: string): boolean {
    return this.rowOf.has(id);
  }

  /** Inserts or replaces a row from float values (scaled to unit length, then quantised). */
  upsert(id: string, values: ArrayLike<number>, documentId: string, ordinal: number): void {
    const scale = quantize(values, this.scratch);
    this.put(id, this.scratch, scale, documentId, ordinal);
  }

  /** Inserts or replaces an already quantised row (`q` holds at least `dims` int8 values). */
  put(id: string, q: Int8Array, scale: number, documentId: string, ordinal: number): void {
    let row = this.rowOf.get(id);
    if (row !== undefined) this.account(row, -1);
    else {
      if (this.n === this.capacity) this.reserve(this.capacity * 2);
      row = this.n++;
      this.rowOf.set(id, row);
      this.ids[row] = id;
    }
    const at = this.rowsOff + row * this.stride;
    const mem = new Int8Array(this.kernel.memory.buffer);
    mem.set(q.length === this.dims ? q : q.subarray(0, this.dims), at);
    this.scales[row] = scale;
    this.documentIds[row] = documentId;
    this.ordinals[row] = ordinal;
    this.account(row, 1);
  }

  /** Adds (sign 1) or removes (sign -1) a row's squares from sumSq. */
  private account(row: number, sign: number): void {
    const mem = new Int8Array(this.kernel.memory.buffer, this.rowsOff + row * this.stride, this.dims);
    const s2 = this.scales[row] * this.scales[row] * sign;
    if (s2 === 0) return;
    const sumSq = this.sumSq;
    for (let i = 0; i < this.dims; i++) sumSq[i] += mem[i] * mem[i] * s2;
  }

  /** Removes a row by moving the last row into its place. Returns false for an unknown id. */
  remove(id: string): boolean {
    const row = this.rowOf.get(id);
    if (row === undefined) return false;
    this.rowOf.delete(id);
    this.account(row, -1);
    const last = --this.n;
    if (row !== last) {
      const mem = new Int8Array(this.kernel.memory.buffer);
      const from = this.rowsOff + last * this.stride;
      mem.copyWithin(this.rowsOff + row * this.stride, from, from + this.stride);
      this.scales[row] = this.scales[last];
      this.ordinals[row] = this.ordinals[last];
      this.ids[row] = this.ids[last];
      this.documentIds[row] = this.documentIds[last];
      this.rowOf.set(this.ids[row], row);
    }
    this.ids.length = last;
    this.documentIds.length = last;
    if (last === 0) this.sumSq.fill(0); // no drift carried into a refilled index
    return true;
  }

  /**
   * Cosine similarity against every row; the best `topK`, best first. With `whiten`, each query
   * dimension is first divided by that dimension's root mean square over the rows, a query-time
   * stand-in for idf with hashed features (dimensions that frequent features share count less);
   * scores are then cosines with the reweighted query. `allow` restricts the scan to some documents.
   */
  search(query: ArrayLike<number>, topK: number, whiten = false, allow?: (documentId: string) => boolean): MatrixMatch[] {
    const k = Math.min(topK, this.n);
    if (k <= 0) return [];
    const qScale = this.loadQuery(whiten ? this.whitened(query) : query);
    // A zero query has no direction, so nothing is similar to it.
    if (qScale === 0) return [];

    const bestScore = new Float64Array(k).fill(Number.NEGATIVE_INFINITY);
    const bestRow = new Int32Array(k).fill(-1);
    let floor = Number.NEGATIVE_INFINITY;
    const { scan, memory } = this.kernel;
    const out = new Int32Array(memory.buffer, this.outOff, BLOCK);
    const scales = this.scales;
    for (let base = 0; base < this.n; base += BLOCK) {
      const count = Math.min(BLOCK, this.n - base);
      scan(this.queryOff, this.rowsOff + base * this.stride, this.outOff, count, this.stride);
      for (let j = 0; j < count; j++) {
        const s = out[j] * scales[base + j];
        if (s <= floor) continue;
        // Filters apply before top-k, so a filtered query still gets its k best allowed rows.
        if (allow && !allow(this.documentIds[base + j])) continue;
        // Insertion into the short sorted list; ties keep the earlier row.
        let p = k - 1;
        while (p > 0 && bestScore[p - 1] < s) {
          bestScore[p] = bestScore[p - 1];
          bestRow[p] = bestRow[p - 1];
          p--;
        }
        bestScore[p] = s;
        bestRow[p] = base + j;
        floor = bestScore[k - 1];
      }
    }
    const matches: MatrixMatch[] = [];
    for (let p = 0; p < k; p++) {
      const r = bestRow[p];
      if (r < 0) break;
      matches.push(this.match(r, bestScore[p] * qScale));
    }
    return matches;
  }

  private whitened(query: ArrayLike<number>): Float64Array {
    return whitenQuery(query, this.n, this.sumSq);
  }

  /** The whitening statistics (rows, per-dimension sum of squares): a sharded collection sums its shards'. */
  whitening(): { rows: number; sumSq: number[] } {
    return { rows: this.n, sumSq: Array.from(this.sumSq) };
  }

  /** Writes the unit-length query as int16 into wasm memory; returns its scale (0 if zero). */
  private loadQuery(query: ArrayLike<number>): number {
    const dims = this.dims;
    let norm = 0;
    let max = 0;
    for (let i = 0; i < dims; i++) {
      const v = query[i];
      norm += v * v;
      const a = Math.abs(v);
      if (a > max) max = a;
    }
    const q = new Int16Array(this.kernel.memory.buffer, this.queryOff, this.stride);
    if (norm === 0) return 0;
    norm = Math.sqrt(norm);
    const k = this.queryMax / max;
    for (let i = 0; i < dims; i++) q[i] = Math.round(query[i] * k);
    q.fill(0, dims);
    return max / norm / this.queryMax;
  }

  private match(row: number, score: number): MatrixMatch {
    return { id: this.ids[row], score, documentId: this.documentIds[row], ordinal: this.ordinals[row] };
  }

  private reserve(capacity: number): void {
    if (capacity <= this.capacity) return;
    const memory = this.kernel.memory;
    const need = this.rowsOff + capacity * this.stride;
    const pages = Math.ceil(need / PAGE) - memory.buffer.byteLength / PAGE;
    if (pages > 0) memory.grow(pages);
    const scales = new Float32Array(capacity);
    scales.set(this.scales.subarray(0, this.n));
    const ordinals = new Int32Array(capacity);
    ordinals.set(this.ordinals.subarray(0, this.n));
    this.scales = scales;
    this.ordinals = ordinals;
    this.capacity = capacity;
  }
}
