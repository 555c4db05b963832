/**
 * The persisted keyword postings (docs/architecture.md, "Search"): every distinct porter term gets
 * an integer id once (`term_ids`), and every chunk one row in `chunk_postings`: its length in
 * tokens and a blob of varint pairs (term-id delta, tf), term ids ascending. Waking an object decodes
 * these blobs straight into typed arrays (bm25.ts `Bm25Index.build`): no text is tokenised, no JSON
 * parsed and no per-term object made.
 */
import { ftsTermCounts } from "../../text";

/** Where the dictionary persists (Statements in the object; a plain map in the V8 benchmark). */
export interface TermStore {
  allTermIds(): Iterable<unknown[]>;
  insertTermId(id: number, term: string): void;
}

/**
 * Term text ↔ id, loaded from `term_ids` on first use. Ids handed out inside a transaction are
 * pending until `settle(true)`; a rolled-back transaction (`settle(false)`) forgets them, so memory
 * never refers to an id that storage does not hold.
 */
export class TermDictionary {
  #st: TermStore;
  #ids: Map<string, number> | null = null;
  #next = 1;
  #pending: string[] = [];

  constructor(st: TermStore) {
    this.#st = st;
  }

  #map(): Map<string, number> {
    if (this.#ids) return this.#ids;
    const ids = new Map<string, number>();
    let max = 0;
    for (const [id, term] of this.#st.allTermIds()) {
      ids.set(term as string, id as number);
      if ((id as number) > max) max = id as number;
    }
    this.#ids = ids;
    this.#next = max + 1;
    return ids;
  }

  /** The id of `term`, or undefined when no chunk ever held it. */
  get(term: string): number | undefined {
    return this.#map().get(term);
  }

  /** Largest id handed out + 1 (sizes per-term arrays). */
  get limit(): number {
    this.#map();
    return this.#next;
  }

  /** Inside a write transaction: the term's id, inserting it when new. */
  idOf(term: string): number {
    const ids = this.#map();
    let id = ids.get(term);
    if (id === undefined) {
      id = this.#next++;
      this.#st.insertTermId(id, term);
      ids.set(term, id);
      this.#pending.push(term);
    }
    return id;
  }

  /** After the transaction: keep (committed) or forget (rolled back) the ids it inserted. */
  settle(committed: boolean): void {
    if (!committed && this.#ids) {
      for (const t of this.#pending) this.#ids.delete(t);
      this.#next -= this.#pending.length;
    }
    this.#pending = [];
  }

  /** After `drop`: storage is empty again. */
  reset(): void {
    this.#ids = null;
    this.#next = 1;
    this.#pending = [];
  }
}

/** A chunk's postings as persisted: token count and the encoded (term id, tf) pairs. */
export interface EncodedPostings {
  length: number;
  blob: Uint8Array;
}

/** Tokenises a chunk once (at write) and encodes its term counts with the dictionary's ids. */
export function encodeChunk(text: string, dict: TermDictionary): EncodedPostings {
  const { length, terms } = ftsTermCounts(text);
  return { length, blob: encodePairs([...terms].map(([t, tf]) => [dict.idOf(t), tf])) };
}

/** Pairs (term id, tf) → varints of (id delta, tf), ids ascending. */
export function encodePairs(pairs: [number, number][]): Uint8Array {
  pairs.sort((a, b) => a[0] - b[0]);
  const out = new Uint8Array(pairs.length * 10);
  let o = 0;
  let prev = 0;
  const put = (v: number) => {
    while (v >= 0x80) {
      out[o++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    out[o++] = v;
  };
  for (const [id, tf] of pairs) {
    put(id - prev);
    put(tf);
    prev = id;
  }
  return out.slice(0, o);
}

/** Calls `f(termId, tf)` for each pair of an encoded blob, ids ascending. */
export function decodePairs(blob: Uint8Array, f: (termId: number, tf: number) => void): void {
  let i = 0;
  let id = 0;
  const n = blob.length;
  while (i < n) {
    let v = 0;
    let shift = 0;
    let b: number;
    do {
      b = blob[i++];
      v |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    id += v;
    v = 0;
    shift = 0;
    do {
      b = blob[i++];
      v |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    f(id, v);
  }
}

/** The term ids of an encoded blob. */
export function termIdsOf(blob: Uint8Array): number[] {
  const ids: number[] = [];
  decodePairs(blob, (id) => ids.push(id));
  return ids;
}
