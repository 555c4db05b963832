import { afterEach, describe, expect, it, vi } from "vitest";
import { extract } from "../../src/ingest/extract";
import { ZIP_LIMITS } from "../../src/ingest/extract/zip";
import { buildZip, docxParts, expectApiError, para, table } from "./builders";

const docx = (bytes: Uint8Array) => extract(bytes, { name: "report.docx" });

describe("DOCX", () => {
  afterEach(() => vi.restoreAllMocks());

  it("keeps headings as markdown lines, paragraphs, lists of cells, and the core title", async () => {
    const body = [
      para("Annual report", "Heading1"),
      para("Intro paragraph with &amp; ampersand."),
      para("Details", "Heading2"),
      table([
        ["Name", "Value"],
        ["alpha", "42"],
      ]),
      para("Closing words."),
    ].join("");
    const core = `<?xml version="1.0"?><cp:coreProperties xmlns:cp="x" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Report &amp; Co</dc:title></cp:coreProperties>`;
    for (const deflate of [false, true]) {
      const doc = await docx(await buildZip(docxParts(body, { "docProps/core.xml": core }), { deflate }));
      expect(doc.kind).toBe("docx");
      expect(doc.title).toBe("Report & Co");
      expect(doc.text).toBe(
        "# Annual report\n\nIntro paragraph with & ampersand.\n\n## Details\n\nName | Value\nalpha | 42\n\nClosing words.",
      );
    }
  });

  it("refuses a valid DOCX with an empty body", async () => {
    await expectApiError(docx(await buildZip(docxParts("<w:p/><w:p><w:r><w:t> </w:t></w:r></w:p>"))), "empty_document");
  });

  it("refuses XXE and entity bombs before parsing, without any outbound request", async () => {
    const fetchSpy = vi.spyOn(globalThis, "fetch");
    const xxe = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "http://example.invalid/">]><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${para("&e;")}</w:body></w:document>`;
    const parts = docxParts(para("x")).map((p) => (p.name === "word/document.xml" ? { ...p, data: xxe } : p));
    const err = await expectApiError(docx(await buildZip(parts, { deflate: true })), "corrupt_document");
    expect(err.message).toMatch(/security/);

    const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><w:styles xmlns:w="x">&lol2;</w:styles>`;
    const bombParts = docxParts(para("x")).map((p) => (p.name === "word/styles.xml" ? { ...p, data: bomb } : p));
    await expectApiError(docx(await buildZip(bombParts)), "corrupt_document");
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it("refuses zip bombs by the sizes in the central directory, before inflating anything", async () => {
    const parts = docxParts(para("x"));
    parts.push({ name: "word/media/huge.bin", data: "tiny", declaredSize: ZIP_LIMITS.maxTotalUncompressed });
    await expectApiError(docx(await buildZip(parts)), "document_too_large");
  });

  it("refuses a package with too many entries", async () => {
    const parts = docxParts(para("x"));
    for (let i = 0; i < ZIP_LIMITS.maxEntries; i++) parts.push({ name: `junk/${i}`, data: "" });
    await expectApiError(docx(await buildZip(parts)), "document_too_large");
  });

  it("refuses an entry that inflates beyond its declared size", async () => {
    const parts = docxParts(para("x")).map((p) => (p.name === "word/document.xml" ? { ...p, declaredSize: 20 } : p));
    await expectApiError(docx(await buildZip(parts, { deflate: true })), "corrupt_document");
  });

  it("refuses truncated, empty and body-less packages as corrupt", async () => {
    const whole = await buildZip(docxParts(para("Hello")));
    await expectApiError(docx(whole.subarray(0, whole.length - 30)), "corrupt_document");
    const noBody = await buildZip(
      docxParts(para("Hello"))
        .filter((p) => p.name !== "word/document.xml")
        .concat({ name: "word/other.xml", data: "<x/>" }),
    );
    await expectApiError(extract(noBody, { name: "x.docx" }), "unsupported_type");
  });

  it("maps a mammoth failure on broken XML to corrupt_document with a plain message", async () => {
    const parts = docxParts(para("x")).map((p) => (p.name === "word/document.xml" ? { ...p, data: "<w:document><w:body><w:p>" } : p));
    await expectApiError(docx(await buildZip(parts)), "corrupt_document");
  });
});
