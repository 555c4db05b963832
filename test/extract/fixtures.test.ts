/**
 * Real-corpus suite: every document under ../shared/fixtures/documents, read in place through the
 * SHARED_FILES service binding (workerd has no filesystem; a Node-side function serves
 * `GET /<path relative to the shared root>`, 404 when missing, 503 when the root is absent).
 * Expectations come from ground_truth.json; what pdf.js cannot do is listed in KNOWN_LIMITATIONS
 * with the reason and what still holds; every file under bad/ has its outcome in BAD.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ApiError, type ErrorCode } from "../../src/http/errors";
import { type ExtractedDocument, extract } from "../../src/ingest/extract";
import { expectCleanMessage } from "./builders";

const ROOT = "fixtures/documents";
const SKIP_MESSAGE = "../shared not found: real-corpus suite skipped";

interface Truth {
  must_include?: string[];
  must_not_include?: string[];
  ends_with?: string;
  observed_pages?: number;
  expected_text_file?: string;
  observed_pdfjs?: string;
  note?: string;
}

const shared = (env as unknown as { SHARED_FILES?: Fetcher }).SHARED_FILES;

async function fetchShared(path: string): Promise<Response | null> {
  if (!shared) return null;
  try {
    return await shared.fetch(`https://shared/${encodeURI(path)}`);
  } catch {
    return null;
  }
}

async function bytesOf(file: string): Promise<Uint8Array> {
  const res = await fetchShared(`${ROOT}/${file}`);
  if (!res?.ok) throw new Error(`SHARED_FILES could not serve ${file} (status ${res?.status})`);
  return new Uint8Array(await res.arrayBuffer());
}

const manifestResponse = await fetchShared(`${ROOT}/MANIFEST.tsv`);
const available = manifestResponse?.ok === true;
const files = available
  ? (await manifestResponse.text())
      .split("\n")
      .slice(1)
      .filter((line) => line.trim())
      .map((line) => line.split("\t")[0])
  : [];
const truth: Record<string, Truth> = available ? await (await fetchShared(`${ROOT}/ground_truth.json`))!.json() : {};
if (!available) console.warn(SKIP_MESSAGE);

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

const squash = (s: string) => s.normalize("NFKC").replace(/\s+/g, "");
const oneSpace = (s: string) => s.normalize("NFKC").replace(/\s+/g, " ").trim();

/** Sidecars describe another file (PDF sources and expected texts, readability metadata). */
const isSidecar = (f: string) => f.endsWith(".json") || f.endsWith(".tex") || (f.startsWith("pdf/") && f.endsWith(".txt"));

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
  "pdf/pdfminer__jo.pdf": {
    reason: "CID font without ToUnicode: pdf.js extracts no text at all",
    check: (o) => {
      expect(o.error?.code).toBe("empty_document");
      expect(o.error?.message).toMatch(/OCR/);
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

type BadExpectation = { code: ErrorCode; why: string } | { ok: string[]; why: string; pages?: number };

/** Every file under bad/ and its outcome. Successes also honour ground_truth must_include. */
const BAD: Record<string, BadExpectation> = {
  "bad/pdfminer__zen_of_python_corrupted.pdf": { ok: ["Beautiful is better than ugly."], why: "broken stream; pdf.js recovers the text" },
  "bad/pdfminer__issue-1113-evil-xobjects.pdf": {
    ok: ["Hello world"],
    why: "recursive form XObjects; pdf.js bounds the recursion (also checked under a small cap)",
  },
  "bad/pdfjs__helloworld-bad.pdf": { ok: [], why: "wrong xref offsets; pdf.js reconstructs them" },
  "bad/pdfminer__encryption-rc4-40.pdf": { code: "encrypted_document", why: "user password 'baz'" },
  "bad/pdfminer__encryption-aes-256.pdf": { code: "encrypted_document", why: "user password 'baz'" },
  "bad/pypdf__r6-user-password.pdf": { code: "encrypted_document", why: "user password 'asdfzxcv'" },
  "bad/pdfsamples__libreoffice-writer-password.pdf": { code: "encrypted_document", why: "user password 'openpassword'" },
  "bad/unstructured__password.pdf": { code: "encrypted_document", why: "user password 'password'" },
  "bad/pdfjs__issue6010_2.pdf": { code: "encrypted_document", why: "UTF-8 user password 'æøå'" },
  "bad/pypdf__r2-empty-password.pdf": { ok: [], why: "encrypted with the empty user password: pdf.js opens it without asking" },
  "bad/unstructured__copy-protected.pdf": {
    ok: ["LayoutParser"],
    pages: 2,
    why: "owner password only (permissions): opens without a password",
  },
  "bad/poi__truncated62886.docx": { code: "corrupt_document", why: "zip cut short: no central directory" },
  "bad/poi__bug53475-password-is-pass.docx": { code: "encrypted_document", why: "OLE2 container with an EncryptedPackage stream" },
  "bad/poi__ExternalEntityInText.docx": {
    code: "corrupt_document",
    why: "document.xml declares a DOCTYPE with an external entity: refused before parsing",
  },
  "bad/poi__poc-xmlbomb.xlsx": {
    code: "unsupported_type",
    why: "spreadsheet (with an entity bomb): refused by type before any XML is read",
  },
  "bad/poi__54764.xlsx": { code: "unsupported_type", why: "spreadsheet (billion laughs): refused by type" },
  "bad/mammoth__empty.docx": { code: "empty_document", why: "valid DOCX with an empty body" },
  "bad/mammoth__empty.zip": { code: "corrupt_document", why: "22-byte zip with no entries" },
  "bad/unstructured__empty.txt": { code: "empty_document", why: "0 bytes" },
  "bad/unstructured__fake-text-all-whitespace.txt": { code: "empty_document", why: "whitespace only" },
  "bad/unstructured__fake-power-point-malformed.pptx": { code: "unsupported_type", why: "PowerPoint package" },
  "bad/markitdown__random.bin": { code: "unsupported_type", why: "random bytes" },
  "bad/kuhn__UTF-8-test.txt": { ok: ["κόσμε", "\uFFFD"], why: "mostly valid UTF-8: malformed sequences become U+FFFD" },
};

const valid = files.filter((f) => /^(pdf|docx|html|markdown|text)\//.test(f) && !isSidecar(f));
const bad = files.filter((f) => f.startsWith("bad/"));

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
