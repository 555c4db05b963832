import type { KeywordIndex } from "./keyword-index";
import type { TermDictionary } from "./postings";
import type { Statements } from "./statements";
import type { Vectors } from "./vectors";

/** What the object's modules share: its statements, its two in-memory indexes and its state. */
export interface Parts {
  st: Statements;
  keyword: KeywordIndex;
  /** Term ids of the persisted postings (shared by the writer and the keyword index). */
  dict: TermDictionary;
  vectors: Vectors;
  /** One storage transaction; term ids it handed out are kept only if it committed. */
  transaction: (f: () => void) => void;
  /** Set when the collection's deletion began: nothing is read or written from then on. */
  sealed: boolean;
  /** Committed writes and removals since this instance started: keys the per-filter and result caches. */
  writes: number;
  /** Bumped by `drop`: a write begun before a drop must not write into the emptied storage. */
  epoch: number;
  /** Removals per document in this instance: a multi-turn write that sees one stops (its rows would be orphans). */
  removals: Map<string, number>;
  /** Flips running in this instance, per document (a second one for a document waits for the first). */
  commits: Map<string, Promise<unknown>>;
  /** After a commit: folds the FTS segments it added a little later (an alarm), see object.ts. */
  afterWrite: () => void;
}
