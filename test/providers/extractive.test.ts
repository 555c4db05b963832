import { describe, expect, it } from "vitest";
import { extractCitations } from "../../src/chat/answer/citations";
import { ExtractiveAnswerer } from "../../src/chat/answer/extractive";
import { splitSentences, terms } from "../../src/chat/answer/text";
import { type AnswerRequest, type AnswerResult, isNoAnswer, NO_ANSWER } from "../../src/chat/answer/types";
import { stem } from "../../src/text";
import { collect, SOURCES, source } from "./helpers";

const answerer = new ExtractiveAnswerer();
const ask = (query: string, sources = SOURCES): Promise<AnswerResult> => answerer.answer({ query, sources, history: [], maxTokens: 512 });

describe("ExtractiveAnswerer", () => {
  it("quotes the relevant sentences of the right source and cites it", async () => {
    const r = await ask("How long do I have to request a refund?");
    expect(r.answer).toContain("Customers can request a full refund within 30 days of purchase [1].");
    expect(r.answer).not.toMatch(/shipping|encrypted/i);
    expect(r.citations).toEqual([1]);
    expect(r.model).toBe("extractive-v5");
    expect(r.usage).toEqual({ prompt_tokens: 0, completion_tokens: 0 });
  });

  it("never answers with a Markdown heading merged into the first sentence", async () => {
    const doc = [
      "# The Kallvik lighthouse",
      "The Kallvik lighthouse stands on the northern skerry of Kallvik harbour.",
      "Its lamp sits 41 metres above the sea and can be seen from 19 nautical miles away in clear weather.",
    ].join("\n");
    const r = await ask("How far away can the Kallvik lighthouse be seen?", [source(1, "kallvik.md", doc)]);
    expect(r.answer).toContain("can be seen from 19 nautical miles away in clear weather [1].");
    expect(r.answer).not.toContain("#");
  });

  it("finds the answer in whichever source holds it", async () => {
    expect((await ask("How long does standard shipping take?")).answer).toMatch(/^Standard shipping takes 3 to 7 business days \[2\]\./);
    expect(await ask("Is customer data encrypted?")).toMatchObject({
      answer: "All customer data is encrypted at rest with AES-256 [3].",
      citations: [3],
    });
    expect((await ask("Where is the warehouse?")).answer).toBe("We ship worldwide from our warehouse in Rotterdam [2].");
  });

  it("cites every quoted sentence with its own source when the answer spans sources", async () => {
    const r = await ask("How many business days do refunds and standard shipping take?");
    expect(r.citations).toEqual([1, 2]);
    for (const sentence of r.answer.split(/(?<=\.)\s+/)) expect(sentence).toMatch(/\[[12]\]\.$/);
    expect(extractCitations(r.answer, SOURCES.length)).toEqual(r.citations);
  });

  it("says it could not find an answer, citing nothing, when the sources are irrelevant", async () => {
    for (const q of ["What is the capital of France?", "How do I cancel my subscription?", "what is it?"]) {
      const r = await ask(q);
      expect(r.answer, q).toBe(NO_ANSWER);
      expect(r.citations).toEqual([]);
      expect(isNoAnswer(r.answer)).toBe(true);
    }
  });

  it("says so as well when there are no sources, or only empty ones", async () => {
    expect(await ask("How long do refunds take?", [])).toMatchObject({ answer: NO_ANSWER, citations: [] });
    expect((await ask("How long do refunds take?", [source(1, "empty.txt", "   \n ")])).answer).toBe(NO_ANSWER);
  });

  it("answers Chinese and Japanese questions from CJK text, citation inside the full stop", async () => {
    const zh = [
      source(1, "退款.md", "退款政策很简单。购买后三十天内可以申请全额退款。运费不予退还。"),
      source(2, "配送.md", "我们在全球范围内发货。标准配送需要三到七个工作日。"),
    ];
    expect(await ask("多少天内可以申请退款？", zh)).toMatchObject({ answer: "购买后三十天内可以申请全额退款[1]。", citations: [1] });
    expect((await ask("标准配送需要多久？", zh)).answer).toBe("标准配送需要三到七个工作日[2]。");
    const ja = [source(1, "規約.md", "返金は購入後30日以内に申請できます。配送料は返金されません。")];
    expect((await ask("返金はいつまで申請できますか？", ja)).answer).toContain("返金は購入後30日以内に申請できます[1]。");
  });

  it("does not repeat a sentence that overlapping chunks both contain", async () => {
    const text = "Refunds are issued to the original payment method within 5 business days.";
    const r = await ask("When are refunds issued?", [
      source(1, "a.md", `Intro. ${text}`),
      source(2, "a.md", `${text} More text follows here.`),
    ]);
    expect(r.answer.match(/Refunds are issued/g)).toHaveLength(1);
  });

  it("is deterministic", async () => {
    const q = "What happens after 30 days for refunds?";
    const first = await ask(q);
    for (let i = 0; i < 3; i++) expect(await ask(q)).toEqual(first);
  });

  it("streams the same answer in a few word-group deltas", async () => {
    const req: AnswerRequest = {
      query: "How many business days do refunds and standard shipping take?",
      sources: SOURCES,
      history: [],
      maxTokens: 512,
    };
    const deltas = await collect(answerer.stream(req));
    expect(deltas.length).toBeGreaterThan(2);
    expect(deltas.join("")).toBe((await answerer.answer(req)).answer);
    expect((await collect(answerer.stream({ ...req, sources: [] }))).join("")).toBe(NO_ANSWER);
  });
});

describe("sentence splitting", () => {
  it("keeps abbreviations, initials, decimals and dotted acronyms inside sentences", () => {
    expect(splitSentences("Dr. Smith arrived at 3.5 p.m. on Monday. He left, e.g. early. The U.S. team won! Did it? Yes.")).toEqual([
      "Dr. Smith arrived at 3.5 p.m. on Monday.",
      "He left, e.g. early.",
      "The U.S. team won!",
      "Did it?",
      "Yes.",
    ]);
    expect(splitSentences("See J. R. Tolkien. Then rest.")).toEqual(["See J. R. Tolkien.", "Then rest."]);
  });

  it("breaks at CJK punctuation without spaces, keeping closing quotes", () => {
    expect(splitSentences("日本語の文です。二つ目の文！「引用。」最後")).toEqual([
      "日本語の文です。",
      "二つ目の文！",
      "「引用。」",
      "最後",
    ]);
  });

  it("treats blank lines and list items as breaks, other line breaks as wrapping; headings are not sentences", () => {
    expect(splitSentences("# Title\n\nThis line is\nhard wrapped.\n- first item\n- second item\n1. numbered")).toEqual([
      "This line is hard wrapped.",
      "first item",
      "second item",
      "1. numbered",
    ]);
  });

  it("cuts run-on text into pieces of bounded length", () => {
    const parts = splitSentences(Array.from({ length: 300 }, (_, i) => `word${i}`).join(" "));
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.every((p) => p.length <= 600)).toBe(true);
  });
});

describe("terms", () => {
  it("stems plural, past and -ing forms alike and drops stopwords", () => {
    expect(["refund", "refunds", "refunded", "refunding"].map(stem)).toEqual(Array(4).fill("refund"));
    expect(["charge", "charges", "charged", "charging"].map(stem)).toEqual(Array(4).fill("charg"));
    expect(stem("policies")).toBe(stem("policy"));
    expect(terms("What does the document say about the refunds?").seq).toEqual(["refund"]);
  });

  it("turns CJK runs into bigrams", () => {
    expect(terms("申请退款").seq).toEqual(["申请", "请退", "退款"]);
  });
});
