import { DurableObject } from "cloudflare:workers";
import { compileFilter, type MetadataFilter } from "../filter";
import { type Candidate, fuse, type SearchMode } from "../fusion";
import kernel from "../local/kernel/kernel.wasm";
import { QuantizedMatrix, quantize } from "../local/matrix";
import { hasCjk, keywordQuery, MAX_SUBSTRINGS } from "./query";
import { HYDRATE_SQL, KEYWORD_SQL, NAME_SQL, nameWords, SCHEMA, SUBSTRING_SQL } from "./schema";

export const MAX_DIMS = 4096;
export const MAX_TOP_K = 100;
/** Chunks per write call; the client also cuts pages by bytes (RPC messages stay well under 32 MiB). */
export const MAX_PAGE = 1000;

export interface ChunkInput {
  ordinal: number;
  text: string;
  start: number;
  end: number;
  page: number | null;
  heading: string | null;
  tokens: number;
}

export interface DocumentInput {
  id: string;
  generation: number;
  name: string;
  /** The document's metadata JSON (filters run on it). */
  metadata: string;
}

export interface WritePage {
  document: DocumentInput;
  chunks: ChunkInput[];
  /** Local embedder only: one vector per chunk, in order. With Vectorize there are none here. */
  vectors?: (Float32Array | number[])[];
  /** Set on the last page: the total number of chunks, and the page is committed atomically. */
  commit?: { chunkCount: number };
}

export type WriteResult = { status: "staged" | "ready"; chunkCount: number } | { status: "stale"; chunkCount: 0 };

export interface VectorCandidate {
  documentId: string;
  ordinal: number;
  score: number;
}

export interface IndexSearchRequest {
  query: string;
  topK: number;
  mode: SearchMode;
  fusion?: "convex" | "rrf";
  rrfK?: number;
  vectorWeight: number;
  /** Candidates per side before fusion. */
  pool: number;
  documentIds?: string[];
  filter?: MetadataFilter;
  /** Local vectors: the query embedding, scanned here. */
  queryVector?: Float32Array | number[];
  whiten?: boolean;
  /** Vectorize: candidates the Worker got from Vectorize, post-filtered and fused here. */
  vectorCandidates?: VectorCandidate[];
  /** How many fused candidates to hydrate (a reranker wants more than topK). */
  hydrate: number;
}

export interface IndexHit {
  chunk_id: number;
  document_id: string;
  document_name: string;
  ordinal: number;
  text: string;
  page: number | null;
  heading: string | null;
  score: number;
  scores: { vector: number | null; vector_rank: number | null; keyword: number | null; keyword_rank: number | null; fused: number };
}

export interface IndexStats {
  documents: number;
  chunks: number;
  vectors: number;
  dims: number | null;
  loaded: boolean;
  /** Bytes of the in-memory vector matrix; 0 until the first vector query loads it. */
  memoryBytes: number;
  /** Size of the object's SQLite database (chunks, keyword indexes, vectors). */
  storageBytes: number;
}

const TOMBSTONE = 2 ** 31;
/**
 * A document's name is a second keyword field: its bm25 in `names_fts`, times this weight, is added
 * to each of its chunks' keyword score (BM25F-style: a term in the name counts like one in the
 * text). 1 = the two fields weigh the same; not tuned.
 */
const NAME_WEIGHT = 1;
/** Name-matched documents considered per query. */
const NAME_POOL = 20;

/**
 * One collection's data plane: chunks, the keyword indexes, and (with the local embedder) its
 * int8 vectors, in this object's SQLite storage. Every write commits inside one transactionSync, so
 * a failure leaves nothing half-written; one RPC answers a whole search (candidates, fusion,
 * hydration). The vector matrix is loaded on the first vector query after a cold start.
 */
export class CollectionIndex extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private dims: number | null;
  private matrix: QuantizedMatrix | null = null;
  /** Set when the collection's deletion began: nothing is read or written from then on. */
  private sealed: boolean;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(SCHEMA);
    this.backfillNames();
    this.dims = this.readDims();
    this.sealed = this.sql.exec("SELECT 1 FROM meta WHERE key = 'sealed'").toArray().length > 0;
  }

  /**
   * Marks the collection as being deleted: from this call on, searches find nothing and writes are
   * stale, whatever an isolate's cached copy of the catalogue still says. `drop` clears it.
   */
  seal(): void {
    this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('sealed', '1')");
    this.sealed = true;
  }

  /**
   * Writes one page of a document's chunks. Pages are staged under (document, generation); the
   * page with `commit` swaps the staged set in for the document's live rows in one transaction.
   * A commit for an older generation than the one stored (or a deleted document) is stale.
   */
  write(page: WritePage): WriteResult {
    const doc = checkDocument(page.document);
    if (!Array.isArray(page.chunks) || page.chunks.length > MAX_PAGE)
      throw new RangeError(`invalid_page: at most ${MAX_PAGE} chunks per call`);
    const vectors = page.vectors;
    if (vectors && vectors.length !== page.chunks.length) throw new RangeError("invalid_page: one vector per chunk");
    const dims = vectors?.length ? (this.dims ?? dimsOf(vectors[0])) : this.dims;
    const quantised = vectors?.map((v) => {
      checkValues(v, dims as number);
      const q = new Int8Array(dims as number);
      return { q, scale: quantize(v, q) };
    });
    if (this.sealed || this.storedGeneration(doc.id) > doc.generation) return { status: "stale", chunkCount: 0 };

    let result: WriteResult = { status: "staged", chunkCount: 0 };
    let committed: { removed: number; added: { ordinal: number; q: Int8Array; scale: number }[] } | null = null;
    this.ctx.storage.transactionSync(() => {
      if (vectors?.length && this.dims === null) this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('dims', ?)", String(dims));
      page.chunks.forEach((ch, i) => {
        const v = quantised?.[i];
        this.sql.exec(
          `INSERT OR REPLACE INTO staged (document_id, generation, ordinal, text, char_start, char_end, page, heading, token_count, scale, q)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          doc.id,
          doc.generation,
          ch.ordinal,
          String(ch.text),
          ch.start,
          ch.end,
          ch.page ?? null,
          ch.heading ?? null,
          ch.tokens,
          v ? v.scale : null,
          v ? v.q.buffer : null,
        );
      });
      if (!page.commit) return;
      const staged = this.sql
        .exec<{ n: number }>("SELECT COUNT(*) AS n FROM staged WHERE document_id = ? AND generation = ?", doc.id, doc.generation)
        .one().n;
      if (staged !== page.commit.chunkCount) throw new Error(`incomplete_document: ${staged} of ${page.commit.chunkCount} chunks staged`);
      const removed = this.removeRows(doc.id);
      for (const row of this.sql.exec<{
        ordinal: number;
        text: string;
        char_start: number;
        char_end: number;
        page: number | null;
        heading: string | null;
        token_count: number;
      }>(
        "SELECT ordinal, text, char_start, char_end, page, heading, token_count FROM staged WHERE document_id = ? AND generation = ? ORDER BY ordinal",
        doc.id,
        doc.generation,
      )) {
        this.sql.exec(
          `INSERT INTO chunks (document_id, ordinal, text, char_start, char_end, page, heading, token_count, cjk) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          doc.id,
          row.ordinal,
          row.text,
          row.char_start,
          row.char_end,
          row.page,
          row.heading,
          row.token_count,
          hasCjk(row.text) ? 1 : 0,
        );
      }
      const added: { ordinal: number; q: Int8Array; scale: number }[] = [];
      for (const row of this.sql.exec<{ ordinal: number; scale: number; q: ArrayBuffer }>(
        "SELECT ordinal, scale, q FROM staged WHERE document_id = ? AND generation = ? AND q IS NOT NULL",
        doc.id,
        doc.generation,
      )) {
        this.sql.exec("INSERT INTO vectors (document_id, ordinal, scale, q) VALUES (?, ?, ?, ?)", doc.id, row.ordinal, row.scale, row.q);
        added.push({ ordinal: row.ordinal, q: new Int8Array(row.q), scale: row.scale });
      }
      this.sql.exec("DELETE FROM staged WHERE document_id = ?", doc.id);
      this.sql.exec(
        `INSERT INTO docs (id, generation, name, metadata, chunk_count, deleted) VALUES (?, ?, ?, ?, ?, 0)
         ON CONFLICT (id) DO UPDATE SET generation = excluded.generation, name = excluded.name, metadata = excluded.metadata,
           chunk_count = excluded.chunk_count, deleted = 0`,
        doc.id,
        doc.generation,
        doc.name,
        doc.metadata,
        staged,
      );
      this.sql.exec("INSERT INTO names (document_id, name) VALUES (?, ?)", doc.id, nameWords(doc.name));
      committed = { removed, added };
      result = { status: "ready", chunkCount: staged };
    });
    if (vectors?.length) this.dims = dims;
    if (committed && this.matrix) {
      const { removed, added } = committed as { removed: number; added: { ordinal: number; q: Int8Array; scale: number }[] };
      for (let k = 0; k < removed; k++) this.matrix.remove(`${doc.id}:${k}`);
      for (const a of added) this.matrix.put(`${doc.id}:${a.ordinal}`, a.q, a.scale, doc.id, a.ordinal);
    }
    return result;
  }

  /** Forgets the staged pages of a failed attempt. */
  discard(documentId: string, generation: number): void {
    this.sql.exec("DELETE FROM staged WHERE document_id = ? AND generation <= ?", documentId, generation);
  }

  /**
   * Removes a document's chunks, keyword rows and vectors in one transaction. `upToGeneration`
   * spares a newer generation's commit (an indexer undoing its own stale work); without it the
   * document is deleted for good and a tombstone refuses any later commit.
   */
  remove(documentId: string, upToGeneration?: number): { removed: boolean } {
    if (typeof documentId !== "string" || !documentId) throw new TypeError("invalid_id: documentId must be a string");
    let removed = 0;
    let done = false;
    this.ctx.storage.transactionSync(() => {
      const stored = this.storedGeneration(documentId);
      if (upToGeneration !== undefined && stored > upToGeneration) return;
      removed = this.removeRows(documentId);
      this.sql.exec("DELETE FROM staged WHERE document_id = ?", documentId);
      if (upToGeneration === undefined) {
        this.sql.exec(
          `INSERT INTO docs (id, generation, name, metadata, chunk_count, deleted) VALUES (?, ?, '', '{}', 0, 1)
           ON CONFLICT (id) DO UPDATE SET generation = excluded.generation, chunk_count = 0, deleted = 1, metadata = '{}'`,
          documentId,
          TOMBSTONE,
        );
      } else {
        this.sql.exec("DELETE FROM docs WHERE id = ?", documentId);
      }
      done = true;
    });
    if (this.matrix) for (let k = 0; k < removed; k++) this.matrix.remove(`${documentId}:${k}`);
    return { removed: done };
  }

  /** Forgets everything (the collection is being deleted). */
  async drop(): Promise<void> {
    this.matrix = null;
    this.dims = null;
    this.sealed = false;
    await this.ctx.storage.deleteAll();
    this.sql.exec(SCHEMA);
  }

  /** One RPC per search: keyword and vector candidates, filters before top-k, fusion, hydration. */
  search(req: IndexSearchRequest): { hits: IndexHit[]; timings: Record<string, number>; sealed?: true } {
    if (this.sealed) return { hits: [], timings: {}, sealed: true };
    const topK = req.topK;
    if (!Number.isInteger(topK) || topK < 1 || topK > MAX_TOP_K) throw new RangeError(`invalid_top_k: topK must be 1 to ${MAX_TOP_K}`);
    const pool = Math.min(MAX_TOP_K, Math.max(1, Math.floor(req.pool)));
    const timings: Record<string, number> = {};
    const timed = <T>(name: string, f: () => T): T => {
      const t0 = performance.now();
      try {
        return f();
      } finally {
        timings[name] = performance.now() - t0;
      }
    };
    const scope = this.scope(req.documentIds, req.filter);
    const allowed = scope ? this.allowedDocuments(scope) : null;

    const byKey = new Map<string, Candidate>();
    const key = (d: string, o: number) => `${d}:${o}`;
    if (req.mode !== "keyword") {
      const list = timed("vector", () => this.vectorCandidates(req, pool, allowed));
      let rank = 0;
      for (const h of list)
        byKey.set(key(h.documentId, h.ordinal), { documentId: h.documentId, ordinal: h.ordinal, vector: { score: h.score, rank: ++rank } });
    }
    if (req.mode !== "vector") {
      const list = timed("keyword", () => this.keywordCandidates(req.query, pool, scope));
      let rank = 0;
      for (const h of list) {
        const k = key(h.documentId, h.ordinal);
        const c = byKey.get(k) ?? { documentId: h.documentId, ordinal: h.ordinal };
        c.keyword = { score: h.bm25, rank: ++rank };
        byKey.set(k, c);
      }
    }
    const fused = fuse([...byKey.values()], req);
    const top = fused.slice(0, Math.max(topK, Math.min(MAX_TOP_K, req.hydrate)));
    if (top.length === 0) return { hits: [], timings };
    const rows = timed("hydrate", () =>
      this.sql
        .exec<{
          id: number;
          document_id: string;
          ordinal: number;
          text: string;
          page: number | null;
          heading: string | null;
          document_name: string;
        }>(HYDRATE_SQL, JSON.stringify(top.map((t) => [t.c.documentId, t.c.ordinal])))
        .toArray(),
    );
    const stored = new Map(rows.map((r) => [key(r.document_id, r.ordinal), r]));
    const hits: IndexHit[] = [];
    for (const { c, score } of top) {
      const r = stored.get(key(c.documentId, c.ordinal));
      if (!r) continue;
      hits.push({
        chunk_id: r.id,
        document_id: r.document_id,
        document_name: r.document_name,
        ordinal: r.ordinal,
        text: r.text,
        page: r.page,
        heading: r.heading,
        score,
        scores: {
          vector: c.vector?.score ?? null,
          vector_rank: c.vector?.rank ?? null,
          keyword: c.keyword?.score ?? null,
          keyword_rank: c.keyword?.rank ?? null,
          fused: score,
        },
      });
    }
    return { hits, timings };
  }

  /** A document's text as stored (chunks in order), for the original's /make_embedding. */
  documentText(documentId: string): string[] {
    return this.sql
      .exec<{ text: string }>("SELECT text FROM chunks WHERE document_id = ? ORDER BY ordinal", documentId)
      .toArray()
      .map((r) => r.text);
  }

  /** Chunks of a document from ordinal `from`, at most `max` (+1 to tell whether more follow). */
  readChunks(documentId: string, from: number, max: number): { chunk: number; text: string; page: number | null; heading: string | null }[] {
    return this.sql
      .exec<{ chunk: number; text: string; page: number | null; heading: string | null }>(
        "SELECT ordinal AS chunk, text, page, heading FROM chunks WHERE document_id = ? AND ordinal >= ? ORDER BY ordinal LIMIT ?",
        documentId,
        from,
        max + 1,
      )
      .toArray();
  }

  stats(): IndexStats {
    const one = (q: string) => this.sql.exec<{ n: number }>(q).one().n;
    return {
      documents: one("SELECT COUNT(*) AS n FROM docs WHERE deleted = 0"),
      chunks: one("SELECT COUNT(*) AS n FROM chunks"),
      vectors: this.matrix?.size ?? one("SELECT COUNT(*) AS n FROM vectors"),
      dims: this.dims,
      loaded: this.matrix !== null,
      memoryBytes: this.matrix?.memoryBytes ?? 0,
      storageBytes: this.sql.databaseSize,
    };
  }

  private scope(documentIds: string[] | undefined, filter: MetadataFilter | undefined): { sql: string; params: unknown[] } | null {
    const parts: string[] = ["d.deleted = 0"];
    const params: unknown[] = [];
    if (documentIds?.length) {
      parts.push("d.id IN (SELECT value FROM json_each(?))");
      params.push(JSON.stringify(documentIds));
    }
    if (filter) {
      const f = compileFilter(filter, "d.metadata");
      parts.push(f.sql);
      params.push(...f.params);
    }
    // Nothing asked for: no scope (a filter may bind no parameter at all, e.g. `eq true`).
    if (parts.length === 1) return null;
    // Statements bind at most 100 parameters; the keyword query adds two.
    if (params.length > 98) throw new RangeError("invalid_filter: the filter is too large");
    return { sql: parts.join(" AND "), params };
  }

  private allowedDocuments(scope: { sql: string; params: unknown[] }): Set<string> {
    return new Set(
      this.sql
        .exec<{ id: string }>(`SELECT id FROM docs d WHERE ${scope.sql}`, ...scope.params)
        .toArray()
        .map((r) => r.id),
    );
  }

  private vectorCandidates(req: IndexSearchRequest, pool: number, allowed: Set<string> | null): VectorCandidate[] {
    if (req.vectorCandidates) {
      // Vectorize candidates: only documents committed here (and allowed by the filter) count.
      const live = allowed ?? this.liveDocuments(req.vectorCandidates.map((c) => c.documentId));
      return req.vectorCandidates.filter((c) => live.has(c.documentId)).slice(0, pool);
    }
    if (!req.queryVector || this.dims === null) return [];
    checkValues(req.queryVector, this.dims);
    const allow = allowed ? (d: string) => allowed.has(d) : undefined;
    return this.load().search(req.queryVector, pool, req.whiten === true, allow);
  }

  private liveDocuments(ids: string[]): Set<string> {
    if (ids.length === 0) return new Set();
    return new Set(
      this.sql
        .exec<{ id: string }>(
          "SELECT id FROM docs WHERE deleted = 0 AND id IN (SELECT value FROM json_each(?))",
          JSON.stringify([...new Set(ids)]),
        )
        .toArray()
        .map((r) => r.id),
    );
  }

  /**
   * Porter and trigram lists are summed per chunk (bm25 is negative, smaller is better); a chunk
   * found only by a short CJK substring scores as one weak match per substring.
   */
  private keywordCandidates(query: string, pool: number, scope: { sql: string; params: unknown[] } | null) {
    const q = keywordQuery(query);
    const scores = new Map<string, { documentId: string; ordinal: number; bm25: number }>();
    const add = (documentId: string, ordinal: number, bm25: number) => {
      const k = `${documentId}:${ordinal}`;
      const cur = scores.get(k);
      if (cur) cur.bm25 += bm25;
      else scores.set(k, { documentId, ordinal, bm25 });
    };
    const params = scope?.params ?? [];
    let trigramHits = 0;
    for (const [table, match] of [
      ["chunks_fts", q.porter],
      ["chunks_tri", q.trigram],
    ] as const) {
      if (!match) continue;
      for (const r of this.sql.exec<{ documentId: string; ordinal: number; bm25: number }>(
        KEYWORD_SQL(table, scope?.sql ?? ""),
        match,
        ...params,
        pool,
      )) {
        add(r.documentId, r.ordinal, r.bm25);
        if (table === "chunks_tri") trigramHits++;
      }
    }
    // The name field: chunks of documents whose name matches get the name's score too; their
    // best-matching chunks join the candidates even when the text alone ranks them out of the pool,
    // and a document whose text matches nothing joins with its first chunk.
    if (q.porter) {
      const named = new Map<string, number>();
      for (const r of this.sql.exec<{ documentId: string; bm25: number }>(NAME_SQL(scope?.sql ?? ""), q.porter, ...params, NAME_POOL))
        named.set(r.documentId, r.bm25);
      if (named.size > 0) {
        const only = `${scope?.sql ? `(${scope.sql}) AND ` : ""}d.id IN (SELECT value FROM json_each(?))`;
        for (const r of this.sql.exec<{ documentId: string; ordinal: number; bm25: number }>(
          KEYWORD_SQL("chunks_fts", only),
          q.porter,
          ...params,
          JSON.stringify([...named.keys()]),
          pool,
        ))
          if (!scores.has(`${r.documentId}:${r.ordinal}`)) add(r.documentId, r.ordinal, r.bm25);
        // A document found by its name alone is represented by its first chunk.
        const found = new Set([...scores.values()].map((c) => c.documentId));
        for (const id of named.keys()) if (!found.has(id)) add(id, 0, 0);
        for (const c of scores.values()) {
          const b = named.get(c.documentId);
          if (b !== undefined) c.bm25 += NAME_WEIGHT * b;
        }
      }
    }
    // Substrings: short runs always; the longer runs' bigrams only when no trigram matched.
    const substrings = [...q.short, ...(trigramHits === 0 ? q.bigrams : [])].slice(0, MAX_SUBSTRINGS);
    if (substrings.length > 0 && substrings.length + params.length + 1 <= 100) {
      for (const r of this.sql.exec<{ documentId: string; ordinal: number; m: number }>(
        SUBSTRING_SQL(substrings.length, scope?.sql ?? ""),
        ...substrings,
        ...params,
        pool,
      )) {
        add(r.documentId, r.ordinal, -r.m);
      }
    }
    return [...scores.values()].sort((a, b) => a.bm25 - b.bm25).slice(0, pool);
  }

  private storedGeneration(documentId: string): number {
    const row = this.sql.exec<{ generation: number }>("SELECT generation FROM docs WHERE id = ?", documentId).toArray()[0];
    return row?.generation ?? 0;
  }

  /** Deletes a document's live rows; returns how many ordinals its vectors may have used. */
  private removeRows(documentId: string): number {
    const max =
      this.sql.exec<{ n: number | null }>("SELECT MAX(ordinal) + 1 AS n FROM vectors WHERE document_id = ?", documentId).one().n ?? 0;
    this.sql.exec("DELETE FROM chunks WHERE document_id = ?", documentId);
    this.sql.exec("DELETE FROM vectors WHERE document_id = ?", documentId);
    this.sql.exec("DELETE FROM names WHERE document_id = ?", documentId);
    return max;
  }

  /** Objects created before `names` existed: index the live documents' names once. */
  private backfillNames(): void {
    if (this.sql.exec("SELECT 1 FROM meta WHERE key = 'names_v1'").toArray().length > 0) return;
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("DELETE FROM names");
      for (const d of this.sql.exec<{ id: string; name: string }>("SELECT id, name FROM docs WHERE deleted = 0").toArray())
        this.sql.exec("INSERT INTO names (document_id, name) VALUES (?, ?)", d.id, nameWords(d.name));
      this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('names_v1', '1')");
    });
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
    for (const [documentId, ordinal, scale, q] of this.sql.exec("SELECT document_id, ordinal, scale, q FROM vectors").raw()) {
      matrix.put(`${documentId}:${ordinal}`, new Int8Array(q as ArrayBuffer), scale as number, documentId as string, ordinal as number);
    }
    this.matrix = matrix;
    return matrix;
  }
}

function checkDocument(d: DocumentInput): DocumentInput {
  if (typeof d?.id !== "string" || !d.id) throw new TypeError("invalid_document: id");
  if (!Number.isSafeInteger(d.generation) || d.generation < 1 || d.generation >= TOMBSTONE)
    throw new RangeError("invalid_document: generation");
  return { id: d.id, generation: d.generation, name: String(d.name ?? ""), metadata: typeof d.metadata === "string" ? d.metadata : "{}" };
}

function dimsOf(values: unknown): number {
  const n = (values as { length?: unknown } | undefined)?.length;
  if (typeof n !== "number" || n < 1 || n > MAX_DIMS) throw new RangeError(`invalid_vector: values must hold 1 to ${MAX_DIMS} numbers`);
  return n;
}

function checkValues(values: unknown, dims: number): void {
  if (!(values instanceof Float32Array) && !Array.isArray(values)) {
    throw new TypeError("invalid_vector: values must be a Float32Array or an array of numbers");
  }
  if (values.length !== dims) throw new RangeError(`dimension_mismatch: the index holds ${dims}-dimensional vectors, got ${values.length}`);
  for (let i = 0; i < dims; i++) {
    const v = values[i];
    if (typeof v !== "number" || !Number.isFinite(v)) throw new RangeError("invalid_vector: values must be finite numbers");
  }
}
