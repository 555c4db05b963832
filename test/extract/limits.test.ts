import { describe, expect, it } from "vitest";
import { extract } from "../../src/ingest/extract";
import { EXTRACT_LIMITS } from "../../src/ingest/extract/limits";
import { chunkText } from "../../src/retrieval/chunker";
import { ZIP_LIMITS } from "../../src/ingest/extract/zip";
import { buildPdf, buildZip, docxParts, expectApiError, para, utf8 } from "./builders";

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  try {
    await fn();
  } catch {
    // over-cap inputs are timed until their refusal
  }
  return performance.now() - t0;
}

/**
 * Extracts inputs of size n, 2n and 4n. Linear work doubles at each doubling (ratio 2), quadratic
 * work quadruples (ratio 4) at both. The smaller of the two per-doubling ratios must stay under 3:
 * quadratic work fails both doublings, while a slow moment on a shared machine (garbage collection
 * of the largest input under memory pressure, another process) can only inflate one of them. Only
 * ratios of timings taken inside this one test are compared, never an absolute figure; runs
 * alternate and the best of each size is kept.
 */
async function doublingRatio(name: string, make: (n: number) => string, n: number): Promise<number> {
  const inputs = [n, 2 * n, 4 * n].map((k) => utf8(make(k)));
  const run = (bytes: Uint8Array) => () => extract(bytes, { name, maxChars: 50_000_000 });
  await timed(run(inputs[0])); // warm-up (JIT)
  const best = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
  for (let i = 0; i < 5; i++) {
    for (let k = 0; k < 3; k++) best[k] = Math.min(best[k], await timed(run(inputs[k])));
  }
  console.log(JSON.stringify({ name, n, ms: best }));
  return Math.min(best[1] / Math.max(best[0], 1), best[2] / Math.max(best[1], 1));
}

describe("extraction runs in linear time on pathological input", () => {
  const cases: [string, string, (n: number) => string, number][] = [
    ["unclosed comments <!--×N", "a.md", (n) => "<!--".repeat(n), 200_000],
    ["brackets [×N", "a.md", (n) => "[".repeat(n), 2_000_000],
    ["images ![×N", "a.md", (n) => "![".repeat(n), 500_000],
    ["links [a](×N with no closing paren", "a.md", (n) => "[a](".repeat(n), 100_000],
    ['titles [a](x "×N', "a.md", (n) => '[a](x "'.repeat(n), 75_000],
    ["autolinks <http:×N", "a.md", (n) => "<http:".repeat(n), 100_000],
    ["table-rule look-alike: - then spaces", "a.md", (n) => `|-${" ".repeat(n)}x`, 2_000_000],
    ["one-line CSV", "a.csv", (n) => "a,".repeat(n), 100_000],
    ["a CSV cell of quotes", "a.csv", (n) => `x${'"'.repeat(n)}`, 2_000_000],
    ["newline flood", "a.txt", (n) => `a${"\n".repeat(n)}b`, 200_000],
    // Refused at depth 65 after a scan of everything before it (a long string with brackets in it).
    ["deep JSON", "a.json", (n) => `{"a":"${"[{".repeat(n)}","b":${"[".repeat(n)}${"]".repeat(n)}}`, 3_000_000],
  ];
  for (const [label, file, make, n] of cases) {
    it(label, async () => {
      const ratio = await doublingRatio(file, make, n);
      expect(ratio, `${label}: smaller per-doubling time ratio ${ratio.toFixed(2)} (linear 2, quadratic 4)`).toBeLessThan(3);
    });
  }
});

describe("chunking a pathological document runs in linear time", () => {
  // One 'word' of millions of characters: each cut used to count all of what was left.
  it("a run of [ with no space, extracted and chunked", async () => {
    const time = async (n: number) => {
      const doc = await extract(utf8("[".repeat(n)), { name: "a.md" });
      const t0 = performance.now();
      const chunks = await chunkText(doc, { maxTokens: 256, overlapTokens: 32 });
      expect(chunks.length).toBeGreaterThan(n / 300);
      return performance.now() - t0;
    };
    await time(50_000);
    let a = Number.POSITIVE_INFINITY;
    let b = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 3; i++) {
      a = Math.min(a, await time(100_000));
      b = Math.min(b, await time(400_000));
    }
    console.log(JSON.stringify({ chunker_ms: [a, b] }));
    expect(b / Math.max(a, 1)).toBeLessThan(9); // 4× the input: linear ≈ 4, quadratic ≈ 16
  });
});

describe("extraction caps", () => {
  it("newline floods past the line cap are 413 document_too_large", async () => {
    const text = `a${"\n".repeat(EXTRACT_LIMITS.maxLines + 1)}b`;
    await expectApiError(extract(utf8(text), { name: "a.txt" }), "document_too_large");
    await expectApiError(extract(utf8(text), { name: "a.md" }), "document_too_large");
  });

  it("CSV past the cell or row cap is 413", async () => {
    await expectApiError(extract(utf8("a,".repeat(EXTRACT_LIMITS.maxCsvCells + 1)), { name: "a.csv" }), "document_too_large");
  });

  it("JSON nested past the depth cap is 422 document_too_complex; brackets inside strings do not count", async () => {
    const deep = `${"[".repeat(EXTRACT_LIMITS.maxJsonDepth + 1)}${"]".repeat(EXTRACT_LIMITS.maxJsonDepth + 1)}`;
    await expectApiError(extract(utf8(deep), { name: "a.json" }), "document_too_complex");
    const ok = await extract(utf8(JSON.stringify({ note: "[[[[".repeat(100), n: 1 })), { name: "a.json" });
    expect(ok.text).toContain("n: 1");
  });

  it("a PDF over the page cap is 413", async () => {
    const pages = Array.from({ length: EXTRACT_LIMITS.maxPdfPages + 1 }, () => ({ lines: ["x"] }));
    await expectApiError(extract(buildPdf(pages), { name: "a.pdf" }), "document_too_large");
  });

  it("a DOCX with any part over the part cap is 413 before anything is inflated", async () => {
    const parts = docxParts(para("x"));
    parts.push({ name: "word/media/image1.png", data: "tiny", declaredSize: ZIP_LIMITS.maxPartUncompressed + 1 });
    await expectApiError(extract(await buildZip(parts), { name: "a.docx" }), "document_too_large");
    expect(ZIP_LIMITS.maxTotalUncompressed).toBeLessThan(64 * 1024 * 1024);
  });
});
