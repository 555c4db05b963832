/**
 * One search inside the object: the scope (filter) evaluated once, keyword and vector candidates,
 * fusion, and hydration of the final rows only. Two small caches keyed by the object's write
 * counter (so any commit invalidates them): the allowed documents per scope, and whole results per
 * normalised request.
 */
import { type Candidate, fuse } from "../fusion";
import { IndexError } from "./errors";
import type { Parts } from "./parts";
import type { Scope } from "./statements";
import { type IndexHit, type IndexSearchRequest, MAX_TOP_K } from "./types";

export type SearchResult = { hits: IndexHit[]; timings: Record<string, number>; sealed?: true };

/** Entries per cache: a few hundred results (≤ 100 hits each) stay well within the object's memory. */
const RESULT_CACHE = 256;
const SCOPE_CACHE = 64;

export class Searcher {
  #parts: Parts;
  #results = new Map<string, { writes: number; hits: IndexHit[] }>();
  #scopes = new Map<string, { writes: number; scope: Scope | null; allowed: Set<string> | null }>();

  constructor(parts: Parts) {
    this.#parts = parts;
  }

  clear(): void {
    this.#results.clear();
    this.#scopes.clear();
  }

  search(req: IndexSearchRequest): SearchResult {
    const parts = this.#parts;
    if (parts.sealed) return { hits: [], timings: {}, sealed: true };
    const topK = req.topK;
    if (!Number.isInteger(topK) || topK < 1 || topK > MAX_TOP_K) throw new IndexError("invalid_top_k", `topK must be 1 to ${MAX_TOP_K}`);
    const pool = Math.min(MAX_TOP_K, Math.max(1, Math.floor(req.pool)));
    const raw = req.raw === true;
    const hydrate = Math.max(topK, Math.min(MAX_TOP_K, req.hydrate));
    // With Vectorize the candidates come from outside (and may change): those results are not cached.
    const cacheKey = req.vectorCandidates ? null : resultKey(req, pool, hydrate);
    if (cacheKey) {
      const hit = this.#results.get(cacheKey);
      if (hit && hit.writes === parts.writes) {
        this.#results.delete(cacheKey);
        this.#results.set(cacheKey, hit);
        return { hits: hit.hits, timings: { cached: 0 } };
      }
    }
    const timings: Record<string, number> = {};
    const timed = <T>(name: string, f: () => T): T => {
      const t0 = performance.now();
      try {
        return f();
      } finally {
        timings[name] = performance.now() - t0;
      }
    };
    const { scope, allowed } = this.#scope(req);

    const byKey = new Map<string, Candidate>();
    const key = (d: string, o: number) => `${d}:${o}`;
    let keywordList: { documentId: string; ordinal: number; bm25: number }[] = [];
    if (req.mode !== "vector") keywordList = timed("keyword", () => parts.keyword.candidates(req.query, pool, scope, allowed, req.stats));
    // With weight 0 the vector side only adds chunks after every keyword hit: when keyword search
    // already fills the hits, the scan cannot change them and is skipped.
    // A shard cannot tell whether the collection's keyword hits fill the page: raw lists always have both sides.
    const vectorsNeeded =
      req.mode === "vector" ||
      (raw && req.mode === "hybrid") ||
      (req.mode === "hybrid" && !(req.vectorWeight === 0 && keywordList.length >= hydrate && (req.fusion ?? "convex") === "convex"));
    if (vectorsNeeded) {
      const list = timed("vector", () => parts.vectors.candidates(req, pool, allowed));
      let rank = 0;
      for (const h of list)
        byKey.set(key(h.documentId, h.ordinal), { documentId: h.documentId, ordinal: h.ordinal, vector: { score: h.score, rank: ++rank } });
    }
    let rank = 0;
    for (const h of keywordList) {
      const k = key(h.documentId, h.ordinal);
      const c = byKey.get(k) ?? { documentId: h.documentId, ordinal: h.ordinal };
      c.keyword = { score: h.bm25, rank: ++rank };
      byKey.set(k, c);
    }
    // Raw (a shard's part of a fan-out): every candidate, unfused; the Worker fuses the merged lists.
    const top = raw ? [...byKey.values()].map((c) => ({ c, score: 0 })) : fuse([...byKey.values()], req).slice(0, hydrate);
    if (top.length === 0) {
      this.#remember(cacheKey, []);
      return { hits: [], timings };
    }
    const rows = timed("hydrate", () =>
      parts.st.hydrate(
        top.map((t) => [t.c.documentId, t.c.ordinal]),
        req.statements === true,
      ),
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
        char_start: r.char_start,
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
        // A chat's hits carry the answerer's stored analysis, read in the hydration's statement.
        ...(req.statements ? { statements: r.statements ?? null } : {}),
      });
    }
    this.#remember(cacheKey, hits);
    return { hits, timings };
  }

  /** The compiled scope and its allowed documents, evaluated once per (scope, write counter). */
  #scope(req: IndexSearchRequest): { scope: Scope | null; allowed: Set<string> | null } {
    const parts = this.#parts;
    if (!req.documentIds?.length && req.filter === undefined) return { scope: null, allowed: null };
    const k = JSON.stringify([req.documentIds ?? null, req.filter ?? null]);
    const hit = this.#scopes.get(k);
    if (hit && hit.writes === parts.writes) return hit;
    const scope = parts.st.scope(req.documentIds, req.filter);
    const entry = { writes: parts.writes, scope, allowed: scope ? parts.st.allowedDocuments(scope) : null };
    this.#scopes.delete(k);
    this.#scopes.set(k, entry);
    if (this.#scopes.size > SCOPE_CACHE) this.#scopes.delete(this.#scopes.keys().next().value as string);
    return entry;
  }

  #remember(key: string | null, hits: IndexHit[]): void {
    if (!key) return;
    this.#results.set(key, { writes: this.#parts.writes, hits });
    if (this.#results.size > RESULT_CACHE) this.#results.delete(this.#results.keys().next().value as string);
  }
}

/** The normalised query (NFKC, lower case, single spaces) and everything else that shapes the result. */
function resultKey(req: IndexSearchRequest, pool: number, hydrate: number): string {
  const q = req.query.normalize("NFKC").toLowerCase().replace(/\s+/g, " ").trim();
  const v = req.queryVector ? vectorDigest(req.queryVector) : "";
  return JSON.stringify([
    q,
    req.mode,
    req.topK,
    pool,
    hydrate,
    req.fusion ?? "convex",
    req.rrfK ?? null,
    req.vectorWeight,
    req.statements === true,
    req.documentIds ?? null,
    req.filter ?? null,
    req.whiten === true,
    v,
    req.raw === true,
    req.stats ?? null,
  ]);
}

/**
 * Two 32-bit FNV-1a hashes (different seeds) of the query vector's float32 bits. The key needs the
 * vector only to tell embedders apart for the same text; formatting every dimension (`toFixed`) cost
 * 0.75 ms of an uncached chat's CPU (bench/profile-chat.mjs), this a few microseconds.
 */
function vectorDigest(vector: Float32Array | number[]): string {
  const f = vector instanceof Float32Array ? vector : Float32Array.from(vector);
  const bits = new Uint32Array(f.buffer, f.byteOffset, f.length);
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ f.length;
  for (let i = 0; i < bits.length; i++) {
    a = Math.imul(a ^ bits[i], 0x01000193);
    b = Math.imul(b ^ (bits[i] >>> 16) ^ (bits[i] << 16), 0x01000193);
  }
  return `${f.length}:${(a >>> 0).toString(36)}:${(b >>> 0).toString(36)}`;
}
