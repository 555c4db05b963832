import { DurableObject } from "cloudflare:workers";
import { KeywordIndex } from "./keyword-index";
import type { Parts } from "./parts";
import { TermDictionary } from "./postings";
import { Searcher, type SearchResult } from "./searcher";
import { Statements } from "./statements";
import { emptyKeywordStats, type IndexSearchRequest, type IndexStats, type ShardStats, type WritePage, type WriteResult } from "./types";
import { Vectors } from "./vectors";
import { recoverPagedCommits, remove, write } from "./writer";

export type {
  ChunkInput,
  DocumentInput,
  IndexHit,
  IndexSearchRequest,
  IndexStats,
  KeywordStats,
  ShardStats,
  VectorCandidate,
  WritePage,
  WriteResult,
} from "./types";
export { COMMIT_PAGE, MAX_PAGE, MAX_TOP_K } from "./types";
export { MAX_DIMS } from "./vectors";

/** Quiet time after the last commit before segments are merged (a burst of commits merges once). */
const MERGE_DELAY_MS = 10_000;
/** Leaf pages per table per merge step: bounded work per alarm; the alarm re-arms while work remains. */
const MERGE_PAGES = 200;

/**
 * One collection's data plane: chunks, the keyword indexes and (with the local embedder) its int8
 * vectors, in this object's SQLite storage. This class is only the RPC surface: every method
 * delegates to a plain module (writer.ts, keyword-index.ts, vectors.ts, searcher.ts, statements.ts),
 * and all state is `#private`, so no helper can be called over RPC. Errors the caller can act on
 * are `IndexError`s with a code (errors.ts) that the Worker maps to the API envelope.
 */
export class CollectionIndex extends DurableObject<Env> {
  readonly #parts: Parts;
  readonly #searcher: Searcher;
  #mergeScheduled = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const st = new Statements(ctx.storage.sql);
    st.createSchema();
    const dict = new TermDictionary(st);
    const transaction = (f: () => void) => {
      let ok = false;
      try {
        ctx.storage.transactionSync(f);
        ok = true;
      } finally {
        dict.settle(ok);
      }
    };
    st.backfillNames(transaction);
    st.migrateRowKeys(transaction);
    recoverPagedCommits(st, transaction);
    this.#parts = {
      st,
      dict,
      keyword: new KeywordIndex(st, dict, transaction),
      vectors: new Vectors(st),
      transaction,
      sealed: st.meta("sealed") !== null,
      writes: 0,
      epoch: 0,
      removals: new Map(),
      commits: new Map(),
      afterWrite: () => this.#scheduleMerge(),
    };
    this.#searcher = new Searcher(this.#parts);
  }

  /**
   * Marks the collection as being deleted: from this call on, searches find nothing and writes are
   * stale, whatever an isolate's cached copy of the catalogue still says. `drop` clears it.
   */
  seal(): void {
    this.#parts.st.setMeta("sealed", "1");
    this.#parts.sealed = true;
    this.#parts.writes++;
  }

  /**
   * Writes one page of a document's chunks. A document that fits one call commits in one
   * transaction; otherwise pages are staged under (document, generation) and the page with
   * `commit` flips them in for the document's live rows atomically (writer.ts). A write for an
   * older generation than the one stored (or a deleted document) is stale.
   */
  write(page: WritePage): WriteResult | Promise<WriteResult> {
    return write(this.#parts, page);
  }

  /** Removes a document (for good), or only an indexing attempt's own work (`generation`): see writer.ts. */
  remove(documentId: string, generation?: number): { removed: boolean; kept: number } {
    return remove(this.#parts, documentId, generation);
  }

  /** Forgets everything (the collection is being deleted). */
  async drop(): Promise<void> {
    const parts = this.#parts;
    parts.keyword.unload();
    parts.dict.reset();
    parts.vectors.reset();
    parts.sealed = false;
    parts.writes++;
    parts.epoch++;
    this.#searcher.clear();
    await this.ctx.storage.deleteAll();
    parts.st.createSchema();
  }

  /**
   * FTS5 adds a segment per commit and only merges them when enough pile up; a search visits each.
   * After a burst of commits (and quiet since), bounded merge steps fold them, re-arming while work
   * remains.
   */
  override async alarm(): Promise<void> {
    this.#mergeScheduled = false;
    if (this.#parts.sealed) return;
    if (this.#parts.st.mergeStep(MERGE_PAGES) > 10) this.#scheduleMerge(1000);
  }

  #scheduleMerge(delay = MERGE_DELAY_MS): void {
    if (this.#mergeScheduled) return;
    this.#mergeScheduled = true;
    void this.ctx.storage.setAlarm(Date.now() + delay);
  }

  /** One RPC per search: keyword and vector candidates, filters before top-k, fusion, hydration. */
  search(req: IndexSearchRequest): SearchResult {
    return this.#searcher.search(req);
  }

  /**
   * A sharded search's first phase: this shard's BM25 statistics for the query's terms (from the
   * in-memory index, loading it if needed), summed by the Worker over all shards and passed back
   * in `search({ stats })`. With `whitening`, also its local vectors' whitening statistics (the
   * Worker whitens the query with the sums). A sealed shard says so, as `search` does.
   */
  termStats(query: string | null, whitening = false): ShardStats {
    const parts = this.#parts;
    if (parts.sealed) return { stats: emptyKeywordStats(), whitening: null, sealed: true };
    return {
      stats: query === null ? emptyKeywordStats() : parts.keyword.termStats(query),
      whitening: whitening ? parts.vectors.whitening() : null,
    };
  }

  /** A document's text as stored (chunks in order), for the original's /make_embedding. */
  documentText(documentId: string): string[] {
    return this.#parts.st.documentText(documentId);
  }

  /** Chunks of a document from ordinal `from`, at most `max` (+1 to tell whether more follow). */
  readChunks(
    documentId: string,
    from: number,
    max: number,
  ): { chunk: number; text: string; page: number | null; heading: string | null }[] {
    return this.#parts.st.readChunks(documentId, from, max);
  }

  stats(): IndexStats {
    const { st, vectors, keyword } = this.#parts;
    return {
      ...st.counts(),
      vectors: vectors.size ?? st.vectorCount(),
      dims: vectors.dims,
      loaded: vectors.loaded,
      memoryBytes: vectors.memoryBytes,
      storageBytes: st.databaseSize,
      keyword: { loaded: keyword.loaded, ...keyword.stats() },
    };
  }
}
