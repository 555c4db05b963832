import { describe, expect, it } from "vitest";
import { detectKind } from "../../src/ingest/extract";
import { buildOle2, buildPdf, buildZip, concat, docxParts, expectApiError, utf16, utf8 } from "./builders";

const text = utf8("Just some words.\n");

describe("detectKind: magic bytes first", () => {
  it("finds a PDF whatever its name or type, even after leading junk", () => {
    const pdf = buildPdf([{ lines: ["x"] }]);
    expect(detectKind(pdf, "notes.txt", "text/plain")).toBe("pdf");
    expect(detectKind(concat(utf8("junk\n"), pdf), "upload.bin")).toBe("pdf");
  });

  it("classifies zip packages by their entries", async () => {
    const docx = await buildZip(docxParts("<w:p/>"));
    expect(detectKind(docx, "report.zip")).toBe("docx");
    const xlsx = await buildZip([
      { name: "[Content_Types].xml", data: "<Types/>" },
      { name: "xl/workbook.xml", data: "<workbook/>" },
    ]);
    expect((await expectApiError(() => detectKind(xlsx, "book.xlsx"), "unsupported_type")).message).toMatch(/Excel/);
    const pptx = await buildZip([{ name: "ppt/presentation.xml", data: "<p/>" }]);
    expect((await expectApiError(() => detectKind(pptx, "deck.docx"), "unsupported_type")).message).toMatch(/PowerPoint/);
    const other = await buildZip([{ name: "photo.jpg", data: "x" }]);
    await expectApiError(() => detectKind(other, "archive.zip"), "unsupported_type");
  });

  it("refuses an empty zip and a zip without its central directory as corrupt", async () => {
    const empty = new Uint8Array(22);
    empty.set([0x50, 0x4b, 0x05, 0x06]);
    await expectApiError(() => detectKind(empty, "empty.zip"), "corrupt_document");
    const docx = await buildZip(docxParts("<w:p/>"));
    await expectApiError(() => detectKind(docx.subarray(0, docx.length - 200), "cut.docx"), "corrupt_document");
  });

  it("reports an encrypted OOXML package (OLE2 with EncryptedPackage) as encrypted", async () => {
    await expectApiError(() => detectKind(buildOle2("EncryptedPackage"), "secret.docx"), "encrypted_document");
  });

  it("refuses a legacy .doc, suggesting .docx", async () => {
    const err = await expectApiError(() => detectKind(buildOle2("WordDocument"), "old.doc"), "unsupported_type");
    expect(err.message).toMatch(/\.docx/);
    expect(err.status).toBe(415);
    // Named .doc but not OLE2 (e.g. renamed text) still gets the same advice.
    expect((await expectApiError(() => detectKind(text, "old.doc"), "unsupported_type")).message).toMatch(/\.docx/);
  });

  it("refuses images, random bytes and unknown binaries", async () => {
    await expectApiError(
      () => detectKind(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]), "a.png"),
      "unsupported_type",
    );
    let seed = 42;
    const random = Uint8Array.from({ length: 1024 }, () => {
      seed = (seed * 1103515245 + 12345) >>> 0; // a fixed LCG: "random" but reproducible
      return seed >>> 24;
    });
    await expectApiError(() => detectKind(random, "random.bin"), "unsupported_type");
    await expectApiError(() => detectKind(random, "looks-like.txt"), "unsupported_type");
  });

  it("refuses an empty file", async () => {
    const err = await expectApiError(() => detectKind(new Uint8Array(0), "empty.txt"), "empty_document");
    expect(err.status).toBe(422);
  });

  it("calls a .pdf or .docx without its signature corrupt", async () => {
    await expectApiError(() => detectKind(text, "report.pdf"), "corrupt_document");
    await expectApiError(() => detectKind(text, "upload", "application/pdf"), "corrupt_document");
  });
});

describe("detectKind: name, type, then sniffing", () => {
  it.each([
    ["a.md", null, "markdown"],
    ["a.markdown", null, "markdown"],
    ["a.HTM", null, "html"],
    ["a.csv", null, "csv"],
    ["a.tsv", null, "csv"],
    ["a.json", null, "json"],
    ["a.jsonl", null, "json"],
    ["a.txt", "text/html", "text"],
    ["upload", "text/markdown; charset=utf-8", "markdown"],
    ["upload", "text/csv", "csv"],
    ["upload", "application/json", "json"],
    ["upload", null, "text"],
  ] as const)("%s (%s) is %s", (name, type, kind) => {
    expect(detectKind(text, name, type)).toBe(kind);
  });

  it("sniffs HTML without a name", () => {
    expect(detectKind(utf8("\n<!DOCTYPE html><html><body>x</body></html>"), "upload")).toBe("html");
    expect(detectKind(utf8("<html lang=en><p>x"), "upload")).toBe("html");
  });

  it("keeps UTF-16 text (with or without BOM) as text, not binary", () => {
    expect(detectKind(utf16("Hello there, plain text.", true, false), "a.txt")).toBe("text");
    expect(detectKind(utf16("<html><body>Hi</body></html>", false, true), "upload")).toBe("html");
  });

  it("tolerates a stray NUL in otherwise normal text", () => {
    expect(detectKind(concat(utf8("a".repeat(2000)), new Uint8Array([0]), utf8("b".repeat(2000))), "a.txt")).toBe("text");
  });
});
