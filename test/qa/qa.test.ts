/**
 * The developers' QA set (qa-set.json) through the real API and pipeline: every valid fixture is
 * uploaded over HTTP and indexed by the queue consumer into one collection, then each question is
 * asked with POST /v1/chat (local embedder, hybrid search, extractive answerer). For every question
 * the answer must cite (with [n]) one of the question's documents. `npm run eval -- --answers`
 * reports the same set's figures (also whether the answer holds the expected string).
 *
 * The questions the pipeline cannot answer yet are listed in KNOWN_MISSES with the reason. They
 * are not `it.fails` (which would pass when indexing broke): each first asserts what must hold
 * regardless (the collection is indexed, retrieval returns the question's document, every claim's
 * span is exact), and only then that the answer still misses; when one starts passing, the test
 * fails and says it must move out of the list.
 */
import { describe, expect, it } from "vitest";
import { available, bytesOf, SKIP_MESSAGE, valid } from "../corpus";
import { body, call, createCollection, type Json, master, uploadFiles, waitForDocument } from "../helpers";
import qa from "./qa-set.json";

interface Question {
  id: string;
  split: "tune" | "heldout";
  question: string;
  documents: string[];
  answer: string | string[];
}

/** Questions whose right document is not cited today, and why. */
const KNOWN_MISSES: Record<string, string> = {
  q13: "answer: the name field now ranks the War and Peace chapter first, but the sentence that dates it ('It was in July, 1805, …') shares no word with the question, so no statement clears the threshold",
  q30: "answer: 'zip code' appears nowhere in the text; 'Doylestown, PA 18901' matches one term of three",
  q42: "answer: the Polish invoice's amount sits in a table row whose label words differ from the question's",
};

const questions = (qa as { questions: Question[] }).questions;
const baseName = (f: string) => f.split("/").pop() as string;

(available ? describe : describe.skip)(available ? "QA set through the API" : SKIP_MESSAGE, () => {
  let collection = "";
  /** Set only once every fixture is `ready`: the questions fail (never pass) without it. */
  let indexed = false;

  it("indexes every valid fixture", { timeout: 240_000 }, async () => {
    collection = await createCollection("qa-set");
    const ids: string[] = [];
    for (const file of valid) {
      const res = await uploadFiles(collection, [{ name: baseName(file), bytes: await bytesOf(file) }]);
      const out = await body(res);
      expect(res.status, file).toBe(202);
      if (!out.documents[0].duplicate) ids.push(out.documents[0].id);
    }
    for (const id of ids) {
      const doc = await waitForDocument(collection, id, master(), 120_000);
      expect(doc.status, id).toBe("ready");
      expect(doc.chunk_count, id).toBeGreaterThan(0);
    }
    indexed = true;
  });

  for (const q of questions) {
    const miss = KNOWN_MISSES[q.id];
    it(`${q.id} [${q.split}] ${q.question}${miss ? ` (known miss: ${miss})` : ""}`, { timeout: 30_000 }, async () => {
      expect(indexed, "every fixture was indexed").toBe(true);
      const res = await call("/v1/chat", {
        method: "POST",
        headers: master(),
        json: { query: q.question, collection_id: collection, top_k: 5 },
      });
      expect(res.status).toBe(200);
      const out = await body(res);
      const sources = out.sources as Json[];
      const wanted = q.documents.map(baseName);
      // Holds for misses too: retrieval found the document, and every span the answer shows is exact.
      expect(
        sources.some((s) => wanted.includes(s.document_name)),
        `retrieved ${sources.map((s) => s.document_name).join(", ")}`,
      ).toBe(true);
      for (const claim of out.claims as Json[]) {
        expect((out.answer as string).slice(claim.start, claim.end)).toBe(claim.text);
        for (const c of claim.citations as Json[]) expect(sources[c.source - 1].text.slice(c.start, c.end)).toBe(c.quote);
      }
      const cited = (out.citations as number[]).map((n) => sources[n - 1]?.document_name);
      const right = cited.some((d) => wanted.includes(d));
      if (miss) {
        expect(right, `now cites ${cited.join(", ")}: move ${q.id} out of KNOWN_MISSES`).toBe(false);
        return;
      }
      expect(cited.length, out.answer).toBeGreaterThan(0);
      expect(right, `cited ${cited.join(", ")}; answer: ${out.answer}`).toBe(true);
    });
  }
});
