/**
 * Statements precomputed at ingest (issue 18, item 4): the collection index writes the extractive
 * answerer's analysis beside each chunk it commits, returns it with the hits of a chat search
 * (only when asked), replaces it when the document is re-ingested and drops it with the document;
 * the answerer gives the same answer from the stored analysis as from the text, and ignores a row
 * of another version.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  ANALYSIS_VERSION,
  clearPreparedPassages,
  encodeAnalysis,
  ExtractiveAnswerer,
  preparedPassageCount,
} from "../../src/chat/answer/extractive";
import type { IndexSearchRequest } from "../../src/retrieval/collection-index/object";

const TEXTS = [
  "Iwan Roberts\nDate of birth 26 June 1968\nPlace of birth Bangor, Wales\n\nIwan Wyn Roberts (born 26 June 1968) is a Welsh former professional footballer who\nplayed as a forward. He amassed fifteen caps between 1989 and 2001.",
  "Item | Price | # In stock\n---|---|---\nJuicy Apples | 1.99 | 739\nBananas | 1.89 | 6",
  // A name only in a heading (not a statement): the stored analysis's other stems must find it.
  "## Gillingham\n\nRoberts joined the club in 2004 and scored three goals in twenty games.",
];
const stubOf = () => env.COLLECTION_INDEX.get(env.COLLECTION_INDEX.idFromName(`statements-${crypto.randomUUID()}`));
const write = (stub: ReturnType<typeof stubOf>, id: string, texts: string[], generation = 1) =>
  stub.write({
    document: { id, generation, name: `${id}.txt`, metadata: "{}" },
    chunks: texts.map((text, ordinal) => ({ ordinal, text, start: 0, end: text.length, page: null, heading: null, tokens: 10 })),
    commit: { chunkCount: texts.length },
  });
const kq = (query: string, extra: Partial<IndexSearchRequest> = {}): IndexSearchRequest => ({
  query,
  topK: 5,
  mode: "keyword",
  vectorWeight: 0,
  pool: 5,
  hydrate: 5,
  ...extra,
});

describe("statements precomputed at ingest", () => {
  it("are stored beside each chunk and returned with a chat search only, replaced on re-ingest, gone with the document", async () => {
    const stub = stubOf();
    await write(stub, "d1", TEXTS);
    const plain = (await stub.search(kq("Roberts born"))).hits;
    expect(plain.length).toBeGreaterThan(0);
    expect(plain.every((h) => !("statements" in h))).toBe(true);
    const hits = (await stub.search(kq("Roberts born", { statements: true }))).hits;
    expect(hits[0].statements).toBe(encodeAnalysis(hits[0].text));
    expect(JSON.parse(hits[0].statements as string)[0]).toBe(ANALYSIS_VERSION);

    await write(stub, "d1", ["Roberts was born in Bangor in 1968 and played for Norwich."], 2);
    const again = (await stub.search(kq("Roberts born", { statements: true }))).hits;
    expect(again).toHaveLength(1);
    expect(again[0].statements).toBe(encodeAnalysis("Roberts was born in Bangor in 1968 and played for Norwich."));

    const rows = () =>
      runInDurableObject(stub, (_o, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM chunk_analysis").one().n);
    expect(await rows()).toBe(1);
    await stub.remove("d1");
    expect(await rows()).toBe(0);
    await write(stub, "d2", ["Roberts born again"]);
    const fresh = (await stub.search(kq("Roberts born", { statements: true }))).hits;
    expect(fresh[0].statements).toBe(encodeAnalysis("Roberts born again"));
  });

  it("follow a staged document (more than COMMIT_PAGE chunks) to its id at the flip, and leave no shadow rows", async () => {
    const stub = stubOf();
    const texts = Array.from({ length: 250 }, (_, i) => `Paragraph ${i} says that sample ${i} was measured on day ${i % 7}.`);
    expect((await write(stub, "big", texts)).status).toBe("ready");
    const counts = await runInDurableObject(stub, (_o, state) =>
      state.storage.sql
        .exec<{ document_id: string; n: number }>(
          "SELECT c.document_id, COUNT(*) AS n FROM chunk_analysis a JOIN chunks c ON c.id = a.id GROUP BY c.document_id",
        )
        .toArray(),
    );
    expect(counts).toEqual([{ document_id: "big", n: 250 }]);
    const hits = (await stub.search(kq("sample 137 measured", { statements: true }))).hits;
    expect(hits[0].text).toBe(texts[137]);
    expect(hits[0].statements).toBe(encodeAnalysis(texts[137]));
    await stub.remove("big");
    const left = await runInDurableObject(
      stub,
      (_o, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM chunk_analysis").one().n,
    );
    expect(left).toBe(0);
  });

  it("give the answerer the same answer as the text, and a row of another version is analysed afresh", () => {
    const answerer = new ExtractiveAnswerer();
    const sources = TEXTS.map((text, i) => ({ n: i + 1, document_id: `d${i}`, document_name: `d${i}.txt`, chunk: 0, text, score: 1 }));
    for (const query of [
      "Where was Iwan Roberts born?",
      "How many caps did Iwan Roberts win?",
      "What is the price of bananas?",
      "When did Roberts join Gillingham?",
      "Who won the 2018 FIFA World Cup?",
    ]) {
      clearPreparedPassages();
      const fromText = answerer.answerSync({ query, sources });
      // Analysed from the text: kept for the next question about these chunks.
      expect(preparedPassageCount()).toBe(sources.length);
      clearPreparedPassages();
      const stored = answerer.answerSync({ query, sources: sources.map((s) => ({ ...s, statements: encodeAnalysis(s.text) })) });
      expect(stored).toEqual(fromText);
      // Decoded from a stored analysis: cheaper to decode again than to keep (extractive.ts PREPARED).
      expect(preparedPassageCount()).toBe(0);
      // The name only in a heading still makes its passage the answer's (not "about something else").
      if (query.includes("Gillingham")) expect(fromText.citations).toEqual([3]);
      // Asked again over the same (now cached) passages: the same answer.
      expect(answerer.answerSync({ query, sources })).toEqual(fromText);
      clearPreparedPassages();
      const old = sources.map((s) => ({ ...s, statements: encodeAnalysis(s.text).replace(ANALYSIS_VERSION, "extractive-v0") }));
      expect(answerer.answerSync({ query, sources: old })).toEqual(fromText);
      clearPreparedPassages();
      expect(answerer.answerSync({ query, sources: sources.map((s) => ({ ...s, statements: "not json" })) })).toEqual(fromText);
    }
  });
});
