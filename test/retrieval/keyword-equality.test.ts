/**
 * The in-memory BM25 index (src/retrieval/collection-index/bm25.ts, keyword-index.ts) against FTS5:
 * the reference is the SQL-only keyword search the object ran before (porter `bm25()` ORDER BY
 * LIMIT pool, trigram, the name field's second pass, CJK substrings), run here on the same object's
 * own FTS5 tables. For every query the top-50 keyword lists must be equal, ties aside: the same
 * scores position by position (to 1e-9 relative) and the same chunks within each group of equal
 * scores (the last group may be cut at 50 differently). Two corpora:
 * - a synthetic one (fixed seed: Zipf-distributed words, English, accented and Greek words, CJK
 *   fixtures, names that match queries), always;
 * - SciFact (../shared/eval/scifact: 5,183 abstracts), when ../shared is present (fails under
 *   REQUIRE_CORPUS=1 when it is not): all 300 test queries.
 * Each corpus also gets 1,000 generated queries: 1-20 terms drawn from its vocabulary with a fixed
 * seed, mixing rare and common words, repeated terms and CJK fragments. The terms FTS5 stored for
 * every chunk are compared with ours too (fts5vocab), so a tokenizer difference shows as itself.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ChunkInput, IndexSearchRequest } from "../../src/retrieval/collection-index/object";
import { keywordQuery, MAX_SUBSTRINGS } from "../../src/retrieval/collection-index/query";
import { ftsTermCounts, words } from "../../src/text";
import { fetchShared, SKIP_MESSAGE } from "../corpus";

const TOP = 50;

type Stub = DurableObjectStub<import("../../src/retrieval/collection-index/object").CollectionIndex>;
const freshStub = (): Stub => env.COLLECTION_INDEX.get(env.COLLECTION_INDEX.idFromName(`eq-${crypto.randomUUID()}`));

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

interface Doc {
  id: string;
  name: string;
  chunks: string[];
}

async function load(stub: Stub, docs: Doc[]): Promise<void> {
  const batch = 64;
  for (let i = 0; i < docs.length; i += batch) {
    await Promise.all(
      docs.slice(i, i + batch).map((d) => {
        const chunks: ChunkInput[] = d.chunks.map((text, ordinal) => ({
          ordinal,
          text,
          start: 0,
          end: text.length,
          page: null,
          heading: null,
          tokens: 1,
        }));
        return stub.write({
          document: { id: d.id, generation: 1, name: d.name, metadata: "{}" },
          chunks,
          commit: { chunkCount: chunks.length },
        });
      }),
    );
  }
}

type Row = { documentId: string; ordinal: number; bm25: number };

/** The SQL-only keyword search as the object ran it before the in-memory index (the reference). */
function reference(sql: SqlStorage, query: string, pool: number): Row[] {
  const KEYWORD = (table: string, only: string) => `
    SELECT c.document_id AS documentId, c.ordinal AS ordinal, bm25(${table}) AS bm25
    FROM ${table} JOIN chunks c ON c.id = ${table}.rowid
    WHERE ${table} MATCH ? ${only} ORDER BY bm25 LIMIT ?`;
  const q = keywordQuery(query);
  const scores = new Map<string, Row>();
  const add = (documentId: string, ordinal: number, bm25: number) => {
    const k = `${documentId}:${ordinal}`;
    const cur = scores.get(k);
    if (cur) cur.bm25 += bm25;
    else scores.set(k, { documentId, ordinal, bm25 });
  };
  let trigramHits = 0;
  for (const [table, match] of [
    ["chunks_fts", q.porter],
    ["chunks_tri", q.trigram],
  ] as const) {
    if (!match) continue;
    for (const r of sql.exec<Row>(KEYWORD(table, ""), match, pool)) {
      add(r.documentId, r.ordinal, r.bm25);
      if (table === "chunks_tri") trigramHits++;
    }
  }
  if (q.porter) {
    const named = new Map<string, number>();
    for (const r of sql.exec<{ documentId: string; bm25: number }>(
      `SELECT n.document_id AS documentId, bm25(names_fts) AS bm25 FROM names_fts JOIN names n ON n.id = names_fts.rowid
       WHERE names_fts MATCH ? ORDER BY bm25 LIMIT 20`,
      q.porter,
    ))
      named.set(r.documentId, r.bm25);
    if (named.size > 0) {
      for (const r of sql.exec<Row>(
        KEYWORD("chunks_fts", "AND c.document_id IN (SELECT value FROM json_each(?))"),
        q.porter,
        JSON.stringify([...named.keys()]),
        pool,
      ))
        if (!scores.has(`${r.documentId}:${r.ordinal}`)) add(r.documentId, r.ordinal, r.bm25);
      const found = new Set([...scores.values()].map((c) => c.documentId));
      for (const id of named.keys()) if (!found.has(id)) add(id, 0, 0);
      for (const c of scores.values()) {
        const b = named.get(c.documentId);
        if (b !== undefined) c.bm25 += b;
      }
    }
  }
  const substrings = [...q.short, ...(trigramHits === 0 ? q.bigrams : [])].slice(0, MAX_SUBSTRINGS);
  if (substrings.length > 0) {
    for (const r of sql.exec<{ documentId: string; ordinal: number; m: number }>(
      `SELECT documentId, ordinal, m FROM (SELECT c.document_id AS documentId, c.ordinal AS ordinal,
         (${substrings.map(() => "(instr(c.text, ?) > 0)").join(" + ")}) AS m FROM chunks c WHERE c.cjk = 1) WHERE m > 0 ORDER BY m DESC LIMIT ?`,
      ...substrings,
      pool,
    ))
      add(r.documentId, r.ordinal, -r.m);
  }
  return [...scores.values()].sort((a, b) => a.bm25 - b.bm25).slice(0, pool);
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

/** Differences between two best-first lists, ties aside (empty when equal). */
function differences(got: Row[], want: Row[]): string[] {
  const out: string[] = [];
  if (got.length !== want.length) out.push(`length ${got.length} ≠ ${want.length}`);
  const n = Math.min(got.length, want.length);
  for (let i = 0; i < n; i++) if (!close(got[i].bm25, want[i].bm25)) out.push(`#${i}: score ${got[i].bm25} ≠ ${want[i].bm25}`);
  if (out.length) return out;
  // Groups of equal scores must hold the same chunks, except the last (it may be cut at the limit).
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && close(want[j].bm25, want[i].bm25)) j++;
    if (j < n) {
      const a = got
        .slice(i, j)
        .map((r) => `${r.documentId}:${r.ordinal}`)
        .sort();
      const b = want
        .slice(i, j)
        .map((r) => `${r.documentId}:${r.ordinal}`)
        .sort();
      if (a.join() !== b.join()) out.push(`#${i}-${j - 1}: ${a} ≠ ${b}`);
    }
    i = j;
  }
  return out;
}

const kq = (query: string): IndexSearchRequest => ({ query, topK: TOP, mode: "keyword", vectorWeight: 0, pool: TOP, hydrate: TOP });

async function compare(stub: Stub, queries: string[]): Promise<{ failures: string[]; nonEmpty: number }> {
  const failures: string[] = [];
  let nonEmpty = 0;
  for (let i = 0; i < queries.length; i += 50) {
    const part = queries.slice(i, i + 50);
    const want = await runInDurableObject(stub, (_o, state) => part.map((q) => reference(state.storage.sql, q, TOP)));
    for (let j = 0; j < part.length; j++) {
      const got = (await stub.search(kq(part[j]))).hits.map((h) => ({
        documentId: h.document_id,
        ordinal: h.ordinal,
        bm25: h.scores.keyword as number,
      }));
      if (want[j].length > 0) nonEmpty++;
      const d = differences(got, want[j]);
      if (d.length) failures.push(`${JSON.stringify(part[j])}: ${d.slice(0, 3).join("; ")}`);
    }
  }
  return { failures, nonEmpty };
}

/** Every chunk's terms as FTS5 stored them (fts5vocab) against ours. */
async function tokenDifferences(stub: Stub): Promise<string[]> {
  return runInDurableObject(stub, (_o, state) => {
    const sql = state.storage.sql;
    sql.exec("CREATE VIRTUAL TABLE IF NOT EXISTS eq_vocab USING fts5vocab(chunks_fts, 'instance')");
    const stored = new Map<number, Map<string, number>>();
    for (const r of sql.exec<{ term: string; doc: number }>("SELECT term, doc FROM eq_vocab")) {
      const m = stored.get(r.doc) ?? new Map<string, number>();
      stored.set(r.doc, m);
      m.set(r.term, (m.get(r.term) ?? 0) + 1);
    }
    const out: string[] = [];
    for (const c of sql.exec<{ id: number; text: string }>("SELECT id, text FROM chunks")) {
      const ours = ftsTermCounts(c.text).terms;
      const theirs = stored.get(c.id) ?? new Map();
      for (const [t, n] of theirs) if (ours.get(t) !== n) out.push(`chunk ${c.id}: FTS5 ${t}×${n}, ours ×${ours.get(t) ?? 0}`);
      for (const [t, n] of ours) if (!theirs.has(t)) out.push(`chunk ${c.id}: ours ${t}×${n}, FTS5 none`);
    }
    return out;
  });
}

/** 1,000 queries of 1-20 terms from a corpus' vocabulary: rare and common words, repeats, CJK fragments. */
function generatedQueries(docs: Doc[], seed: number, cjk: string[]): string[] {
  const df = new Map<string, number>();
  for (const d of docs) for (const c of d.chunks) for (const w of new Set(words(c))) df.set(w, (df.get(w) ?? 0) + 1);
  const vocab = [...df.keys()].sort((a, b) => (df.get(a) ?? 0) - (df.get(b) ?? 0) || (a < b ? -1 : 1));
  const rare = vocab.slice(0, Math.max(1, Math.floor(vocab.length * 0.8)));
  const common = vocab.slice(Math.floor(vocab.length * 0.95));
  const r = rng(seed);
  const pick = <T>(a: T[]) => a[Math.floor(r() * a.length)];
  const out: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const n = 1 + Math.floor(r() * 20);
    const terms: string[] = [];
    for (let k = 0; k < n; k++) {
      const x = r();
      if (x < 0.45) terms.push(pick(rare));
      else if (x < 0.8) terms.push(pick(common));
      else if (x < 0.9 && terms.length > 0)
        terms.push(pick(terms).toUpperCase()); // a repeat (case differs)
      else if (x < 0.95 && cjk.length > 0) terms.push(pick(cjk));
      else terms.push(pick(vocab));
    }
    out.push(terms.join(" "));
  }
  return out;
}

const CJK_DOCS: Doc[] = [
  {
    id: "zh",
    name: "压缩存档说明.txt",
    chunks: ["使用 tar 命令可以创建存档文件，并把它压缩。存档创建以后可以解压。", "东京和北京都是大城市。"],
  },
  { id: "ja", name: "archive-ja.txt", chunks: ["アーカイブを作成し、それをファイルに書き込む。東京の天気は晴れです。"] },
  { id: "ko", name: "korean.txt", chunks: ["한국어 문서를 검색합니다. 서울의 날씨는 맑습니다."] },
  { id: "mixed", name: "dnc-notes.txt", chunks: ["名为DNC（可微分神经计算机）的模型。", "The DNC model writes to an external memory."] },
];
const CJK_FRAGMENTS = ["创建存档", "东京", "天", "アーカイブの作成", "서울", "DNC是什么", "压缩", "晴れ"];

function syntheticCorpus(seed: number): Doc[] {
  const r = rng(seed);
  const syll = ["ka", "lo", "mi", "ne", "ru", "to", "sa", "vi", "en", "or", "ti", "ba", "qu", "ex", "zo"];
  const made = Array.from({ length: 3000 }, () =>
    Array.from({ length: 2 + Math.floor(r() * 3) }, () => syll[Math.floor(r() * syll.length)]).join(""),
  );
  const english =
    "the of and a to in is was for on that with as by at from protein cell cells gene genes expression patients patient study studies running runs ran runner treatment treated treating results increased increase increasing café naïve résumé Straße Ωμέγα αβ beta-cell IL-6 CD4+ 2004 covid-19".split(
      " ",
    );
  const zipf = (n: number) => Math.floor(n * r() ** 3);
  const docs: Doc[] = [];
  for (let d = 0; d < 400; d++) {
    const chunks: string[] = [];
    const nChunks = 1 + Math.floor(r() * 4);
    for (let c = 0; c < nChunks; c++) {
      const len = 5 + Math.floor(r() * 150);
      const ws: string[] = [];
      for (let i = 0; i < len; i++) ws.push(r() < 0.4 ? english[zipf(english.length)] : made[zipf(made.length)]);
      chunks.push(`${ws.join(" ")}.`);
    }
    // Some names share words with the text's vocabulary, so the name field matters.
    const name = r() < 0.3 ? `${made[zipf(made.length)]}-${made[zipf(made.length)]}.txt` : `doc-${d}.pdf`;
    docs.push({ id: `s${d}`, name, chunks });
  }
  return [...docs, ...CJK_DOCS];
}

describe("in-memory BM25 equals FTS5", () => {
  it("synthetic corpus: 1,000 generated queries (and the tokens of every chunk)", async () => {
    const stub = freshStub();
    const docs = syntheticCorpus(42);
    await load(stub, docs);
    expect(await tokenDifferences(stub)).toEqual([]);
    const { failures, nonEmpty } = await compare(stub, [...generatedQueries(docs, 7, CJK_FRAGMENTS), ...CJK_FRAGMENTS]);
    expect(failures).toEqual([]);
    expect(nonEmpty).toBeGreaterThan(900);
    // Writes after the index is loaded keep it equal (a replaced and a removed document).
    await stub.write({
      document: { id: "s1", generation: 2, name: "replaced.txt", metadata: "{}" },
      chunks: [{ ordinal: 0, text: "protein expression in the replaced cell", start: 0, end: 10, page: null, heading: null, tokens: 1 }],
      commit: { chunkCount: 1 },
    });
    await stub.remove("s2");
    const after = await compare(stub, [
      "protein expression replaced",
      "cell cells gene",
      ...generatedQueries(docs, 8, CJK_FRAGMENTS).slice(0, 200),
    ]);
    expect(after.failures).toEqual([]);
  }, 300_000);

  it("SciFact: all 300 test queries and 1,000 generated queries (real corpus)", async (ctx) => {
    const corpusRes = await fetchShared("eval/scifact/corpus.jsonl");
    if (!corpusRes?.ok) {
      if (env.REQUIRE_CORPUS === "1") throw new Error("REQUIRE_CORPUS=1 but ../shared/eval/scifact could not be read");
      console.warn(SKIP_MESSAGE);
      ctx.skip();
      return;
    }
    const lines = (await corpusRes.text()).split("\n").filter((l) => l.trim());
    const docs: Doc[] = lines.map((l) => {
      const d = JSON.parse(l) as { _id?: string; id?: string; title: string; text: string };
      const text = `${d.title}\n\n${d.text}`;
      // About two chunks per abstract, cut at a sentence end near the middle (like the real chunker's sizes).
      const mid = text.indexOf(". ", Math.floor(text.length / 2));
      const chunks = text.length > 1200 && mid > 0 ? [text.slice(0, mid + 1), text.slice(mid + 2)] : [text];
      return { id: String(d._id ?? d.id), name: `${d._id ?? d.id}.txt`, chunks };
    });
    const queriesRes = await fetchShared("eval/scifact/queries.jsonl");
    if (!queriesRes?.ok) throw new Error("../shared/eval/scifact/queries.jsonl could not be read");
    const queries = (await queriesRes.text())
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => (JSON.parse(l) as { text: string }).text);
    expect(queries).toHaveLength(300);
    const stub = freshStub();
    await load(stub, docs);
    expect(await tokenDifferences(stub)).toEqual([]);
    const real = await compare(stub, queries);
    expect(real.failures).toEqual([]);
    expect(real.nonEmpty).toBe(300);
    const generated = await compare(stub, generatedQueries(docs, 11, []));
    expect(generated.failures).toEqual([]);
    const stats = await stub.stats();
    console.log(JSON.stringify({ scifact_keyword_index: stats.keyword, chunks: stats.chunks }));
  }, 300_000);
});
