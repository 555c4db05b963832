import { describe, expect, it } from "vitest";
import { type Chunk, chunkText, countTokens, cutPoint } from "../../src/retrieval/chunker";
import { countTokensRange, fitEnd } from "../../src/retrieval/chunker/tokens";

const opts = { maxTokens: 40, overlapTokens: 8 };

function expectOffsets(text: string, chunks: Chunk[]) {
  chunks.forEach((c, i) => {
    expect(c.ordinal).toBe(i);
    expect(text.slice(c.start, c.end)).toBe(c.text);
    expect(c.text).toBe(c.text.trim());
  });
}

const insideWord = (text: string, pos: number) =>
  pos > 0 && pos < text.length && /[\p{L}\p{N}]/u.test(text[pos - 1]) && /[\p{L}\p{N}]/u.test(text[pos]);

const sentences = (n: number, words = 9) =>
  Array.from({ length: n }, (_, i) => `Sentence number ${i} ${"carries several ordinary words ".repeat(words / 4)}here.`).join(" ");

describe("countTokens", () => {
  it("counts Latin words by length, punctuation and CJK characters one each", () => {
    expect(countTokens("")).toBe(0);
    expect(countTokens("  \n\t ")).toBe(0);
    expect(countTokens("a")).toBe(1);
    expect(countTokens("word")).toBe(1);
    expect(countTokens("words")).toBe(2);
    expect(countTokens("Hello, world!")).toBe(2 + 1 + 2 + 1);
    expect(countTokens("中文文本")).toBe(4);
    expect(countTokens("ひらがなカタカナ")).toBe(8);
    expect(countTokens("😀")).toBe(1);
  });

  it("never counts far below a WordPiece tokenizer on hard cases", () => {
    // bert-base-uncased: "immunohistochemistry" -> 6 pieces, Cyrillic roughly one per letter.
    expect(countTokens("immunohistochemistry")).toBeGreaterThanOrEqual(5);
    expect(countTokens("Привет")).toBe(6);
  });

  it("is additive over whitespace-separated pieces", () => {
    const text = sentences(20);
    const sum = text.split(/\s+/).reduce((n, w) => n + countTokens(w), 0);
    expect(countTokens(text)).toBe(sum);
  });
});

describe("chunkText", () => {
  it("returns nothing for empty or blank text", async () => {
    expect(await chunkText({ text: "" }, opts)).toEqual([]);
    expect(await chunkText({ text: " \n\n\t  " }, opts)).toEqual([]);
  });

  it("keeps a short text whole, trimmed, with exact offsets", async () => {
    const text = "\n\n  A short note.  \n";
    const chunks = await chunkText({ text }, opts);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toMatchObject({ text: "A short note.", start: 4, end: 17, page: null, heading: null });
    expect(chunks[0].tokens).toBe(countTokens("A short note."));
  });

  it("bounds every chunk by maxTokens and maps offsets back to the text", async () => {
    const text = [sentences(12), sentences(7), sentences(30, 20)].join("\n\n");
    const chunks = await chunkText({ text }, opts);
    expect(chunks.length).toBeGreaterThan(10);
    expectOffsets(text, chunks);
    for (const c of chunks) {
      expect(c.tokens).toBeLessThanOrEqual(opts.maxTokens);
      expect(countTokens(c.text)).toBe(c.tokens);
    }
    // Together the chunks cover every word of the text.
    const covered = new Uint8Array(text.length);
    for (const c of chunks) covered.fill(1, c.start, c.end);
    for (let i = 0; i < text.length; i++) if (!/\s/.test(text[i])) expect(covered[i]).toBe(1);
  });

  it("never cuts inside a word of a space-separated script", async () => {
    const text = `${"Chromatin remodeling complexes regulate transcriptional accessibility. ".repeat(40)}\n${"x".repeat(3)} end`;
    for (const maxTokens of [7, 13, 40, 101]) {
      const chunks = await chunkText({ text }, { maxTokens, overlapTokens: 3 });
      expect(chunks.length).toBeGreaterThan(1);
      for (const c of chunks) {
        expect(insideWord(text, c.start)).toBe(false);
        expect(insideWord(text, c.end)).toBe(false);
      }
    }
  });

  it("cuts a single word longer than a chunk, and only then", async () => {
    const blob = "A".repeat(400);
    const text = `before ${blob} after`;
    const chunks = await chunkText({ text }, { maxTokens: 30, overlapTokens: 0 });
    expectOffsets(text, chunks);
    for (const c of chunks) expect(c.tokens).toBeLessThanOrEqual(30);
    expect(chunks.map((c) => c.text).join("")).toBe(text.replace(/ /g, ""));
  });

  it("prefers paragraph, then sentence boundaries", async () => {
    const p1 = "First paragraph has one sentence that is long enough to matter here.";
    const p2 = `Second paragraph. ${p1}`;
    const text = `${p1}\n\n${p2}`;
    const max = countTokens(p1) + 5; // room for either paragraph's long sentence, not for both sentences of p2
    const chunks = await chunkText({ text }, { maxTokens: max, overlapTokens: 0 });
    expect(chunks.map((c) => c.text)).toEqual([p1, "Second paragraph.", p1]);
  });

  it("overlaps consecutive chunks with whole trailing sentences or words", async () => {
    const text = sentences(30);
    const chunks = await chunkText({ text }, { maxTokens: 60, overlapTokens: 15 });
    expect(chunks.length).toBeGreaterThan(3);
    for (let i = 1; i < chunks.length; i++) {
      const prev = chunks[i - 1];
      const cur = chunks[i];
      expect(cur.start).toBeGreaterThan(prev.start);
      expect(cur.start).toBeLessThan(prev.end); // overlaps
      expect(countTokens(text.slice(cur.start, prev.end))).toBeLessThanOrEqual(15);
      expect(insideWord(text, cur.start)).toBe(false);
    }
    // Without overlap, chunks tile the text.
    const tiled = await chunkText({ text }, { maxTokens: 60, overlapTokens: 0 });
    for (let i = 1; i < tiled.length; i++) expect(tiled[i].start).toBeGreaterThanOrEqual(tiled[i - 1].end);
  });

  it("carries the markdown heading path and starts sections on a new chunk", async () => {
    const text = [
      "Preamble line.",
      "# Intro",
      "Intro text is here.",
      "## Background",
      "Background text is here.",
      "### Details ###",
      sentences(6),
      "# Results",
      "Results text.",
      "```",
      "# not a heading inside a code fence",
      "```",
    ].join("\n\n");
    const chunks = await chunkText({ text }, { maxTokens: 50, overlapTokens: 10 });
    expectOffsets(text, chunks);
    const headingOf = (needle: string) => chunks.find((c) => c.text.includes(needle))?.heading;
    expect(headingOf("Preamble")).toBeNull();
    expect(headingOf("Intro text")).toBe("Intro");
    expect(headingOf("Background text")).toBe("Intro > Background");
    expect(headingOf("Sentence number 5")).toBe("Intro > Background > Details");
    expect(headingOf("Results text")).toBe("Results");
    expect(headingOf("inside a code fence")).toBe("Results");
    // A heading line never stands alone; it opens the chunk of its section.
    for (const c of chunks) expect(c.text).not.toMatch(/^#+ [^\n]*$/);
    expect(chunks.find((c) => c.text.includes("Results text"))?.text.startsWith("# Results")).toBe(true);
  });

  it("assigns the page of each chunk's start", async () => {
    const pageTexts = [sentences(4), sentences(4), sentences(4)];
    const text = pageTexts.join("\n\f");
    const pages: { page: number; start: number }[] = [];
    let at = 0;
    pageTexts.forEach((t, i) => {
      pages.push({ page: i + 1, start: at });
      at += t.length + 2;
    });
    const chunks = await chunkText({ text, pages }, { maxTokens: 30, overlapTokens: 0 });
    for (const c of chunks) {
      const expected = [...pages].reverse().find((p) => p.start <= c.start)?.page;
      expect(c.page).toBe(expected);
    }
    expect(new Set(chunks.map((c) => c.page))).toEqual(new Set([1, 2, 3]));
  });

  it("splits CJK text without spaces at sentence ends, then between characters", async () => {
    const sentence = "自然语言处理是人工智能的一个重要分支。";
    const text = sentence.repeat(12);
    const chunks = await chunkText({ text }, { maxTokens: 45, overlapTokens: 0 });
    expect(chunks.length).toBeGreaterThan(1);
    expectOffsets(text, chunks);
    for (const c of chunks) {
      expect(c.tokens).toBeLessThanOrEqual(45);
      expect(c.text.endsWith("。")).toBe(true); // sentence boundaries fit, so they win
    }
    const long = "国".repeat(100);
    const pieces = await chunkText({ text: long }, { maxTokens: 30, overlapTokens: 5 });
    expectOffsets(long, pieces);
    for (const c of pieces) expect(c.tokens).toBeLessThanOrEqual(30);
    expect(pieces[pieces.length - 1].end).toBe(100);
  });

  it("never splits a surrogate pair", async () => {
    const text = "𠀀".repeat(50) + "😀".repeat(50);
    const chunks = await chunkText({ text }, { maxTokens: 16, overlapTokens: 4 });
    expect(chunks.length).toBeGreaterThan(1);
    expectOffsets(text, chunks);
    for (const c of chunks) {
      expect(c.start % 2).toBe(0);
      expect(c.end % 2).toBe(0);
    }
  });

  it("is deterministic and rejects bad options", async () => {
    const text = `# T\n\n${sentences(40)}`;
    expect(await chunkText({ text }, opts)).toEqual(await chunkText({ text }, opts));
    await expect(chunkText({ text }, { maxTokens: 0, overlapTokens: 0 })).rejects.toThrow(RangeError);
    await expect(chunkText({ text }, { maxTokens: 10, overlapTokens: 10 })).rejects.toThrow(RangeError);
  });
});

describe("cutting an oversized word in one pass", () => {
  /** The cut before it was linear: a binary search counting each probe from `s` (the reference). */
  function binarySearchCut(text: string, s: number, e: number, max: number): number {
    if (e - s <= 8 * max + 8 && countTokensRange(text, s, e) <= max) return e;
    let lo = Math.min(e, s + max);
    let hi = Math.min(e, s + 8 * max + 8);
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (countTokensRange(text, s, mid) <= max) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
  // Every class the counter tells apart: Latin and other letters, joiners, Hangul, Han, astral pairs, lone halves, spaces, punctuation.
  const ALPHABET = [
    "a",
    "b",
    "Z",
    "7",
    "é",
    "\u0301",
    "\u200d",
    "ж",
    "λ",
    "한",
    "가",
    "国",
    "😀",
    "\ud83d",
    "\ude00",
    " ",
    "\n",
    "-",
    "[",
    ".",
    "'",
    "’",
  ];

  it("finds, for every prefix length, the same longest fitting prefix as the binary search it replaced", () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let checked = 0;
    for (let round = 0; round < 400; round++) {
      // Long runs of one class as well as mixtures: the runs are where a cut falls inside a word.
      let text = "";
      while (text.length < 300) {
        const ch = ALPHABET[rand(ALPHABET.length)];
        text += ch.repeat(rand(3) === 0 ? 1 + rand(60) : 1);
      }
      const max = 1 + rand(40);
      for (let k = 0; k < 20; k++) {
        const s = rand(text.length);
        const e = s + 1 + rand(text.length - s);
        const hi = Math.min(e, s + 8 * max + 8);
        const fit = fitEnd(text, s, hi, max);
        // fitEnd is the longest prefix within `hi` that fits, and the next one does not.
        expect(countTokensRange(text, s, fit)).toBeLessThanOrEqual(max);
        if (fit < hi) expect(countTokensRange(text, s, fit + 1)).toBeGreaterThan(max);
        const lo = Math.min(e, s + max);
        expect(fit === e ? e : Math.max(lo, fit)).toBe(binarySearchCut(text, s, e, max));
        checked++;
      }
    }
    expect(checked).toBe(8000);
  });

  it("cuts a 2 MB run of one punctuation mark into pieces that fit, end to end", async () => {
    const text = "[".repeat(2_000_000);
    const chunks = await chunkText({ text }, { maxTokens: 256, overlapTokens: 0 });
    expect(chunks.map((c) => c.text.length).reduce((a, b) => a + b, 0)).toBe(text.length);
    for (const c of chunks) expect(c.tokens).toBeLessThanOrEqual(256);
    expect(chunks.every((c, i) => i === 0 || c.start === chunks[i - 1].end)).toBe(true);
    // A piece of `max` one-token characters: the first cut falls exactly there.
    expect(cutPoint(text, 0, text.length, 256)).toBe(256);
  });
});
