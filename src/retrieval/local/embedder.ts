import type { EmbedKind, Embedder } from "../types";
import { FUNCTION_WORDS as STOPWORDS, stem as stemOf, WORD as TOKEN } from "../../text";

/**
 * Relative weights of the hashed features. Words carry the meaning; bigrams add a little word
 * order; character n-grams match inflections the stemmer misses and are the only features of
 * scripts written without spaces (CJK gets character unigrams and bigrams instead of words).
 */
export interface HashFeatureWeights {
  word: number;
  bigram: number;
  /** Per character n-gram of a word (4 to 5 characters of `<word>` by default). */
  chargram: number;
  cjkUnigram: number;
  cjkBigram: number;
}

export interface LocalHashEmbedderOptions {
  dimensions?: number;
  weights?: Partial<HashFeatureWeights>;
  /** Smallest and largest n of the character n-grams (default 4 to 5). */
  chargrams?: [number, number];
}

// Chosen on SciFact at 384 dims (bench/embedder-quality.ts --sweep): bigrams at half a word's
// weight cost 0.01-0.04 nDCG@10 there (their collisions outweigh the word order they add);
// n-grams at 0.1-0.3 each gain 0.03, 4-5-grams a little more than 3-5-grams and with fewer
// features. Differences of about 0.01 are within the noise of the hash layout.
export const DEFAULT_WEIGHTS: HashFeatureWeights = {
  word: 1,
  bigram: 0.15,
  chargram: 0.2,
  cjkUnigram: 0.5,
  cjkBigram: 1,
};

// Seeds keep the feature kinds apart in the hash space.
const SEED_WORD = 0x811c9dc5;
const SEED_BIGRAM = 0x1b873593;
const SEED_CHAR = 0xcc9e2d51;
const SEED_CJK = 0x85ebca6b;

/**
 * An embedder that needs no network and no weights: signed feature hashing of stemmed words,
 * word bigrams and character n-grams, sublinear tf (1 + ln tf), L2-normalised.
 *
 * It has no collection statistics (no idf), so frequent words weigh as much as rare ones beyond
 * the stopword list; on its own it is a weak retriever (see bench/embedder-quality.ts), useful
 * offline and as the dense side of a hybrid search weighted below the keyword side.
 */
export class LocalHashEmbedder implements Embedder {
  readonly id = "local-hash-v1";
  readonly dimensions: number;
  readonly maxBatch = 1000;
  private readonly w: HashFeatureWeights;
  private readonly nMin: number;
  private readonly nMax: number;

  constructor(options: LocalHashEmbedderOptions = {}) {
    this.dimensions = options.dimensions ?? 384;
    if (!Number.isInteger(this.dimensions) || this.dimensions < 8) throw new RangeError("dimensions must be an integer >= 8");
    this.w = { ...DEFAULT_WEIGHTS, ...options.weights };
    [this.nMin, this.nMax] = options.chargrams ?? [4, 5];
  }

  async embed(texts: string[], _kind: EmbedKind): Promise<Float32Array[]> {
    if (texts.length > this.maxBatch) throw new RangeError(`at most ${this.maxBatch} texts per call`);
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i++) {
      // A batch of chunk texts is CPU work without a break (issue 17.5): one macrotask between
      // texts lets a request that shares the isolate (a search, /healthz) run in between.
      if (i > 0) await new Promise<void>((resolve) => setTimeout(resolve, 0));
      out.push(this.embedOne(texts[i]));
    }
    return out;
  }

  /** Documents and queries are embedded alike (the features are symmetric). */
  embedOne(text: string): Float32Array {
    const table = tf.reset();
    const w = this.w;
    let prev: string | null = null;

    for (const m of text.normalize("NFKC").toLowerCase().matchAll(TOKEN)) {
      const token = m[0];
      if (CJK_RE.test(token)) {
        prev = null;
        this.cjkFeatures(token, table);
        continue;
      }
      if (STOPWORDS.has(token)) continue;
      const stem = stemOf(token);
      if (w.word > 0) table.add(hashString(SEED_WORD, stem), K_WORD);
      if (w.bigram > 0 && prev !== null) table.add(hashString(hashString(SEED_BIGRAM, prev), stem), K_BIGRAM);
      prev = stem;
      if (w.chargram > 0) this.chargrams(token, table);
    }

    const weight = [0, w.word, w.bigram, w.chargram, w.cjkUnigram, w.cjkBigram];
    const dims = this.dimensions;
    const vec = new Float64Array(dims);
    for (let u = 0; u < table.size; u++) {
      const key = table.keys[table.used[u]];
      const x = fmix(key ^ 0x5bd1e995);
      const value = weight[key & 7] * (1 + Math.log(table.counts[table.used[u]]));
      vec[(x >>> 1) % dims] += x & 1 ? value : -value;
    }
    let norm = 0;
    for (let i = 0; i < dims; i++) norm += vec[i] * vec[i];
    const out = new Float32Array(dims);
    if (norm === 0) return out;
    const inv = 1 / Math.sqrt(norm);
    for (let i = 0; i < dims; i++) out[i] = vec[i] * inv;
    return out;
  }

  /** n-grams of `<token>`, hashed in place without building substrings. */
  private chargrams(token: string, table: TfTable): void {
    const padded = `<${token}>`;
    const len = padded.length;
    for (let n = this.nMin; n <= this.nMax; n++) {
      for (let s = 0; s + n <= len; s++) table.add(hashRange(SEED_CHAR ^ n, padded, s, s + n), K_CHAR);
    }
  }

  /** CJK runs: each character and each pair of neighbours; other letters in the run as words. */
  private cjkFeatures(token: string, table: TfTable): void {
    const chars = Array.from(token);
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i];
      if (!CJK_CHAR.test(c)) continue;
      table.add(hashString(SEED_CJK, c), K_CJK1);
      const next = chars[i + 1];
      if (next !== undefined && CJK_CHAR.test(next)) table.add(hashString(SEED_CJK ^ 1, c + next), K_CJK2);
    }
    for (const m of token.matchAll(NON_CJK)) {
      if (!STOPWORDS.has(m[0])) table.add(hashString(SEED_WORD, stemOf(m[0])), K_WORD);
    }
  }
}

// Feature kinds, stored in the low 3 bits of a feature's key (never 0, the empty slot).
const K_WORD = 1;
const K_BIGRAM = 2;
const K_CHAR = 3;
const K_CJK1 = 4;
const K_CJK2 = 5;

/**
 * Term frequencies of one text's features: open addressing over typed arrays, reused across
 * calls, so that the thousands of n-grams of a document cost no allocation.
 */
class TfTable {
  keys = new Int32Array(1 << 12);
  counts = new Int32Array(1 << 12);
  used = new Int32Array(1 << 11);
  size = 0;

  reset(): this {
    for (let u = 0; u < this.size; u++) {
      this.keys[this.used[u]] = 0;
      this.counts[this.used[u]] = 0;
    }
    this.size = 0;
    return this;
  }

  add(hash: number, kind: number): void {
    const key = (hash & ~7) | kind;
    let mask = this.keys.length - 1;
    let slot = fmix(key) & mask;
    for (;;) {
      const k = this.keys[slot];
      if (k === key) {
        this.counts[slot]++;
        return;
      }
      if (k === 0) break;
      slot = (slot + 1) & mask;
    }
    if (this.size * 2 >= this.keys.length) {
      this.grow();
      mask = this.keys.length - 1;
      slot = fmix(key) & mask;
      while (this.keys[slot] !== 0) slot = (slot + 1) & mask;
    }
    this.keys[slot] = key;
    this.counts[slot] = 1;
    this.used[this.size++] = slot;
  }

  private grow(): void {
    const { keys, counts, used, size } = this;
    this.keys = new Int32Array(keys.length * 2);
    this.counts = new Int32Array(keys.length * 2);
    this.used = new Int32Array(keys.length);
    this.size = 0;
    const mask = this.keys.length - 1;
    for (let u = 0; u < size; u++) {
      const key = keys[used[u]];
      let slot = fmix(key) & mask;
      while (this.keys[slot] !== 0) slot = (slot + 1) & mask;
      this.keys[slot] = key;
      this.counts[slot] = counts[used[u]];
      this.used[this.size++] = slot;
    }
  }
}

const tf = new TfTable();

const CJK_RE = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u;
const CJK_CHAR = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]$/u;
const NON_CJK = /[^\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]+/gu;

/** FNV-1a over UTF-16 code units. */
function hashRange(seed: number, s: string, from: number, to: number): number {
  let h = seed >>> 0;
  for (let i = from; i < to; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function hashString(seed: number, s: string): number {
  return hashRange(seed, s, 0, s.length);
}

/** murmur3's finaliser: spreads FNV's weak low bits before they pick the bucket and the sign. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
