/**
 * The developers' QA set (qa-set.json) through the real API and pipeline: every valid fixture is
 * uploaded over HTTP and indexed by the queue consumer into one collection, then each question is
 * asked with POST /v1/chat (local embedder, hybrid search, extractive answerer). For every question
 * the answer must cite (with [n]) one of the question's documents. `npm run eval -- --answers`
 * reports the same set's figures (also whether the answer holds the expected string).
 *
 * The questions the pipeline cannot answer yet are listed in KNOWN_MISSES with the reason, and
 * asserted to still miss (`it.fails`): when one starts passing, the test says so and it must move out.
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

  it("indexes every valid fixture", { timeout: 240_000 }, async () => {
    collection = await createCollection("qa-set");
    const ids: string[] = [];
    for (const file of valid) {
      const res = await uploadFiles(collection, [{ name: baseName(file), bytes: await bytesOf(file) }]);
      const out = await body(res);
      expect(res.status, file).toBe(202);
      if (!out.documents[0].duplicate) ids.push(out.documents[0].id);
    }
    for (const id of ids) await waitForDocument(collection, id, master(), 120_000);
  });

  for (const q of questions) {
    const miss = KNOWN_MISSES[q.id];
    (miss ? it.fails : it)(`${q.id} [${q.split}] ${q.question}${miss ? ` (known miss: ${miss})` : ""}`, { timeout: 30_000 }, async () => {
      expect(collection, "the indexing step ran").not.toBe("");
      const res = await call("/v1/chat", {
        method: "POST",
        headers: master(),
        json: { query: q.question, collection_id: collection, top_k: 5 },
      });
      expect(res.status).toBe(200);
      const out = await body(res);
      const cited = (out.citations as number[]).map((n) => (out.sources as Json[])[n - 1]?.document_name);
      expect(cited.length, out.answer).toBeGreaterThan(0);
      expect(
        cited.some((d) => q.documents.map(baseName).includes(d)),
        `cited ${cited.join(", ")}; answer: ${out.answer}`,
      ).toBe(true);
    });
  }
});
