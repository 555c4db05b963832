/**
 * An exact in-memory BM25 index: FTS5's `bm25()` (k1 1.2, b 0.75, FTS5's idf floor) over one
 * column, computed from postings instead of by SQLite, so a query costs what its terms' postings
 * cost rather than a scored and sorted OR-match of the whole collection.
 *
 * Layout (bytes per posting: 8, one Int32 slot + one Int32 term frequency, interleaved in one
 * Int32Array arena, terms by integer id): rows are numbered by slots in insertion order, so every
 * posting list is sorted by slot and appends keep it so. A removed row's slot is marked dead (its
 * postings stay until the next rebuild), and document frequencies, the row count and the token total are kept live,
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

export interface QueryTerm {
  /** The term's id (the index's dictionary: `term_ids` for the text, an in-memory one for names). */
  id: number;
  /** How many query phrases are this term (FTS5 scores each phrase, so a repeated stem counts twice). */
  weight: number;
  /**
   * A sharded collection: the term's document frequency over every shard, in place of this index's
   * own (docs/scaling.md, "Shards"). Absent: this index's.
   */
  df?: number;
}

/** Collection-wide row count and token total (summed over a collection's shards), in place of one index's own. */
export interface CorpusStats {
  rows: number;
  tokens: number;
}

export interface Scored {
  slot: number;
  /** Positive BM25 (FTS5's bm25() is its negation). */
  score: number;
}

/**
 * Postings live in one Int32Array arena (`slot, tf` pairs); per term id, typed arrays hold the
 * list's start, used length, capacity and live document frequency: no per-term object. A bulk load
 * (`build`) packs every list exactly; a list that outgrows its capacity later is moved to the arena's
 * end with twice the room (the old space is garbage until the next rebuild, see `garbage`).
 */
export class Bm25Index {
  #start = new Int32Array(16);
  #used = new Int32Array(16);
  #cap = new Int32Array(16);
  #df = new Int32Array(16);
  #data = new Int32Array(256);
  #end = 0;
  #terms = 0;
  #length = new Int32Array(256);
  #live = new Uint8Array(256);
  #slots = 0;
  #rows = 0;
  #tokens = 0;
  #dead = 0;
  #acc = new Float64Array(256);
  /** Postings read (walked or probed) by the last `top`: a deterministic cost counter for benchmarks. */
  lastCost = 0;

  /**
   * Builds an index from persisted rows in two passes over the encoded blobs: count per term, then
   * fill each list at its final place (rows become slots 0..n-1 in order).
   */
  static build(
    termLimit: number,
    lengths: ArrayLike<number>,
    blobs: Uint8Array[],
    decode: (blob: Uint8Array, f: (id: number, tf: number) => void) => void,
  ): Bm25Index {
    const x = new Bm25Index();
    const n = blobs.length;
    x.#ensureTerms(termLimit);
    const count = x.#cap;
    for (let r = 0; r < n; r++)
      decode(blobs[r], (id) => {
        count[id]++;
      });
    let total = 0;
    for (let t = 0; t < termLimit; t++) {
      x.#start[t] = total;
      total += 2 * count[t];
      x.#df[t] = count[t];
      if (count[t] > 0) x.#terms++;
      count[t] *= 2; // capacity in Int32s
    }
    x.#data = new Int32Array(Math.max(total, 2));
    x.#end = total;
    const data = x.#data;
    const start = x.#start;
    const used = x.#used;
    x.#grow(n);
    for (let r = 0; r < n; r++) {
      x.#length[r] = lengths[r];
      x.#live[r] = 1;
      x.#tokens += lengths[r];
      decode(blobs[r], (id, tf) => {
        const at = start[id] + used[id];
        data[at] = r;
        data[at + 1] = tf;
        used[id] += 2;
      });
    }
    x.#slots = n;
    x.#rows = n;
    return x;
  }

  get rows(): number {
    return this.#rows;
  }
  /** Tokens of the live rows (with `rows`, BM25's average length). */
  get tokens(): number {
    return this.#tokens;
  }
  /** The live document frequency of a term id (0 for an id this index never saw). */
  df(id: number): number {
    return id < this.#df.length ? this.#df[id] : 0;
  }
  get slots(): number {
    return this.#slots;
  }
  get dead(): number {
    return this.#dead;
  }
  /** Distinct terms held by live rows. */
  get termCount(): number {
    return this.#terms;
  }
  /** Int32s of the arena no list uses (moved lists' old places): reclaimed by a rebuild. */
  get garbage(): number {
    let used = 0;
    for (let t = 0; t < this.#cap.length; t++) used += this.#cap[t];
    return this.#end - used;
  }
  isLive(slot: number): boolean {
    return this.#live[slot] === 1;
  }

  /** Adds a row (its token count and (term id, tf) pairs); returns its slot. */
  add(length: number, terms: Iterable<[number, number]>): number {
    const slot = this.#newSlot(length);
    for (const [id, tf] of terms) this.#append(id, slot, tf);
    return slot;
  }

  /** Adds a row from its persisted form; returns its slot. */
  addEncoded(length: number, blob: Uint8Array, decode: (blob: Uint8Array, f: (id: number, tf: number) => void) => void): number {
    const slot = this.#newSlot(length);
    decode(blob, (id, tf) => this.#append(id, slot, tf));
    return slot;
  }

  /** Removes a row: `terms` are the term ids it was added with (their document frequencies drop). */
  remove(slot: number, terms: Iterable<number>): void {
    if (this.#live[slot] !== 1) return;
    this.#live[slot] = 0;
    this.#rows--;
    this.#tokens -= this.#length[slot];
    this.#dead++;
    for (const id of terms) if (id < this.#df.length && this.#df[id] > 0 && --this.#df[id] === 0) this.#terms--;
  }

  /** Bytes held by the arena, the per-term and the per-row arrays. */
  get memoryBytes(): number {
    return (
      this.#data.byteLength +
      this.#start.byteLength +
      this.#used.byteLength +
      this.#cap.byteLength +
      this.#df.byteLength +
      this.#length.byteLength +
      this.#live.byteLength +
      this.#acc.byteLength
    );
  }

  /** Postings held (live and dead). */
  get postings(): number {
    let n = 0;
    for (let t = 0; t < this.#used.length; t++) n += this.#used[t];
    return n / 2;
  }

  /**
   * The k best rows for the query terms (those `accept` lets through), best first. Exact: equal to
   * scoring every row, ties broken by slot. With `corpus` (and each term's `df`), one shard of a
   * collection scores with the whole collection's statistics, so its scores equal those one index
   * holding every shard's rows would give (the merge of shards' lists by score is then exact).
   */
  top(query: QueryTerm[], k: number, accept?: (slot: number) => boolean, corpus?: CorpusStats): Scored[] {
    if (this.#rows === 0 || k < 1) return [];
    const rows = corpus ? corpus.rows : this.#rows;
    const avgdl = (corpus ? corpus.tokens : this.#tokens) / rows;
    const c1 = K1 * (1 - B);
    const c2 = avgdl > 0 ? (K1 * B) / avgdl : 0;
    const list: { start: number; used: number; w: number; ub: number }[] = [];
    for (const q of query) {
      // A term with no live posting here adds nothing here, whatever its frequency elsewhere.
      if (q.id >= this.#df.length || this.#df[q.id] === 0) continue;
      const w = q.weight * idf(rows, corpus && q.df !== undefined ? q.df : this.#df[q.id]);
      list.push({ start: this.#start[q.id], used: this.#used[q.id], w, ub: w * (K1 + 1) });
    }
    if (list.length === 0) return [];
    list.sort((a, b) => b.ub - a.ub);
    const rest = new Float64Array(list.length + 1);
    for (let i = list.length - 1; i >= 0; i--) rest[i] = rest[i + 1] + list[i].ub;

    if (this.#acc.length < this.#slots) this.#acc = new Float64Array(this.#length.length);
    const acc = this.#acc;
    const live = this.#live;
    const len = this.#length;
    const buf = this.#data;
    const touched: number[] = [];
    let additive = true;
    let cost = 0;
    for (let i = 0; i < list.length; i++) {
      const { start, used, w } = list[i];
      if (additive && i > 0 && touched.length >= k && atLeastAbove(acc, touched, k, rest[i])) {
        additive = false;
        touched.sort((a, b) => a - b);
      }
      const end = start + used;
      const wk = w * (K1 + 1);
      if (additive) {
        cost += used >> 1;
        for (let j = start; j < end; j += 2) {
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
            if (buf[start + (mid << 1)] < slot) lo = mid + 1;
            else hi = mid;
          }
          if (lo >= n) break;
          if (buf[start + (lo << 1)] === slot) {
            const tf = buf[start + (lo << 1) + 1];
            acc[slot] += (wk * tf) / (tf + c1 + c2 * len[slot]);
          }
        }
      } else {
        // Walk the list, but only rows already seen gain (a row not seen cannot reach the top k).
        cost += used >> 1;
        for (let j = start; j < end; j += 2) {
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

  #newSlot(length: number): number {
    const slot = this.#slots++;
    if (slot >= this.#length.length) this.#grow(slot + 1);
    this.#length[slot] = length;
    this.#live[slot] = 1;
    this.#rows++;
    this.#tokens += length;
    return slot;
  }

  #append(id: number, slot: number, tf: number): void {
    if (id >= this.#start.length) this.#ensureTerms(id + 1);
    let used = this.#used[id];
    if (used + 2 > this.#cap[id]) {
      // Move the list to the arena's end with twice the room.
      const cap = Math.max(4, this.#cap[id] * 2);
      if (this.#end + cap > this.#data.length) {
        let n = this.#data.length * 2;
        while (n < this.#end + cap) n *= 2;
        const next = new Int32Array(n);
        next.set(this.#data.subarray(0, this.#end));
        this.#data = next;
      }
      this.#data.copyWithin(this.#end, this.#start[id], this.#start[id] + used);
      this.#start[id] = this.#end;
      this.#cap[id] = cap;
      this.#end += cap;
    }
    const at = this.#start[id] + used;
    this.#data[at] = slot;
    this.#data[at + 1] = tf;
    used += 2;
    this.#used[id] = used;
    if (this.#df[id]++ === 0) this.#terms++;
  }

  #ensureTerms(min: number): void {
    if (min <= this.#start.length) return;
    let n = Math.max(16, this.#start.length);
    while (n < min) n *= 2;
    const widen = (a: Int32Array) => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.#start = widen(this.#start);
    this.#used = widen(this.#used);
    this.#cap = widen(this.#cap);
    this.#df = widen(this.#df);
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

/**
 * Whether the k-th best score among `slots` is above `bound`, i.e. at least k of them are: a count
 * that stops at k, where a heap of the k best cost a log-k offer per slot at every term.
 */
function atLeastAbove(acc: Float64Array, slots: number[], k: number, bound: number): boolean {
  let n = 0;
  for (let i = 0; i < slots.length; i++) if (acc[slots[i]] > bound && ++n >= k) return true;
  return false;
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
