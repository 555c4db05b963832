import { DurableObject } from "cloudflare:workers";
import type { VectorMatch } from "../types";
import kernel from "./kernel/kernel.wasm";
import { QuantizedMatrix, quantize } from "./matrix";

/** What the RPC methods accept: typed arrays survive structured clone, plain arrays are fine too. */
export interface IndexRecord {
  id: string;
  values: number[] | Float32Array;
  documentId: string;
  ordinal: number;
}

export interface IndexStats {
  count: number;
  /** Fixed by the first upsert; null while the index has never held a vector (or was dropped). */
  dims: number | null;
  /** Bytes of the in-memory matrix; 0 until the first query loads it. */
  memoryBytes: number;
  loaded: boolean;
}

export interface QueryOptions {
  /** Reweight the query by the index's per-dimension statistics (see QuantizedMatrix.search). */
  whiten?: boolean;
}

export const MAX_DIMS = 4096;
export const MAX_BATCH = 1000;
export const MAX_TOP_K = 100;
export const MAX_ID_BYTES = 64;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS vectors (
    id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    scale REAL NOT NULL,
    q BLOB NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

const utf8 = new TextEncoder();

/**
 * One collection's vectors. They persist in this object's SQLite storage as int8 blobs with a
 * scale, and are loaded into a QuantizedMatrix on the first query after a cold start (ingestion
 * alone never pays for the load). Queries are exact brute-force scans of the quantised rows.
 */
export class LocalVectorIndex extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private dims: number | null;
  private matrix: QuantizedMatrix | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(SCHEMA);
    this.dims = this.readDims();
  }

  upsert(records: IndexRecord[]): number {
    if (!Array.isArray(records)) throw new TypeError("invalid_vector: records must be an array");
    if (records.length > MAX_BATCH) throw new RangeError(`invalid_vector: at most ${MAX_BATCH} vectors per call`);
    if (records.length === 0) return 0;
    const dims = this.dims ?? dimsOf(records[0]);
    for (const r of records) checkRecord(r, dims);

    const rows = records.map((r) => {
      const q = new Int8Array(dims);
      return { r, q, scale: quantize(r.values, q) };
    });
    this.ctx.storage.transactionSync(() => {
      if (this.dims === null) this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('dims', ?)", String(dims));
      for (const { r, q, scale } of rows) {
        this.sql.exec(
          `INSERT INTO vectors (id, document_id, ordinal, scale, q) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET document_id = excluded.document_id, ordinal = excluded.ordinal,
             scale = excluded.scale, q = excluded.q`,
          r.id,
          r.documentId,
          r.ordinal,
          scale,
          q.buffer,
        );
      }
    });
    this.dims = dims;
    if (this.matrix) for (const { r, q, scale } of rows) this.matrix.put(r.id, q, scale, r.documentId, r.ordinal);
    return records.length;
  }

  query(vector: number[] | Float32Array, topK: number, options: QueryOptions = {}): VectorMatch[] {
    if (!Number.isInteger(topK) || topK < 1 || topK > MAX_TOP_K) {
      throw new RangeError(`invalid_top_k: topK must be an integer from 1 to ${MAX_TOP_K}`);
    }
    checkValues(vector, this.dims ?? dimsOf({ values: vector }));
    if (this.dims === null) return [];
    return this.load().search(vector, topK, options.whiten === true);
  }

  deleteByIds(ids: string[]): number {
    if (!Array.isArray(ids) || ids.some((id) => typeof id !== "string")) {
      throw new TypeError("invalid_id: ids must be an array of strings");
    }
    let deleted = 0;
    this.ctx.storage.transactionSync(() => {
      for (const id of ids) deleted += this.sql.exec("DELETE FROM vectors WHERE id = ?", id).rowsWritten > 0 ? 1 : 0;
    });
    if (this.matrix) for (const id of ids) this.matrix.remove(id);
    return deleted;
  }

  /** Forgets every vector and the dimension, so the collection may be re-indexed with another embedder. */
  drop(): void {
    this.sql.exec("DROP TABLE IF EXISTS vectors; DROP TABLE IF EXISTS meta;");
    this.sql.exec(SCHEMA);
    this.dims = null;
    this.matrix = null;
  }

  stats(): IndexStats {
    const count = this.matrix?.size ?? this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM vectors").one().n;
    return { count, dims: this.dims, memoryBytes: this.matrix?.memoryBytes ?? 0, loaded: this.matrix !== null };
  }

  private readDims(): number | null {
    const row = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'dims'").toArray()[0];
    return row ? Number(row.value) : null;
  }

  private load(): QuantizedMatrix {
    if (this.matrix) return this.matrix;
    const dims = this.dims as number;
    const count = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM vectors").one().n;
    const matrix = new QuantizedMatrix(kernel, dims, count);
    const cursor = this.sql.exec("SELECT id, document_id, ordinal, scale, q FROM vectors").raw();
    for (const [id, documentId, ordinal, scale, q] of cursor) {
      matrix.put(id as string, new Int8Array(q as ArrayBuffer), scale as number, documentId as string, ordinal as number);
    }
    this.matrix = matrix;
    return matrix;
  }
}

function dimsOf(r: { values: unknown }): number {
  const n = (r?.values as { length?: unknown } | undefined)?.length;
  if (typeof n !== "number" || n < 1 || n > MAX_DIMS) {
    throw new RangeError(`invalid_vector: values must hold 1 to ${MAX_DIMS} numbers`);
  }
  return n;
}

function checkValues(values: unknown, dims: number): void {
  if (!(values instanceof Float32Array) && !Array.isArray(values)) {
    throw new TypeError("invalid_vector: values must be a Float32Array or an array of numbers");
  }
  if (values.length !== dims) {
    throw new RangeError(`dimension_mismatch: the index holds ${dims}-dimensional vectors, got ${values.length}`);
  }
  for (let i = 0; i < dims; i++) {
    const v = values[i];
    if (typeof v !== "number" || !Number.isFinite(v)) throw new RangeError("invalid_vector: values must be finite numbers");
  }
}

function checkRecord(r: IndexRecord, dims: number): void {
  if (typeof r?.id !== "string" || r.id.length === 0 || utf8.encode(r.id).length > MAX_ID_BYTES) {
    throw new RangeError(`invalid_id: ids must be 1 to ${MAX_ID_BYTES} bytes of UTF-8`);
  }
  if (typeof r.documentId !== "string" || r.documentId.length === 0) {
    throw new TypeError(`invalid_vector: ${r.id} has no documentId`);
  }
  if (!Number.isSafeInteger(r.ordinal) || r.ordinal < 0) {
    throw new RangeError(`invalid_vector: ${r.id} has an invalid ordinal`);
  }
  checkValues(r.values, dims);
}
