/**
 * Token estimate, calibrated against bge's WordPiece (bench/tokens.mjs): Hangul syllables count as
 * their jamo (NFD), 2 without and 3 with a final consonant; the chunker counts the same.
 */
import { describe, expect, it } from "vitest";
import { chunkText } from "../../src/retrieval/chunker";
import { countTokens, hangulTokens } from "../../src/retrieval/chunker/tokens";

describe("token estimate", () => {
  it("counts a Hangul syllable as its jamo", () => {
    expect(hangulTokens("어".charCodeAt(0))).toBe(2); // ㅇ ㅓ
    expect(hangulTokens("한".charCodeAt(0))).toBe(3); // ㅎ ㅏ ㄴ
    expect(countTokens("한국어")).toBe(8);
    expect(countTokens("tar 파일")).toBe(1 + 2 + 3); // 파: ㅍ ㅏ; 일: ㅇ ㅣ ㄹ
  });

  it("the chunker's inline count agrees with countTokens on Korean text", async () => {
    const text = "빅포인트의 유효기간은 5년으로, 유효기간 만료 시 월 단위로 자동 소멸. ".repeat(40);
    const chunks = await chunkText({ text }, { maxTokens: 60, overlapTokens: 0 });
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) {
      expect(c.tokens).toBe(countTokens(c.text));
      expect(c.tokens).toBeLessThanOrEqual(60);
    }
  });
});
