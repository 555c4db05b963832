/**
 * The real test corpus (../shared/fixtures/documents), read in place through the SHARED_FILES
 * service binding (workerd has no filesystem; a Node-side function serves
 * `GET /<path relative to the shared root>`, 404 when missing, 503 when the root is absent).
 * Shared by the extraction suite and the ingestion suite; never copied into the repo.
 */
import { env } from "cloudflare:workers";
import type { ErrorCode } from "../src/http/errors";

export const ROOT = "fixtures/documents";
export const SKIP_MESSAGE = "../shared not found: real-corpus suite skipped";

export interface Truth {
  must_include?: string[];
  must_not_include?: string[];
  ends_with?: string;
  observed_pages?: number;
  expected_text_file?: string;
  observed_pdfjs?: string;
  note?: string;
}

const shared = (env as unknown as { SHARED_FILES?: Fetcher }).SHARED_FILES;

export async function fetchShared(path: string): Promise<Response | null> {
  if (!shared) return null;
  try {
    return await shared.fetch(`https://shared/${encodeURI(path)}`);
  } catch {
    return null;
  }
}

/** A shared file that must exist (the manifest said so). */
async function bytesResponse(path: string): Promise<Response> {
  const res = await fetchShared(path);
  if (!res?.ok) throw new Error(`SHARED_FILES could not serve ${path} (status ${res?.status})`);
  return res;
}

export async function bytesOf(file: string): Promise<Uint8Array> {
  return new Uint8Array(await (await bytesResponse(`${ROOT}/${file}`)).arrayBuffer());
}

const manifestResponse = await fetchShared(`${ROOT}/MANIFEST.tsv`);
export const available = manifestResponse?.ok === true;
export const files = manifestResponse?.ok
  ? (await manifestResponse.text())
      .split("\n")
      .slice(1)
      .filter((line) => line.trim())
      .map((line) => line.split("\t")[0])
  : [];
export const truth: Record<string, Truth> = available ? await (await bytesResponse(`${ROOT}/ground_truth.json`)).json() : {};
if (!available) {
  // CI (REQUIRE_CORPUS=1) must never pass having skipped the real corpus.
  if (env.REQUIRE_CORPUS === "1") {
    throw new Error("REQUIRE_CORPUS=1 but ../shared/fixtures/documents could not be read");
  }
  console.warn(SKIP_MESSAGE);
}

export const squash = (s: string) => s.normalize("NFKC").replace(/\s+/g, "");
export const oneSpace = (s: string) => s.normalize("NFKC").replace(/\s+/g, " ").trim();

/** Sidecars describe another file (PDF sources and expected texts, readability metadata). */
export const isSidecar = (f: string) => f.endsWith(".json") || f.endsWith(".tex") || (f.startsWith("pdf/") && f.endsWith(".txt"));

export type BadExpectation = { code: ErrorCode; why: string } | { ok: string[]; why: string; pages?: number };

/** Every file under bad/ and its outcome. Successes also honour ground_truth must_include. */
export const BAD: Record<string, BadExpectation> = {
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

export const valid = files.filter((f) => /^(pdf|docx|html|markdown|text)\//.test(f) && !isSidecar(f));
export const bad = files.filter((f) => f.startsWith("bad/"));
