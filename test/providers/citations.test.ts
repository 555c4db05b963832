import { describe, expect, it } from "vitest";
import { extractCitations } from "../../src/chat/answer/citations";
import { isNoAnswer, NO_ANSWER } from "../../src/chat/answer/types";

describe("extractCitations", () => {
  it("reads [n], [n, m] and [n][m], deduplicated and ascending", () => {
    expect(extractCitations("A [2]. B [1, 3]. C [3][1]. D [2].", 5)).toEqual([1, 2, 3]);
    expect(extractCitations("Spaces [ 4 ,5 ] too.", 5)).toEqual([4, 5]);
  });

  it("drops numbers outside 1..sourceCount", () => {
    expect(extractCitations("See [0], [4] and [7], also [2020].", 4)).toEqual([4]);
    expect(extractCitations("Anything [1].", 0)).toEqual([]);
  });

  it("ignores markdown links, ranges and words in brackets", () => {
    expect(extractCitations("A [1](https://example.com) link, [1-3], [note], [a, 2].", 5)).toEqual([]);
  });

  it("finds nothing in an answer without citations", () => {
    expect(extractCitations(NO_ANSWER, 3)).toEqual([]);
  });
});

describe("isNoAnswer", () => {
  it("recognises the no-answer sentence despite quotes, case and apostrophes", () => {
    expect(isNoAnswer(NO_ANSWER)).toBe(true);
    expect(isNoAnswer(`"I couldn\u2019t find an answer to that in the provided documents"`)).toBe(true);
    expect(isNoAnswer("  i COULDN'T find an answer to that in the provided documents.  ")).toBe(true);
    expect(isNoAnswer("Refunds take 5 days [1].")).toBe(false);
  });
});
