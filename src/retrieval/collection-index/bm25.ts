/**
 * An exact in-memory BM25 index: FTS5's `bm25()` (k1 1.2, b 0.75, FTS5's idf floor) over one
 * column, computed from postings instead of by SQLite, so a query costs what its terms' postings
 * cost rather than a scored and sorted OR-match of the whole collection.
 *
 * Layout (bytes per posting: 8, one Int32 slot + one Int32 term frequency, interleaved in one
 * growable Int32Array per term): rows are numbered by slots in insertion order, so every posting
 * list is sorted by slot and appends keep it so. A removed row's slot is marked dead (its postings
 * stay until `compact`), and document frequencies, the row count and the token total are kept live,
 * exactly as FTS5 keeps them: the scores equal FTS5's for the same tokens.
 *
 * Top-k is term-at-a-time with MaxScore's "continue" pruning: terms are visited by decreasing
 * upper bound (idf · (k1 + 1) · weight); once the k-th best partial score exceeds what all the
 * terms not yet visited could add together, no row not yet seen can enter the top k, and the
 * remaining (frequent, long) posting lists are only probed for the rows already seen. The result is
 * exact: the same rows and scores as scoring everything.
 */
export const K1 = 1.2;
export const B = 0.75;

/** FTS5's idf: log((N - n + 0.5) / (n + 0.5)), floored at 1e-6 for terms in half the rows or more. */
export function idf(rows: number, df: number): number {
  const v = Math.log((rows - df + 0.5) / (df + 0.5));
  return v <= 0 ? 1e-6 : v;
}

interface Postings {
  /** slot, tf, slot, tf, ... sorted by slot. */
  buf: Int32Array;
  /** Int32s used in buf. */
  used: number;
  /** Live rows holding the term. */
  df: number;
}

export interface QueryTerm {
  term: string;
  /** How many query phrases are this term (FTS5 scores each phrase, so a repeated stem counts twice). */
  weight: number;
}

export interface Scored {
  slot: number;
  /** Positive BM25 (FTS5's bm25() is its negation). */
  score: number;
}

export class Bm25Index {
  #terms = new Map<string, Postings>();
  #length = new Int32Array(256);
  #live = new Uint8Array(256);
  #slots = 0;
  #rows = 0;
  #tokens = 0;
  #dead = 0;
  #acc = new Float64Array(256);
  /** Postings read (walked or probed) by the last `top`: a deterministic cost counter for benchmarks. */
  lastCost = 0;

  get rows(): number {
    return this.#rows;
  }
  get slots(): number {
    return this.#slots;
  }
  get dead(): number {
    return this.#dead;
  }
  get termCount(): number {
    return this.#terms.size;
  }
  isLive(slot: number): boolean {
    return this.#live[slot] === 1;
  }

  /** Adds a row (its token count and term frequencies); returns its slot. */
  add(length: number, terms: Iterable<[string, number]>): number {
    const slot = this.#slots++;
    if (slot >= this.#length.length) this.#grow(slot + 1);
    this.#length[slot] = length;
    this.#live[slot] = 1;
    this.#rows++;
    this.#tokens += length;
    for (const [term, tf] of terms) this.#append(term, slot, tf);
    return slot;
  }

  /** Adds a row from its persisted form `[length, term, tf, term, tf, ...]` (no intermediate pairs); returns its slot. */
  addFlat(flat: (string | number)[]): number {
    const slot = this.add(flat[0] as number, []);
    for (let i = 1; i < flat.length; i += 2) this.#append(flat[i] as string, slot, flat[i + 1] as number);
    return slot;
  }

  /** Gives back the spare capacity of every list (after a bulk load: 8 bytes per posting, no slack). */
  trim(): void {
    for (const p of this.#terms.values()) if (p.buf.length > p.used) p.buf = p.buf.slice(0, p.used);
  }

  /** Removes a row: `terms` are the terms it was added with (their document frequencies drop). */
  remove(slot: number, terms: Iterable<string>): void {
    if (this.#live[slot] !== 1) return;
    this.#live[slot] = 0;
    this.#rows--;
    this.#tokens -= this.#length[slot];
    this.#dead++;
    for (const term of terms) {
      const p = this.#terms.get(term);
      if (p && --p.df === 0) this.#terms.delete(term);
    }
  }

  /** Bytes held by postings and per-row arrays (the Map's own overhead is estimated at 64 bytes per term). */
  get memoryBytes(): number {
    let bytes = this.#length.byteLength + this.#live.byteLength + this.#acc.byteLength;
    for (const [term, p] of this.#terms) bytes += p.buf.byteLength + 64 + term.length * 2;
    return bytes;
  }

  /** Postings held (live and dead). */
  get postings(): number {
    let n = 0;
    for (const p of this.#terms.values()) n += p.used / 2;
    return n;
  }

  /**
   * The k best rows for the query terms (those `accept` lets through), best first. Exact: equal to
   * scoring every row, ties broken by slot.
   */
  top(query: QueryTerm[], k: number, accept?: (slot: number) => boolean): Scored[] {
    if (this.#rows === 0 || k < 1) return [];
    const rows = this.#rows;
    const avgdl = this.#tokens / rows;
    const c1 = K1 * (1 - B);
    const c2 = avgdl > 0 ? (K1 * B) / avgdl : 0;
    const list: { p: Postings; w: number; ub: number }[] = [];
    for (const q of query) {
      const p = this.#terms.get(q.term);
      if (!p || p.df === 0) continue;
      const w = q.weight * idf(rows, p.df);
      list.push({ p, w, ub: w * (K1 + 1) });
    }
    if (list.length === 0) return [];
    list.sort((a, b) => b.ub - a.ub);
    const rest = new Float64Array(list.length + 1);
    for (let i = list.length - 1; i >= 0; i--) rest[i] = rest[i + 1] + list[i].ub;

    if (this.#acc.length < this.#slots) this.#acc = new Float64Array(this.#length.length);
    const acc = this.#acc;
    const live = this.#live;
    const len = this.#length;
    const touched: number[] = [];
    let additive = true;
    let cost = 0;
    for (let i = 0; i < list.length; i++) {
      const { p, w } = list[i];
      if (additive && i > 0 && touched.length >= k && kthBest(acc, touched, k) > rest[i]) {
        additive = false;
        touched.sort((a, b) => a - b);
      }
      const buf = p.buf;
      const used = p.used;
      const wk = w * (K1 + 1);
      if (additive) {
        cost += used >> 1;
        for (let j = 0; j < used; j += 2) {
          const slot = buf[j];
          if (live[slot] !== 1) continue;
          if (acc[slot] === 0) {
            if (accept && !accept(slot)) continue;
            touched.push(slot);
          }
          const tf = buf[j + 1];
          acc[slot] += (wk * tf) / (tf + c1 + c2 * len[slot]);
        }
      } else if (touched.length * 8 < used >> 1) {
        // Few rows seen, a long list: probe each seen row (sorted) by binary search from the last position.
        let lo = 0;
        const n = used >> 1;
        cost += touched.length;
        for (const slot of touched) {
          let hi = n;
          while (lo < hi) {
            const mid = (lo + hi) >> 1;
            if (buf[mid << 1] < slot) lo = mid + 1;
            else hi = mid;
          }
          if (lo >= n) break;
          if (buf[lo << 1] === slot) {
            const tf = buf[(lo << 1) + 1];
            acc[slot] += (wk * tf) / (tf + c1 + c2 * len[slot]);
          }
        }
      } else {
        // Walk the list, but only rows already seen gain (a row not seen cannot reach the top k).
        cost += used >> 1;
        for (let j = 0; j < used; j += 2) {
          const slot = buf[j];
          if (acc[slot] === 0) continue;
          const tf = buf[j + 1];
          acc[slot] += (wk * tf) / (tf + c1 + c2 * len[slot]);
        }
      }
    }
    this.lastCost = cost;
    const out = selectTop(acc, touched, k);
    for (const slot of touched) acc[slot] = 0;
    return out;
  }

  #append(term: string, slot: number, tf: number): void {
    let p = this.#terms.get(term);
    if (!p) {
      p = { buf: new Int32Array(2), used: 0, df: 0 };
      this.#terms.set(term, p);
    }
    if (p.used + 2 > p.buf.length) {
      const next = new Int32Array(p.buf.length * 2);
      next.set(p.buf);
      p.buf = next;
    }
    p.buf[p.used++] = slot;
    p.buf[p.used++] = tf;
    p.df++;
  }

  #grow(min: number): void {
    let n = this.#length.length;
    while (n < min) n *= 2;
    const length = new Int32Array(n);
    length.set(this.#length);
    const live = new Uint8Array(n);
    live.set(this.#live);
    this.#length = length;
    this.#live = live;
  }
}

/** The k-th best score among `slots` (k ≤ slots.length). */
function kthBest(acc: Float64Array, slots: number[], k: number): number {
  const heap = new MinHeap(k);
  for (const s of slots) heap.offer(s, acc[s]);
  return heap.min();
}

/** The k best of `slots` by score, best first; equal scores by slot. */
function selectTop(acc: Float64Array, slots: number[], k: number): Scored[] {
  const heap = new MinHeap(k);
  for (const s of slots) heap.offer(s, acc[s]);
  return heap.drain();
}

/** A bounded min-heap of (slot, score): keeps the k best, worst on top. */
class MinHeap {
  #slot: Int32Array;
  #score: Float64Array;
  #n = 0;
  constructor(readonly k: number) {
    this.#slot = new Int32Array(k);
    this.#score = new Float64Array(k);
  }
  /** a is worse than b: lower score, or equal score and higher slot. */
  #worse(ia: number, ib: number): boolean {
    const a = this.#score[ia];
    const b = this.#score[ib];
    return a < b || (a === b && this.#slot[ia] > this.#slot[ib]);
  }
  min(): number {
    return this.#n === 0 ? Number.NEGATIVE_INFINITY : this.#score[0];
  }
  offer(slot: number, score: number): void {
    if (this.#n < this.k) {
      let i = this.#n++;
      this.#slot[i] = slot;
      this.#score[i] = score;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!this.#worse(i, parent)) break;
        this.#swap(i, parent);
        i = parent;
      }
      return;
    }
    const top = this.#score[0];
    if (score < top || (score === top && slot > this.#slot[0])) return;
    this.#slot[0] = slot;
    this.#score[0] = score;
    this.#down(0);
  }
  drain(): Scored[] {
    const out: Scored[] = new Array(this.#n);
    while (this.#n > 0) {
      out[this.#n - 1] = { slot: this.#slot[0], score: this.#score[0] };
      this.#n--;
      if (this.#n > 0) {
        this.#slot[0] = this.#slot[this.#n];
        this.#score[0] = this.#score[this.#n];
        this.#down(0);
      }
    }
    return out;
  }
  #down(i: number): void {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let w = i;
      if (l < this.#n && this.#worse(l, w)) w = l;
      if (r < this.#n && this.#worse(r, w)) w = r;
      if (w === i) return;
      this.#swap(i, w);
      i = w;
    }
  }
  #swap(a: number, b: number): void {
    const s = this.#slot[a];
    this.#slot[a] = this.#slot[b];
    this.#slot[b] = s;
    const x = this.#score[a];
    this.#score[a] = this.#score[b];
    this.#score[b] = x;
  }
}
