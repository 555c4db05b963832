import { describe, expect, it } from "vitest";
import { extract } from "../../src/ingest/extract";
import { buildPdf, concat, expectApiError, utf8 } from "./builders";

const pdf = (bytes: Uint8Array, maxChars?: number) => extract(bytes, { name: "doc.pdf", maxChars });

describe("PDF", () => {
  it("extracts text page by page and records where each page starts", async () => {
    const bytes = buildPdf([{ lines: ["First page title", "Alpha line"] }, { lines: [] }, { lines: ["Third page (with parens)"] }]);
    const doc = await pdf(bytes);
    expect(doc.kind).toBe("pdf");
    expect(doc.text).toBe("First page title\nAlpha line\n\nThird page (with parens)");
    expect(doc.pages).toEqual([
      { page: 1, start: 0 },
      { page: 2, start: 27 }, // empty page: starts where the text stood
      { page: 3, start: 29 },
    ]);
    expect(doc.text.slice(doc.pages?.[2].start)).toBe("Third page (with parens)");
  });

  it("does not detach the caller's buffer", async () => {
    const bytes = buildPdf([{ lines: ["Keep me"] }]);
    await pdf(bytes);
    expect(bytes.byteLength).toBeGreaterThan(0);
    expect(bytes[0]).toBe(0x25);
  });

  it("reads a PDF whose xref offsets are wrong (pdf.js reconstructs it)", async () => {
    const good = new TextDecoder("latin1").decode(buildPdf([{ lines: ["Recovered text"] }]));
    const broken = good.replace(/startxref\n\d+/, "startxref\n999999").replace(/0000000\d{3} 00000 n/g, "0000000001 00000 n");
    const doc = await pdf(Uint8Array.from(broken, (c) => c.charCodeAt(0)));
    expect(doc.text).toContain("Recovered text");
  });

  it("refuses a password-protected PDF as encrypted", async () => {
    const err = await expectApiError(pdf(buildPdf([{ lines: ["Secret"] }], { encrypt: true })), "encrypted_document");
    expect(err.status).toBe(422);
  });

  it("refuses a PDF without any text, mentioning that OCR is not supported", async () => {
    const err = await expectApiError(pdf(buildPdf([{ lines: [] }, { lines: [] }])), "empty_document");
    expect(err.message).toMatch(/OCR/);
  });

  it("refuses garbage and truncated PDFs as corrupt", async () => {
    await expectApiError(pdf(concat(utf8("%PDF-1.7\n"), new Uint8Array(200).fill(0x41))), "corrupt_document");
    const whole = buildPdf([{ lines: ["Hello"] }]);
    await expectApiError(pdf(whole.subarray(0, 40)), "corrupt_document");
  });

  it("stops at maxChars with 413", async () => {
    const bytes = buildPdf([{ lines: ["x".repeat(60)] }, { lines: ["y".repeat(60)] }]);
    const err = await expectApiError(pdf(bytes, 100), "document_too_large");
    expect(err.status).toBe(413);
  });

  it("finishes a self-referencing form XObject, bounded by the cap", async () => {
    const bytes = buildPdf([{ lines: ["Start"] }], { recursiveForm: true });
    const doc = await pdf(bytes, 10_000).catch((err: unknown) => err);
    if (doc instanceof Error) {
      expect((doc as { code?: string }).code).toBe("document_too_large");
    } else {
      expect((doc as { text: string }).text.length).toBeLessThanOrEqual(10_000);
      expect((doc as { text: string }).text).toContain("Start");
    }
  });
});
