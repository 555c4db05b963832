/**
 * The collection's keyword side: the porter field (chunk text) and the name field (document names)
 * as exact in-memory BM25 indexes (bm25.ts), loaded lazily from term counts persisted at write time
 * (`chunk_terms`), so waking an object never re-tokenises its text; CJK trigrams and short CJK
 * substrings stay in FTS5 (`chunks_tri`, which holds only CJK chunks). FTS5's porter tables stay the
 * persisted source of truth that `chunk_terms` is checked against (docs/architecture.md, "Search").
 */
import { ftsTermCounts, ftsTokens } from "../../text";
import { Bm25Index, type QueryTerm } from "./bm25";
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

/** A chunk's persisted term counts: [length, term, tf, term, tf, ...] as JSON. */
export function termsRow(text: string): { length: number; terms: string } {
  const { length, terms } = ftsTermCounts(text);
  const flat: (string | number)[] = [length];
  for (const [t, n] of terms) flat.push(t, n);
  return { length, terms: JSON.stringify(flat) };
}

function parseTerms(json: string): { length: number; terms: [string, number][] } {
  const flat = JSON.parse(json) as (string | number)[];
  const terms: [string, number][] = new Array((flat.length - 1) / 2);
  for (let i = 1, j = 0; i < flat.length; i += 2, j++) terms[j] = [flat[i] as string, flat[i + 1] as number];
  return { length: flat[0] as number, terms };
}

/** The query terms of a porter query, with FTS5's multiplicity (each quoted word is one phrase). */
export function queryTerms(words: string[]): QueryTerm[] {
  const weights = new Map<string, number>();
  for (const w of words) {
    const tokens = ftsTokens(w);
    // A quoted word is one FTS5 phrase; a word of one token is the normal case.
    if (tokens.length !== 1) continue;
    weights.set(tokens[0], (weights.get(tokens[0]) ?? 0) + 1);
  }
  return [...weights].map(([term, weight]) => ({ term, weight }));
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
  /** Name slot → document index; document index → name slot and its terms. */
  nameDoc: number[];
  docName: Map<number, { slot: number; terms: string[] }>;
}

export class KeywordIndex {
  #st: Statements;
  #loaded: Loaded | null = null;

  constructor(st: Statements) {
    this.#st = st;
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

  /** Term counts of a document's live chunks (before they are deleted), for `removed`; null when nothing is loaded. */
  beforeRemove(documentId: string): { id: number; terms: string[] }[] | null {
    if (!this.#loaded) return null;
    return this.#st.chunkTermsOf(documentId).map((r) => ({ id: r.id, terms: parseTerms(r.terms).terms.map(([t]) => t) }));
  }

  /** After a committed delete: the document's rows leave memory. */
  removed(documentId: string, rows: { id: number; terms: string[] }[] | null): void {
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
  added(documentId: string, name: string, rows: { id: number; ordinal: number; length: number; terms: string }[]): void {
    const l = this.#loaded;
    if (!l) return;
    const d = docIndexOf(l, documentId);
    const slots: number[] = [];
    for (const r of rows) slots.push(addSlot(l, d, r.id, r.ordinal, r.terms));
    l.docSlots.set(d, slots);
    addName(l, d, name);
  }

  /**
   * Keyword candidates, best first, at most `pool`: porter BM25 over the text, trigram BM25 over
   * CJK chunks (FTS5), the name field, and short CJK substrings, combined as the SQL-only index
   * combined them (so rankings stay equal): porter and trigram lists summed per chunk; the chunks of
   * the best name-matched documents join with their best text chunks and get the name's score; a
   * document matched by its name alone joins with its first chunk.
   */
  candidates(query: string, pool: number, scope: Scope | null, allowed: Set<string> | null): KeywordCandidate[] {
    const q = keywordQuery(query);
    const scores = new Map<string, KeywordCandidate>();
    const add = (documentId: string, ordinal: number, bm25: number) => {
      const k = `${documentId}:${ordinal}`;
      const cur = scores.get(k);
      if (cur) cur.bm25 += bm25;
      else scores.set(k, { documentId, ordinal, bm25 });
    };
    const l = q.words.length > 0 ? this.#load() : null;
    const terms = queryTerms(q.words);
    const allowedDoc = l && allowed ? allowedDocs(l, allowed) : null;
    if (l) {
      const acceptText = allowedDoc ? (slot: number) => allowedDoc[l.slotDoc[slot]] === 1 : undefined;
      for (const h of l.text.top(terms, pool, acceptText)) add(l.docIds[l.slotDoc[h.slot]], l.slotOrdinal[h.slot], -h.score);
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
      const names = l.names.top(terms, NAME_POOL, acceptName);
      if (names.length > 0) {
        named = new Map(names.map((h) => [l.docIds[l.nameDoc[h.slot]], -h.score]));
        const namedDoc = new Uint8Array(l.docIds.length);
        for (const h of names) namedDoc[l.nameDoc[h.slot]] = 1;
        // The named documents' best text chunks join the pool even when the text alone ranks them out.
        for (const h of l.text.top(terms, pool, (slot) => namedDoc[l.slotDoc[slot]] === 1)) {
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
    this.#st.backfillTerms(termsRow);
    const l: Loaded = {
      text: new Bm25Index(),
      chunkId: [],
      slotDoc: [],
      slotOrdinal: [],
      docIds: [],
      docIndex: new Map(),
      docSlots: new Map(),
      names: new Bm25Index(),
      nameDoc: [],
      docName: new Map(),
    };
    for (const [id, documentId, ordinal, terms] of this.#st.allChunkTerms()) {
      const d = docIndexOf(l, documentId as string);
      const slot = addSlot(l, d, id as number, ordinal as number, terms as string);
      const slots = l.docSlots.get(d);
      if (slots) slots.push(slot);
      else l.docSlots.set(d, [slot]);
    }
    for (const n of this.#st.allNames()) addName(l, docIndexOf(l, n.documentId), n.name, true);
    l.text.trim();
    this.#loaded = l;
    return l;
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

function addSlot(l: Loaded, d: number, id: number, ordinal: number, termsJson: string): number {
  const slot = l.text.addFlat(JSON.parse(termsJson) as (string | number)[]);
  l.chunkId[slot] = id;
  l.slotDoc[slot] = d;
  l.slotOrdinal[slot] = ordinal;
  return slot;
}

/** A document's name joins the name field (`words`: already `nameWords`). */
function addName(l: Loaded, d: number, name: string, words = false): void {
  const { length, terms } = ftsTermCounts(words ? name : nameWords(name));
  const slot = l.names.add(length, terms);
  l.nameDoc[slot] = d;
  l.docName.set(d, { slot, terms: [...terms.keys()] });
}

function allowedDocs(l: Loaded, allowed: Set<string>): Uint8Array {
  const out = new Uint8Array(l.docIds.length);
  for (const id of allowed) {
    const d = l.docIndex.get(id);
    if (d !== undefined) out[d] = 1;
  }
  return out;
}
