/**
 * The collection's local vectors (local embedder only; with Vectorize the Worker brings candidates):
 * int8 rows in `vectors`, scanned in memory from a matrix loaded on the first vector query.
 */
import kernel from "../local/kernel/kernel.wasm";
import { QuantizedMatrix, quantize } from "../local/matrix";
import { IndexError } from "./errors";
import type { Statements } from "./statements";
import type { IndexSearchRequest, VectorCandidate } from "./types";

export const MAX_DIMS = 4096;

export interface Quantised {
  q: Int8Array;
  scale: number;
}

export class Vectors {
  #st: Statements;
  #dims: number | null;
  #matrix: QuantizedMatrix | null = null;

  constructor(st: Statements) {
    this.#st = st;
    const v = st.meta("dims");
    this.#dims = v === null ? null : Number(v);
  }

  get dims(): number | null {
    return this.#dims;
  }
  get loaded(): boolean {
    return this.#matrix !== null;
  }
  get size(): number | null {
    return this.#matrix?.size ?? null;
  }
  get memoryBytes(): number {
    return this.#matrix?.memoryBytes ?? 0;
  }

  /** Checks and quantises a page's vectors; the dimension the collection will hold. */
  prepare(vectors: (Float32Array | number[])[] | undefined): { dims: number | null; rows: Quantised[] | undefined } {
    const dims = vectors?.length ? (this.#dims ?? dimsOf(vectors[0])) : this.#dims;
    const rows = vectors?.map((v) => {
      checkValues(v, dims as number);
      const q = new Int8Array(dims as number);
      return { q, scale: quantize(v, q) };
    });
    return { dims, rows };
  }

  /** Inside the write's transaction: the first vectors fix the collection's dimension. */
  recordDims(dims: number): void {
    if (this.#dims === null) this.#st.setMeta("dims", String(dims));
  }

  /** After a committed write or delete: memory follows storage. */
  committed(documentId: string, dims: number | null, removed: number, added: { ordinal: number; q: Int8Array; scale: number }[]): void {
    if (dims !== null) this.#dims = dims;
    if (!this.#matrix) return;
    for (let k = 0; k < removed; k++) this.#matrix.remove(`${documentId}:${k}`);
    for (const a of added) this.#matrix.put(`${documentId}:${a.ordinal}`, a.q, a.scale, documentId, a.ordinal);
  }

  reset(): void {
    this.#matrix = null;
    this.#dims = null;
  }

  /** This shard's whitening statistics (loading the matrix), or null when it holds no local vectors. */
  whitening(): { rows: number; sumSq: number[] } | null {
    if (this.#dims === null) return null;
    return this.#load().whitening();
  }

  candidates(req: IndexSearchRequest, pool: number, allowed: Set<string> | null): VectorCandidate[] {
    if (req.vectorCandidates) {
      // Vectorize candidates: only documents committed here (and allowed by the filter) count.
      const live = allowed ?? this.#st.liveDocuments(req.vectorCandidates.map((c) => c.documentId));
      return req.vectorCandidates.filter((c) => live.has(c.documentId)).slice(0, pool);
    }
    if (!req.queryVector || this.#dims === null) return [];
    checkValues(req.queryVector, this.#dims);
    const allow = allowed ? (d: string) => allowed.has(d) : undefined;
    return this.#load().search(req.queryVector, pool, req.whiten === true, allow);
  }

  #load(): QuantizedMatrix {
    if (this.#matrix) return this.#matrix;
    const matrix = new QuantizedMatrix(kernel, this.#dims as number, this.#st.vectorCount());
    for (const [documentId, ordinal, scale, q] of this.#st.allVectors())
      matrix.put(`${documentId}:${ordinal}`, new Int8Array(q as ArrayBuffer), scale as number, documentId as string, ordinal as number);
    this.#matrix = matrix;
    return matrix;
  }
}

function dimsOf(values: unknown): number {
  const n = (values as { length?: unknown } | undefined)?.length;
  if (typeof n !== "number" || n < 1 || n > MAX_DIMS) throw new IndexError("invalid_vector", `values must hold 1 to ${MAX_DIMS} numbers`);
  return n;
}

function checkValues(values: unknown, dims: number): void {
  if (!(values instanceof Float32Array) && !Array.isArray(values)) {
    throw new IndexError("invalid_vector", "values must be a Float32Array or an array of numbers");
  }
  if (values.length !== dims)
    throw new IndexError("dimension_mismatch", `the index holds ${dims}-dimensional vectors, got ${values.length}`);
  for (let i = 0; i < dims; i++) {
    const v = values[i];
    if (typeof v !== "number" || !Number.isFinite(v)) throw new IndexError("invalid_vector", "values must be finite numbers");
  }
}
