/**
 * The collection's keyword side: the porter field (chunk text) and the name field (document names)
 * as exact in-memory BM25 indexes (bm25.ts), loaded lazily from the binary postings persisted at
 * write time (`term_ids`, `chunk_postings`: postings.ts), so waking an object never re-tokenises its
 * text; CJK trigrams and short CJK substrings stay in FTS5 (`chunks_tri`, which holds only CJK
 * chunks). The persisted postings are the porter field's source of truth for ranking; FTS5's porter
 * table is kept beside them as the check they are compared against (docs/architecture.md, "Search").
 */
import { ftsTermCounts, ftsTokens } from "../../text";
import { Bm25Index, type QueryTerm } from "./bm25";
import { emptyKeywordStats, type FieldStats, type KeywordStats } from "./types";
import { decodePairs, type EncodedPostings, encodeChunk, encodePairs, type TermDictionary, termIdsOf } from "./postings";
import { keywordQuery, MAX_SUBSTRINGS } from "./query";
import { nameWords } from "./schema";
import type { Scope, Statements } from "./statements";

/**
 * A name match's bm25, times this weight, is added to each of its document's chunks' keyword score
 * (BM25F-style: a term in the name counts like one in the text). 1 = the two fields weigh the same; not tuned.
 */
const NAME_WEIGHT = 1;
/** Name-matched documents considered per query. */
const NAME_POOL = 20;

export interface KeywordCandidate {
  documentId: string;
  ordinal: number;
  /** FTS5's sign: smaller (more negative) is better. */
  bm25: number;
}

/** The query terms of a porter query, with FTS5's multiplicity (each quoted word is one phrase). */
export function queryTerms(words: string[]): { term: string; weight: number }[] {
  const weights = new Map<string, number>();
  for (const w of words) {
    const tokens = ftsTokens(w);
    // A quoted word is one FTS5 phrase; a word of one token is the normal case.
    if (tokens.length !== 1) continue;
    weights.set(tokens[0], (weights.get(tokens[0]) ?? 0) + 1);
  }
  return [...weights].map(([term, weight]) => ({ term, weight }));
}

/**
 * Query terms with a dictionary's ids (terms it does not hold match nothing and are dropped), and
 * with a sharded collection's statistics, each term's collection-wide document frequency.
 */
function withIds(terms: { term: string; weight: number }[], idOf: (term: string) => number | undefined, field?: FieldStats): QueryTerm[] {
  const out: QueryTerm[] = [];
  for (const t of terms) {
    const id = idOf(t.term);
    if (id !== undefined) out.push(field ? { id, weight: t.weight, df: field.df[t.term] ?? 0 } : { id, weight: t.weight });
  }
  return out;
}

/** A committed chunk as the in-memory index takes it. */
export interface PostedRow {
  id: number;
  ordinal: number;
  postings: EncodedPostings;
}

interface Loaded {
  text: Bm25Index;
  /** Per text slot: the chunk's row id, document index and ordinal. */
  chunkId: number[];
  slotDoc: number[];
  slotOrdinal: number[];
  /** Document id ↔ index; a document's text slots. */
  docIds: string[];
  docIndex: Map<string, number>;
  docSlots: Map<number, number[]>;
  names: Bm25Index;
  /** The name field's own dictionary (names are few and not persisted as postings). */
  nameTerms: Map<string, number>;
  /** Name slot → document index; document index → name slot and its term ids. */
  nameDoc: number[];
  docName: Map<number, { slot: number; terms: number[] }>;
}

export class KeywordIndex {
  #st: Statements;
  #dict: TermDictionary;
  #transaction: (f: () => void) => void;
  #loaded: Loaded | null = null;

  constructor(st: Statements, dict: TermDictionary, transaction: (f: () => void) => void) {
    this.#st = st;
    this.#dict = dict;
    this.#transaction = transaction;
  }

  get loaded(): boolean {
    return this.#loaded !== null;
  }

  /** Postings, bytes and terms of the loaded index (zeros until a keyword query loads it). */
  stats(): { postings: number; terms: number; memoryBytes: number } {
    const l = this.#loaded;
    if (!l) return { postings: 0, terms: 0, memoryBytes: 0 };
    const perSlot = 3 * 4 * l.chunkId.length; // chunk id, document, ordinal (small integers)
    return {
      postings: l.text.postings,
      terms: l.text.termCount,
      memoryBytes: l.text.memoryBytes + l.names.memoryBytes + perSlot + l.docIds.length * 64,
    };
  }

  /** Forgets the in-memory index (it is rebuilt from storage on the next query). */
  unload(): void {
    this.#loaded = null;
  }

  /** Term ids of a document's live chunks (before they are deleted), for `removed`; null when nothing is loaded. */
  beforeRemove(documentId: string): { id: number; terms: number[] }[] | null {
    if (!this.#loaded) return null;
    return this.#st.chunkPostingsOf(documentId).map((r) => ({ id: r.id, terms: termIdsOf(new Uint8Array(r.postings)) }));
  }

  /** A document's committed rows with their postings as stored, for `added` (nothing to read when nothing is loaded). */
  rowsOf(documentId: string): PostedRow[] {
    if (!this.#loaded) return [];
    return this.#st
      .chunkPostingsOf(documentId)
      .map((r) => ({ id: r.id, ordinal: r.ordinal, postings: { length: r.length, blob: new Uint8Array(r.postings) } }));
  }

  /** After a committed delete: the document's rows leave memory. */
  removed(documentId: string, rows: { id: number; terms: number[] }[] | null): void {
    const l = this.#loaded;
    if (!l || !rows) return;
    const d = l.docIndex.get(documentId);
    if (d === undefined) return;
    const byId = new Map(rows.map((r) => [r.id, r.terms]));
    for (const slot of l.docSlots.get(d) ?? []) l.text.remove(slot, byId.get(l.chunkId[slot]) ?? []);
    l.docSlots.delete(d);
    const name = l.docName.get(d);
    if (name) {
      l.names.remove(name.slot, name.terms);
      l.docName.delete(d);
    }
    // Dead postings are skipped but still walked: rebuild once they are a third of the index.
    if (l.text.dead > l.text.rows / 2 + 1000) this.#loaded = null;
  }

  /** After a committed write: the document's new rows join memory. */
  added(documentId: string, name: string, rows: PostedRow[]): void {
    const l = this.#loaded;
    if (!l) return;
    const d = docIndexOf(l, documentId);
    const slots: number[] = [];
    for (const r of rows) {
      const slot = l.text.addEncoded(r.postings.length, r.postings.blob, decodePairs);
      l.chunkId[slot] = r.id;
      l.slotDoc[slot] = d;
      l.slotOrdinal[slot] = r.ordinal;
      slots.push(slot);
    }
    l.docSlots.set(d, slots);
    addName(l, d, name);
    // Lists moved by appends leave their old space behind: rebuild once it is as large as the rest.
    if (l.text.garbage > l.text.postings * 2 + (1 << 20)) this.#loaded = null;
  }

  /**
   * This index's BM25 statistics for a query's porter terms (row count, token total, per-term
   * document frequency, for the text and the name field): what a sharded search sums over the
   * shards and passes back to each, so that every shard scores as one index would (docs/scaling.md).
   */
  termStats(query: string): KeywordStats {
    const out = emptyKeywordStats();
    const q = keywordQuery(query);
    if (q.words.length === 0) return out;
    const l = this.#load();
    out.text.rows = l.text.rows;
    out.text.tokens = l.text.tokens;
    out.names.rows = l.names.rows;
    out.names.tokens = l.names.tokens;
    for (const { term } of queryTerms(q.words)) {
      const id = this.#dict.get(term);
      const df = id === undefined ? 0 : l.text.df(id);
      if (df > 0) out.text.df[term] = df;
      const nameId = l.nameTerms.get(term);
      const nameDf = nameId === undefined ? 0 : l.names.df(nameId);
      if (nameDf > 0) out.names.df[term] = nameDf;
    }
    return out;
  }

  /**
   * Keyword candidates, best first, at most `pool`: porter BM25 over the text, trigram BM25 over
   * CJK chunks (FTS5), the name field, and short CJK substrings, combined as the SQL-only index
   * combined them (so rankings stay equal): porter and trigram lists summed per chunk; the chunks of
   * the best name-matched documents join with their best text chunks and get the name's score; a
   * document matched by its name alone joins with its first chunk.
   */
  candidates(query: string, pool: number, scope: Scope | null, allowed: Set<string> | null, stats?: KeywordStats): KeywordCandidate[] {
    const q = keywordQuery(query);
    const scores = new Map<string, KeywordCandidate>();
    const add = (documentId: string, ordinal: number, bm25: number) => {
      const k = `${documentId}:${ordinal}`;
      const cur = scores.get(k);
      if (cur) cur.bm25 += bm25;
      else scores.set(k, { documentId, ordinal, bm25 });
    };
    const l = q.words.length > 0 ? this.#load() : null;
    const words = queryTerms(q.words);
    const terms = withIds(words, (t) => this.#dict.get(t), stats?.text);
    const nameTerms = l ? withIds(words, (t) => l.nameTerms.get(t), stats?.names) : [];
    const allowedDoc = l && allowed ? allowedDocs(l, allowed) : null;
    if (l) {
      const acceptText = allowedDoc ? (slot: number) => allowedDoc[l.slotDoc[slot]] === 1 : undefined;
      for (const h of l.text.top(terms, pool, acceptText, stats?.text)) add(l.docIds[l.slotDoc[h.slot]], l.slotOrdinal[h.slot], -h.score);
    }
    let trigramHits = 0;
    if (q.trigram) {
      for (const r of this.#st.trigram(q.trigram, scope, pool)) {
        add(r.documentId, r.ordinal, r.bm25);
        trigramHits++;
      }
    }
    let named: Map<string, number> | null = null;
    if (l) {
      const acceptName = allowedDoc ? (slot: number) => allowedDoc[l.nameDoc[slot]] === 1 : undefined;
      const names = l.names.top(nameTerms, NAME_POOL, acceptName, stats?.names);
      if (names.length > 0) {
        named = new Map(names.map((h) => [l.docIds[l.nameDoc[h.slot]], -h.score]));
        const namedDoc = new Uint8Array(l.docIds.length);
        for (const h of names) namedDoc[l.nameDoc[h.slot]] = 1;
        // The named documents' best text chunks join the pool even when the text alone ranks them out.
        for (const h of l.text.top(terms, pool, (slot) => namedDoc[l.slotDoc[slot]] === 1, stats?.text)) {
          const documentId = l.docIds[l.slotDoc[h.slot]];
          if (!scores.has(`${documentId}:${l.slotOrdinal[h.slot]}`)) add(documentId, l.slotOrdinal[h.slot], -h.score);
        }
      }
    }
    if (named) {
      const found = new Set([...scores.values()].map((c) => c.documentId));
      for (const id of named.keys()) if (!found.has(id)) add(id, 0, 0);
      for (const c of scores.values()) {
        const b = named.get(c.documentId);
        if (b !== undefined) c.bm25 += NAME_WEIGHT * b;
      }
    }
    // Substrings: short runs always; the longer runs' bigrams only when no trigram matched.
    const substrings = [...q.short, ...(trigramHits === 0 ? q.bigrams : [])].slice(0, MAX_SUBSTRINGS);
    if (substrings.length > 0) for (const r of this.#st.substrings(substrings, scope, pool)) add(r.documentId, r.ordinal, -r.m);
    return [...scores.values()].sort((a, b) => a.bm25 - b.bm25).slice(0, pool);
  }

  #load(): Loaded {
    if (this.#loaded) return this.#loaded;
    this.#convert();
    const chunkId: number[] = [];
    const slotDoc: number[] = [];
    const slotOrdinal: number[] = [];
    const lengths: number[] = [];
    const blobs: Uint8Array[] = [];
    const l: Loaded = {
      text: new Bm25Index(),
      chunkId,
      slotDoc,
      slotOrdinal,
      docIds: [],
      docIndex: new Map(),
      docSlots: new Map(),
      names: new Bm25Index(),
      nameTerms: new Map(),
      nameDoc: [],
      docName: new Map(),
    };
    let lastDoc = "";
    let d = -1;
    let slots: number[] = [];
    for (const [id, documentId, ordinal, length, postings] of this.#st.allChunkPostings()) {
      if (documentId !== lastDoc) {
        lastDoc = documentId as string;
        d = docIndexOf(l, lastDoc);
        const known = l.docSlots.get(d);
        if (known) slots = known;
        else {
          slots = [];
          l.docSlots.set(d, slots);
        }
      }
      slots.push(chunkId.length);
      chunkId.push(id as number);
      slotDoc.push(d);
      slotOrdinal.push(ordinal as number);
      lengths.push(length as number);
      blobs.push(new Uint8Array(postings as ArrayBuffer));
    }
    l.text = Bm25Index.build(this.#dict.limit, lengths, blobs, decodePairs);
    for (const n of this.#st.allNames()) addName(l, docIndexOf(l, n.documentId), n.name, true);
    this.#loaded = l;
    return l;
  }

  /**
   * Objects written before `chunk_postings` (JSON `chunk_terms`, or no term counts at all) get their
   * postings once, in one transaction: an interrupted conversion leaves the old layout whole and
   * runs again; chunks that already have postings are skipped, so running twice changes nothing.
   */
  #convert(): void {
    if (this.#st.meta("terms_v2") !== null) return;
    this.#transaction(() => {
      const legacy = this.#st.hasLegacyTerms();
      for (const r of this.#st.chunksWithoutPostings(legacy)) {
        let p: EncodedPostings;
        if (r.terms !== null) {
          const flat = JSON.parse(r.terms) as (string | number)[];
          const pairs: [number, number][] = [];
          for (let i = 1; i < flat.length; i += 2) pairs.push([this.#dict.idOf(flat[i] as string), flat[i + 1] as number]);
          p = { length: flat[0] as number, blob: encodePairs(pairs) };
        } else p = encodeChunk(r.text, this.#dict);
        this.#st.insertPostings(r.id, p);
      }
      if (legacy) this.#st.dropLegacyTerms();
      this.#st.setMeta("terms_v2", "1");
    });
  }
}

function docIndexOf(l: Loaded, documentId: string): number {
  let d = l.docIndex.get(documentId);
  if (d === undefined) {
    d = l.docIds.length;
    l.docIds.push(documentId);
    l.docIndex.set(documentId, d);
  }
  return d;
}

/** A document's name joins the name field (`words`: already `nameWords`). */
function addName(l: Loaded, d: number, name: string, words = false): void {
  const { length, terms } = ftsTermCounts(words ? name : nameWords(name));
  const ids: [number, number][] = [];
  for (const [t, tf] of terms) {
    let id = l.nameTerms.get(t);
    if (id === undefined) {
      id = l.nameTerms.size;
      l.nameTerms.set(t, id);
    }
    ids.push([id, tf]);
  }
  const slot = l.names.add(length, ids);
  l.nameDoc[slot] = d;
  l.docName.set(d, { slot, terms: ids.map(([id]) => id) });
}

function allowedDocs(l: Loaded, allowed: Set<string>): Uint8Array {
  const out = new Uint8Array(l.docIds.length);
  for (const id of allowed) {
    const d = l.docIndex.get(id);
    if (d !== undefined) out[d] = 1;
  }
  return out;
}
