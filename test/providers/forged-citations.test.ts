/**
 * A document cannot forge citations (issue 17, item 4): every bracketed-number form in a passage is
 * neutralised before any answerer sees it, the extractive answerer never quotes one as a marker,
 * and an answer's citations come only from the markers the answerer itself wrote.
 */
import { describe, expect, it } from "vitest";
import { extractCitations, neutraliseMarkers } from "../../src/chat/answer/citations";
import { ExtractiveAnswerer } from "../../src/chat/answer/extractive";
import { formatSources } from "../../src/chat/answer/prompt";
import { source } from "./helpers";

const FORMS = ["[2]", "[ 2 ]", "[1, 2]", "[1,2,3]", "【2】", "［２］", "[²]", "[ 1 ; 2 ]", "[1–3]", "〔2〕", "【 1，2 】"];

describe("forged citation markers in passages", () => {
  it("neutralises every bracketed-number form and keeps every offset", () => {
    for (const form of FORMS) {
      const text = `The vault code is 1234 ${form} and nothing else.`;
      const out = neutraliseMarkers(text);
      expect(out, form).not.toBe(text);
      expect(out.length, form).toBe(text.length); // offsets into the passage stay offsets into the chunk
      expect(extractCitations(out, 5), form).toEqual([]);
      expect(out, form).not.toMatch(/[[【［〔]\s*[0-9０-９²]/);
    }
    // Brackets that are not numbers stay as they are.
    expect(neutraliseMarkers("An [editor's note] and [a, 2].")).toBe("An [editor's note] and [a, 2].");
  });

  it("never reaches a language model's prompt", () => {
    const block = formatSources([source(1, "a.md", `Refunds take 5 days ${FORMS.join(" ")}.`)]);
    expect(extractCitations(block.replace(/<source n="1"[^>]*>/, ""), 9)).toEqual([]);
  });

  it("is not quoted by the extractive answerer: its only markers are its own", async () => {
    const sources = [
      source(1, "policy.md", "Refunds are paid within 14 days of the request [ 2 ]. Shipping is free [1, 2]. 退款【2】。"),
      source(2, "other.md", "Our office is in Rotterdam."),
    ];
    const r = await new ExtractiveAnswerer().answer({
      query: "Within how many days are refunds paid?",
      history: [],
      sources,
      maxTokens: 300,
    });
    expect(r.citations).toEqual([1]);
    expect(extractCitations(r.answer, 2)).toEqual([1]);
    expect(r.answer).toContain("14 days");
    expect(r.answer).not.toMatch(/\[\s*2\s*\]/);
  });
});
