/**
 * Real-corpus suite: every document under ../shared/fixtures/documents, read in place through the
 * SHARED_FILES service binding (workerd has no filesystem; a Node-side function serves
 * `GET /<path relative to the shared root>`, 404 when missing, 503 when the root is absent).
 * Expectations come from ground_truth.json; what pdf.js cannot do is listed in KNOWN_LIMITATIONS
 * with the reason and what still holds; every file under bad/ has its outcome in BAD.
 */
import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/http/errors";
import { type ExtractedDocument, extract } from "../../src/ingest/extract";
import { available, BAD, bad, bytesOf, fetchShared, ROOT, SKIP_MESSAGE, squash, oneSpace, truth, valid } from "../corpus";
import { expectCleanMessage } from "./builders";

type Outcome = { doc: ExtractedDocument; error?: undefined } | { doc?: undefined; error: ApiError };

async function run(file: string, maxChars?: number): Promise<Outcome> {
  try {
    return { doc: await extract(await bytesOf(file), { name: file.split("/").pop() as string, maxChars }) };
  } catch (err) {
    if (!(err instanceof ApiError)) throw err; // anything else is a bug: let it fail the test
    expectCleanMessage(err.message);
    return { error: err };
  }
}

const EXPECTED_KIND: Record<string, ExtractedDocument["kind"]> = {
  pdf: "pdf",
  docx: "docx",
  html: "html",
  markdown: "markdown",
  text: "text",
};

/** Encodings the decoder must recognise (from MANIFEST notes and ground_truth `encoding`). */
const EXPECTED_ENCODING: Record<string, string> = {
  "text/markitdown__test_mskanji.csv": "shift_jis",
  "markdown/unstructured__umlauts-non-utf8.md": "windows-1252",
  "html/unstructured__fake-html-cp1252.html": "windows-1252",
  "html/unstructured__example-steelJIS-datasheet-utf-16.html": "utf-16le",
  "text/unstructured__fake-text-utf-16.txt": "utf-16le",
  "text/unstructured__fake-text-utf-16-le.txt": "utf-16le",
  "text/unstructured__fake-text-utf-16-be.txt": "utf-16be",
  "text/unstructured__fake-text-utf-32.txt": "utf-32le",
  "text/unstructured__UDHR_first_article_all.txt": "utf-8",
};

/** What extraction cannot reach, why, and what is asserted instead. */
const KNOWN_LIMITATIONS: Record<string, { reason: string; check: (o: Outcome) => void }> = {
  "pdf/pdfminer__issue-791-non-unicode-cmap.pdf": {
    reason: "pdf.js maps this non-Unicode CMap to the wrong code points ('3HQČåQt…'), so the Czech phrase is garbled",
    check: (o) => {
      expect(o.doc?.kind).toBe("pdf");
      expect(o.doc?.text.length).toBeGreaterThan(0);
      expect(o.doc?.pages).toHaveLength(1);
    },
  },
  "pdf/pdfsamples__habibi.pdf": {
    reason: "pdf.js gives the Arabic word in visual (reversed) order plus junk glyphs; only the Latin part is asserted",
    check: (o) => expect(o.doc?.text).toContain("habibi"),
  },
  "pdf/pdfsamples__habibi-oneline-cmap.pdf": {
    reason: "same as habibi.pdf (ToUnicode on one line): Arabic reversed, Latin part asserted",
    check: (o) => expect(o.doc?.text).toContain("habibi"),
  },
};

(available ? describe : describe.skip)(available ? "real corpus (../shared/fixtures/documents)" : SKIP_MESSAGE, () => {
  it("has the expected files and an outcome for every bad/ file", () => {
    expect(valid.length).toBeGreaterThanOrEqual(60);
    expect(bad.sort()).toEqual(Object.keys(BAD).sort());
    for (const f of Object.keys(KNOWN_LIMITATIONS)) expect(valid).toContain(f);
  });

  describe("valid documents", () => {
    it.each(valid)("%s", async (file) => {
      const gt = truth[file] ?? {};
      const outcome = await run(file);
      const limitation = KNOWN_LIMITATIONS[file];
      if (limitation) {
        limitation.check(outcome);
        return;
      }
      expect(outcome.error, outcome.error && `${outcome.error.code}: ${outcome.error.message}`).toBeUndefined();
      const doc = outcome.doc as ExtractedDocument;
      const dir = file.split("/")[0];
      expect(doc.kind).toBe(file.endsWith(".csv") ? "csv" : EXPECTED_KIND[dir]);
      expect(doc.text.trim().length).toBeGreaterThan(0);
      expect(doc.text).not.toContain("\u0000");
      expect(doc.text).toBe(doc.text.normalize("NFC"));
      if (EXPECTED_ENCODING[file]) expect(doc.encoding).toBe(EXPECTED_ENCODING[file]);

      // CJK PDFs put spaces between runs: compare without whitespace where ground truth says so.
      const ignoreSpaces = /remov\w* whitespace/i.test(`${gt.observed_pdfjs ?? ""} ${gt.note ?? ""}`);
      for (const s of gt.must_include ?? []) {
        if (ignoreSpaces) expect(squash(doc.text)).toContain(squash(s));
        else expect(oneSpace(doc.text)).toContain(oneSpace(s));
      }
      for (const s of gt.must_not_include ?? []) expect(doc.text).not.toContain(s);
      if (gt.ends_with) expect(doc.text.endsWith(gt.ends_with)).toBe(true);

      if (doc.kind === "pdf") {
        const pages = doc.pages ?? [];
        if (gt.observed_pages) expect(pages).toHaveLength(gt.observed_pages);
        expect(pages[0]).toEqual({ page: 1, start: 0 });
        pages.forEach((p, i) => {
          expect(p.page).toBe(i + 1);
          expect(p.start).toBeLessThanOrEqual(doc.text.length);
          if (i > 0) expect(p.start).toBeGreaterThanOrEqual(pages[i - 1].start);
        });
      }
      if (gt.expected_text_file) {
        const expected = new TextDecoder().decode(await bytesOf(gt.expected_text_file));
        for (const line of expected.split("\n").filter((l) => l.trim())) expect(oneSpace(doc.text)).toContain(oneSpace(line));
      }
      if (file.startsWith("html/readability__")) {
        const meta = await fetchShared(`${ROOT}/${file.replace(/\.html$/, ".expected-metadata.json")}`);
        if (meta?.ok) {
          const { title, excerpt } = (await meta.json()) as { title?: string; excerpt?: string };
          if (title) expect(oneSpace(doc.title ?? "")).toContain(oneSpace(title));
          // Readability's excerpt is body text unless the page has a meta description (lemonde-1).
          const source = new TextDecoder().decode(await bytesOf(file));
          const fromMeta =
            excerpt && new RegExp(`<meta[^>]+content="${excerpt.slice(0, 30).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`).test(source);
          if (excerpt && !fromMeta) expect(squash(doc.text)).toContain(squash(excerpt.replace(/…$/, "")).slice(0, 60));
        }
      }
    });
  });

  describe("bad documents", () => {
    it.each(bad)("%s", async (file) => {
      const expected = BAD[file];
      const outcome = await run(file);
      if ("code" in expected) {
        expect(outcome.doc, `expected ${expected.code} (${expected.why})`).toBeUndefined();
        expect(outcome.error?.code, expected.why).toBe(expected.code);
        return;
      }
      expect(outcome.error, outcome.error && `${outcome.error.code}: ${outcome.error.message} (${expected.why})`).toBeUndefined();
      const doc = outcome.doc as ExtractedDocument;
      for (const s of [...expected.ok, ...(truth[file]?.must_include ?? [])]) expect(oneSpace(doc.text)).toContain(oneSpace(s));
      if (expected.pages) expect(doc.pages).toHaveLength(expected.pages);
    });

    it("bounds the recursive-XObject PDF by the text cap", { timeout: 20_000 }, async () => {
      for (const maxChars of [1_000, 20]) {
        const outcome = await run("bad/pdfminer__issue-1113-evil-xobjects.pdf", maxChars);
        if (outcome.error) expect(outcome.error.code).toBe("document_too_large");
        else expect(outcome.doc.text.length).toBeLessThanOrEqual(maxChars);
      }
    });
  });
});
