/**
 * Real corpus through the whole pipeline: every document of ../shared/fixtures/documents is uploaded
 * over HTTP, indexed by the queue consumer, and checked in what was stored: the ground-truth strings
 * must be found in the document's chunks; every bad/ file must end with its expected code and leave
 * no chunk, keyword row or vector behind (and nothing at all once deleted). Skips with a clear
 * message when ../shared is absent.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { available, BAD, bad, bytesOf, SKIP_MESSAGE, squash, truth, valid } from "./corpus";
import { body, call, createCollection, indexStub, type Json, master, storesFor, uploadFiles, waitForDocument } from "./helpers";

/** What extraction cannot reach (see test/extract/fixtures.test.ts for the reasons): the status they must end in. */
const LIMITED: Record<string, { status: "ready" | "failed"; code?: string; reason: string }> = {
  "pdf/pdfminer__issue-791-non-unicode-cmap.pdf": { status: "ready", reason: "pdf.js garbles this non-Unicode CMap" },
  "pdf/pdfsamples__habibi.pdf": { status: "ready", reason: "Arabic comes out reversed; Latin part only" },
  "pdf/pdfsamples__habibi-oneline-cmap.pdf": { status: "ready", reason: "Arabic comes out reversed; Latin part only" },
};

const vectorCount = async (collectionId: string) => (await indexStub(collectionId).stats()).vectors;

/** The document's text as stored in its collection's index: chunks laid back at their offsets (overlaps coincide). */
async function storedText(collectionId: string, documentId: string): Promise<string> {
  const rows = await runInDurableObject(indexStub(collectionId), (_o, state) =>
    state.storage.sql
      .exec<{ text: string; char_start: number }>("SELECT text, char_start FROM chunks WHERE document_id = ? ORDER BY ordinal", documentId)
      .toArray(),
  );
  let out = "";
  for (const r of rows) {
    if (r.char_start >= out.length) out += " ".repeat(r.char_start - out.length) + r.text;
    else out = out.slice(0, r.char_start) + r.text + out.slice(r.char_start + r.text.length);
  }
  return out;
}

async function upload(col: string, file: string): Promise<Response> {
  return uploadFiles(col, [{ name: file.split("/").pop() as string, bytes: await bytesOf(file) }]);
}

(available ? describe : describe.skip)(available ? "real corpus through the pipeline" : SKIP_MESSAGE, () => {
  it("every valid document is indexed and its ground-truth strings are in its stored chunks", { timeout: 240_000 }, async () => {
    const col = await createCollection("corpus");
    const accepted: { file: string; id: string }[] = [];
    for (const file of valid) {
      const res = await upload(col, file);
      const out = await body(res);
      expect(res.status, `${file}: ${JSON.stringify(out)}`).toBe(202);
      accepted.push({ file, id: out.documents[0].id });
    }
    let chunks = 0;
    for (const { file, id } of accepted) {
      const doc = await waitForDocument(col, id, master(), 120_000);
      const limited = LIMITED[file];
      if (limited) {
        expect(doc.status, `${file}: ${limited.reason}`).toBe(limited.status);
        if (limited.code) expect(doc.error.code).toBe(limited.code);
        continue;
      }
      expect(doc.status, `${file}: ${JSON.stringify(doc.error)}`).toBe("ready");
      const text = squash(await storedText(col, id));
      for (const s of truth[file]?.must_include ?? []) expect(text, `${file} must include ${s}`).toContain(squash(s));
      const endsWith = (truth[file] as Json | undefined)?.ends_with;
      if (endsWith) expect(text.endsWith(squash(endsWith))).toBe(true);
      chunks += doc.chunk_count;
    }
    expect(await vectorCount(col)).toBe(chunks);
  });

  it("every bad document gets its expected code and leaves nothing behind", { timeout: 240_000 }, async () => {
    const col = await createCollection("bad-corpus");
    for (const file of bad) {
      const expected = BAD[file];
      const res = await upload(col, file);
      const out = await body(res);
      if (res.status !== 202) {
        // Refused at upload: the right code, and nothing stored.
        expect("code" in expected, `${file} was refused (${res.status}) but should index`).toBe(true);
        if ("code" in expected) expect(out.error.code, file).toBe(expected.code);
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        continue;
      }
      const doc = await waitForDocument(col, out.documents[0].id, master(), 60_000);
      const r2Key = `collections/${col}/documents/${doc.id}/original`;
      if ("code" in expected) {
        expect(doc.status, file).toBe("failed");
        expect(doc.error.code, file).toBe(expected.code);
        const stores = await storesFor(col, doc.id, r2Key);
        expect(stores.chunks + stores.vectors, file).toBe(0);
      } else {
        expect(doc.status, `${file}: ${JSON.stringify(doc.error)}`).toBe("ready");
      }
      expect((await call(`/v1/collections/${col}/documents/${doc.id}`, { method: "DELETE", headers: master() })).status).toBe(200);
      expect(await storesFor(col, doc.id, r2Key)).toEqual({ row: 0, chunks: 0, vectors: 0, matches: 0, r2: false });
    }
    expect(await vectorCount(col)).toBe(0);
    const left = await env.DOCUMENTS.list({ prefix: `collections/${col}/` });
    expect(left.objects).toHaveLength(0);
  });

  it("CJK documents are found by Chinese, Japanese and Korean keyword queries (trigram index)", { timeout: 120_000 }, async () => {
    const col = await createCollection("cjk-corpus");
    const files = [
      "markdown/tldr__zh__tar.md",
      "markdown/tldr__ja__tar.md",
      "markdown/tldr__ko__tar.md",
      "markdown/tldr__en__tar.md",
      "html/readability__qq.html",
      "html/readability__hukumusume.html",
    ];
    const ids: Record<string, string> = {};
    for (const file of files) {
      const out = await body(await upload(col, file));
      ids[file] = out.documents[0].id;
    }
    for (const file of files) expect((await waitForDocument(col, ids[file], master(), 60_000)).status, file).toBe("ready");
    const cases: [string, string][] = [
      ["创建一个压缩文件", "markdown/tldr__zh__tar.md"],
      ["アーカイブを作成する", "markdown/tldr__ja__tar.md"],
      ["아카이브 생성", "markdown/tldr__ko__tar.md"],
      ["人工智能 记忆", "html/readability__qq.html"],
      ["欲張りなイヌ", "html/readability__hukumusume.html"],
    ];
    for (const [query, file] of cases) {
      for (const mode of ["keyword", "hybrid"]) {
        const res = await body(
          await call(`/v1/collections/${col}/search`, { method: "POST", headers: master(), json: { query, mode, top_k: 3 } }),
        );
        expect(res.results[0]?.document_id, `${mode} ${query} -> ${file}`).toBe(ids[file]);
      }
    }
  });
});
