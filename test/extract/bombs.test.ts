import { describe, expect, it } from "vitest";
import { extract } from "../../src/ingest/extract";
import { EXTRACT_LIMITS } from "../../src/ingest/extract/limits";
import { readCentralDirectory, rebuildVerified, ZIP_LIMITS } from "../../src/ingest/extract/zip";
import { body, call, createCollection, master, recordingQueue, runQueue } from "../helpers";
import { buildZip, concat, deflatedRun, docxParts, expectApiError, para, pdfWithFlateStream } from "./builders";

function indexOf(b: Uint8Array, word: Uint8Array): number {
  for (let i = b.indexOf(word[0]); i !== -1; i = b.indexOf(word[0], i + 1)) if (word.every((c, j) => b[i + j] === c)) return i;
  return -1;
}

/**
 * Issue 17 item 2: parsers that cannot exhaust memory. The bombs are built here, as streams: a few
 * hundred MB of spaces deflate to a few hundred KB. The figures of memory held while refusing them
 * are measured by `npm run bench -- --only bombs` (bench/bombs.mjs), not asserted here.
 */

const MIB = 1024 * 1024;

/** A DOCX whose `_rels/.rels` names `word/body.xml` as the document: a part nobody else checks. */
async function docxNaming(part: { data: Uint8Array; declaredSize: number }): Promise<Uint8Array> {
  const parts = docxParts(para("decoy")).map((p) =>
    p.name === "_rels/.rels"
      ? {
          ...p,
          data: `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/body.bin"/></Relationships>`,
        }
      : p,
  );
  parts.push({ name: "word/body.bin", data: part.data, declaredSize: part.declaredSize, predeflated: true });
  return buildZip(parts);
}

describe("zip parts: every part any extractor may open is inflate-verified first", () => {
  it("a part named by _rels/.rels that declares 1 byte and inflates to 400 MiB: 422, no library ever sees it", async () => {
    const bomb = await deflatedRun(400 * MIB, "deflate-raw");
    expect(bomb.length).toBeLessThan(1 * MIB);
    const file = await docxNaming({ data: bomb, declaredSize: 1 });
    await expectApiError(extract(file, { name: "bomb.docx" }), "corrupt_document");
  });

  it("a part that declares just under the cap and inflates past it: 422 after at most its declared size", async () => {
    const bomb = await deflatedRun(200 * MIB, "deflate-raw");
    const file = await docxNaming({ data: bomb, declaredSize: ZIP_LIMITS.maxPartUncompressed - 1 });
    await expectApiError(extract(file, { name: "bomb.docx" }), "corrupt_document");
  });

  it("a part that honestly declares 400 MiB: 413 from the directory, before inflating anything", async () => {
    const bomb = await deflatedRun(400 * MIB, "deflate-raw");
    const file = await docxNaming({ data: bomb, declaredSize: 400 * MIB });
    await expectApiError(extract(file, { name: "bomb.docx" }), "document_too_large");
  });

  it("the archive mammoth receives holds only measured entries, with their measured sizes", async () => {
    const file = await buildZip(
      [...docxParts(para("Hello from a verified archive")), { name: "word/media/liar.bin", data: "x".repeat(1000), declaredSize: 5000 }],
      { deflate: true },
    );
    const { archive } = await rebuildVerified(file);
    const sizes = Object.fromEntries(readCentralDirectory(archive).map((e) => [e.name, e.size]));
    expect(sizes["word/media/liar.bin"]).toBe(1000); // declared 5000, measured 1000
    expect(Object.keys(sizes).sort()).toEqual(
      readCentralDirectory(file)
        .map((e) => e.name)
        .sort(),
    );
    const { text } = await extract(file, { name: "ok.docx" });
    expect(text).toContain("Hello from a verified archive");
  });

  it("two entries of one name are refused (which one a library opens is its choice)", async () => {
    const parts = docxParts(para("x"));
    parts.push({ name: "word/document.xml", data: "<x/>" });
    await expectApiError(extract(await buildZip(parts), { name: "dup.docx" }), "corrupt_document");
  });
});

describe("PDF streams: a byte budget before pdf.js", () => {
  it("a content stream with no text operator that inflates to 400 MiB: 413 document_too_large", async () => {
    const bomb = await deflatedRun(400 * MIB, "deflate");
    const err = await expectApiError(extract(pdfWithFlateStream(bomb), { name: "bomb.pdf" }), "document_too_large");
    expect(err.status).toBe(413);
  });

  it("many streams each under the per-stream bound, together over the total: 413", async () => {
    const per = EXTRACT_LIMITS.maxPdfStreamBytes - MIB;
    const piece = await deflatedRun(per, "deflate");
    const count = Math.ceil(EXTRACT_LIMITS.maxPdfDecodedBytes / per) + 1;
    // The same object repeated before the xref: a scan by keyword counts each copy, as pdf.js would
    // reconstructing a broken cross-reference table.
    const one = pdfWithFlateStream(piece);
    const find = (word: string) => indexOf(one, new TextEncoder().encode(word));
    const streamObj = one.subarray(find("6 0 obj"), find("xref"));
    const padded = concat(one.subarray(0, find("xref")), ...Array(count).fill(streamObj), one.subarray(find("xref")));
    await expectApiError(extract(padded, { name: "many.pdf" }), "document_too_large");
  });

  it("a PDF with a modest compressed stream still reads", async () => {
    const ok = pdfWithFlateStream(await deflatedRun(64 * 1024, "deflate"), "Readable text survives");
    const { text } = await extract(ok, { name: "ok.pdf" });
    expect(text).toContain("Readable text survives");
  });
});

describe("the queue isolates a heavy document", () => {
  it("a bomb and another collection's good document in one batch: the bomb fails alone, the good one is ready, both acked", async () => {
    const queue = recordingQueue();
    const over = { INGEST_QUEUE: queue.binding } as Partial<Env>;
    const good = await createCollection("tenant-good");
    const bad = await createCollection("tenant-bad");
    const bomb = await docxNaming({ data: await deflatedRun(400 * MIB, "deflate-raw"), declaredSize: 1 });
    const upload = async (col: string, name: string, bytes: Uint8Array) => {
      const form = new FormData();
      form.append("file", new File([bytes], name));
      const res = await call(`/v1/collections/${col}/documents`, { method: "POST", headers: master(), body: form }, over);
      expect(res.status).toBe(202);
      return (await body(res)).documents[0].id as string;
    };
    const badId = await upload(bad, "bomb.docx", bomb);
    const goodId = await upload(good, "good.txt", new TextEncoder().encode("Lighthouses guide ships along the coast at night."));
    expect(queue.pending).toBe(2);

    const result = await runQueue("docchat-ingest", [
      { id: "bomb", body: { type: "index", document_id: badId, generation: 1 } },
      { id: "good", body: { type: "index", document_id: goodId, generation: 1 } },
    ]);
    expect([...result.explicitAcks].sort()).toEqual(["bomb", "good"]);
    expect(result.retryMessages).toEqual([]);
    const doc = async (col: string, id: string) => body(await call(`/v1/collections/${col}/documents/${id}`, { headers: master() }));
    expect((await doc(good, goodId)).status).toBe("ready");
    const failed = await doc(bad, badId);
    expect(failed.status).toBe("failed");
    expect(failed.error.code).toBe("corrupt_document");
  });
});
