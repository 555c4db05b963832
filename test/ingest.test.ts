import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { indexDocument } from "../src/ingest/pipeline";
import type { IngestMessage } from "../src/ingest/queue";
import {
  body,
  call,
  cloudflareProviders,
  createCollection,
  indexStub,
  type Json,
  master,
  runQueue,
  storesFor,
  tempKey,
  uniqueToken,
  uploadFiles,
  uploadTexts,
  waitForDocument,
} from "./helpers";

const localIndex = indexStub;
const r2KeyOf = (col: string, id: string) => `collections/${col}/documents/${id}/original`;

const HANDBOOK = [
  "# Office handbook",
  "",
  "## Opening hours",
  "",
  "The office opens at 9am and closes at 5pm on weekdays. On public holidays the office stays closed.",
  "",
  "## Expenses",
  "",
  "Travel expenses are reimbursed within 30 days when the receipt is attached to the claim.",
].join("\n");

describe("upload and index through the queue", () => {
  it("JSON records become ready, with chunks, keyword rows, vectors and the original in R2", async () => {
    const col = await createCollection();
    const token = uniqueToken();
    const text = `${HANDBOOK}\n\nInternal code ${token}.`;
    const up = await uploadTexts(col, [{ name: "handbook.md", text, metadata: { team: "ops" } }]);
    expect(up.documents).toHaveLength(1);
    expect(up.documents[0]).toMatchObject({ status: "queued", duplicate: false, name: "handbook.md", metadata: { team: "ops" } });
    const doc = await waitForDocument(col, up.documents[0].id);
    expect(doc.status).toBe("ready");
    expect(doc.chunk_count).toBeGreaterThan(0);

    const r2Key = `collections/${col}/documents/${doc.id}/original`;
    const stores = await storesFor(col, doc.id, r2Key, token);
    expect(stores).toEqual({ row: 1, chunks: doc.chunk_count, vectors: doc.chunk_count, matches: 1, r2: true });
    expect((await localIndex(col).stats()).vectors).toBe(doc.chunk_count);
    const got = await body(await call(`/v1/collections/${col}`, { headers: master() }));
    expect(got.index).toMatchObject({ chunks: doc.chunk_count, vectors: doc.chunk_count });
    expect(got.index.storage_bytes).toBeGreaterThan(0);

    const search = await body(
      await call(`/v1/collections/${col}/search`, { method: "POST", headers: master(), json: { query: "opening hours", top_k: 1 } }),
    );
    expect(search.results[0].heading).toBeTruthy();
    const download = await call(`/v1/collections/${col}/documents/${doc.id}/content`, { headers: master() });
    expect(download.status).toBe(200);
    expect(await download.text()).toBe(text);
    expect(download.headers.get("Content-Disposition")).toContain("attachment");
  });

  it("multipart: one bad file does not stop the others; each gets its own code", async () => {
    const col = await createCollection();
    const res = await uploadFiles(col, [
      { name: "notes.txt", bytes: "Plain notes about the quarterly budget review.", type: "text/plain" },
      { name: "legacy.doc", bytes: new Uint8Array([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, ...new Array(600).fill(0)]) },
      { name: "empty.txt", bytes: "   \n\t  " },
      { name: "random.bin", bytes: crypto.getRandomValues(new Uint8Array(1024)) },
    ]);
    expect(res.status).toBe(202);
    const out = await body(res);
    expect(out.documents.map((d: { name: string }) => d.name)).toEqual(
      ["notes.txt", "empty.txt"].filter((n) => out.documents.some((d: { name: string }) => d.name === n)),
    );
    const codes = Object.fromEntries(out.errors.map((e: { name: string; error: { code: string } }) => [e.name, e.error.code]));
    expect(codes["legacy.doc"]).toBe("unsupported_type");
    expect(codes["random.bin"]).toBe("unsupported_type");
    const notes = out.documents.find((d: { name: string }) => d.name === "notes.txt");
    expect((await waitForDocument(col, notes.id)).status).toBe("ready");
    // Whitespace-only text is refused either at upload or while indexing, never indexed.
    const empty = out.documents.find((d: { name: string }) => d.name === "empty.txt");
    if (empty) {
      const failed = await waitForDocument(col, empty.id);
      expect(failed.status).toBe("failed");
      expect(failed.error.code).toBe("empty_document");
      expect((await storesFor(col, empty.id, r2KeyOf(col, empty.id))).chunks).toBe(0);
    } else {
      expect(codes["empty.txt"]).toBe("empty_document");
    }
  });

  it("a single rejected file answers its own status and code", async () => {
    const col = await createCollection();
    const res = await uploadFiles(col, [
      { name: "report.doc", bytes: new Uint8Array([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, ...new Array(600).fill(0)]) },
    ]);
    expect(res.status).toBe(415);
    const err = (await body(res)).error;
    expect(err.code).toBe("unsupported_type");
    expect(err.message).toMatch(/docx/i);
  });

  it("the same bytes twice are a duplicate, not a second document", async () => {
    const col = await createCollection();
    const a = await uploadTexts(col, [{ name: "a.txt", text: "Duplicate detection by SHA-256 within a collection." }]);
    const b = await uploadTexts(col, [{ name: "a.txt", text: "Duplicate detection by SHA-256 within a collection." }]);
    expect(b.documents[0].id).toBe(a.documents[0].id);
    expect(b.documents[0].duplicate).toBe(true);
  });

  it("a key writes only to its own collection, and needs the write scope", async () => {
    const mine = await createCollection();
    const other = await createCollection();
    const key = await tempKey(mine);
    const headers = { "X-API-Key": key.temp_api_key };
    const res = await call(`/v1/collections/${other}/documents`, {
      method: "POST",
      headers,
      json: { documents: [{ name: "x", text: "y" }] },
    });
    expect(res.status).toBe(404);
    const readOnly = await tempKey(mine, { scopes: ["read"] });
    const denied = await call(`/v1/collections/${mine}/documents`, {
      method: "POST",
      headers: { "X-API-Key": readOnly.temp_api_key },
      json: { documents: [{ name: "x", text: "y" }] },
    });
    expect(denied.status).toBe(403);
    expect((await body(denied)).error.code).toBe("forbidden");
  });

  it("lists documents with pagination and status counts", async () => {
    const col = await createCollection();
    const up = await uploadTexts(
      col,
      Array.from({ length: 5 }, (_, i) => ({ name: `doc-${i}.txt`, text: `Document number ${i} talks about topic ${i * 7}.` })),
    );
    for (const d of up.documents) await waitForDocument(col, d.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await call(`/v1/collections/${col}/documents?limit=2${cursor ? `&cursor=${cursor}` : ""}`, { headers: master() });
      const page = await body(res);
      expect(page.documents.length).toBeLessThanOrEqual(2);
      expect(page.counts.ready).toBe(5);
      seen.push(...page.documents.map((d: { id: string }) => d.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(5);
  });
});

describe("queue semantics", () => {
  it("a redelivered message does not duplicate anything", async () => {
    const col = await createCollection();
    const up = await uploadTexts(col, [{ name: "redeliver.md", text: HANDBOOK.repeat(3) }]);
    const doc = await waitForDocument(col, up.documents[0].id);
    const before = await storesFor(col, doc.id, r2KeyOf(col, doc.id));
    const vectorsBefore = (await localIndex(col).stats()).vectors;

    const message: IngestMessage = { type: "index", document_id: doc.id, generation: 1 };
    for (let i = 0; i < 2; i++) {
      const result = await runQueue("docchat-ingest", [{ id: `m${i}`, attempts: i + 1, body: message }]);
      expect(result.explicitAcks).toEqual([`m${i}`]);
    }
    expect(await storesFor(col, doc.id, r2KeyOf(col, doc.id))).toEqual(before);
    expect((await localIndex(col).stats()).vectors).toBe(vectorsBefore);
  });

  it("re-index replaces chunks in place; a stale message for the old generation is dropped", async () => {
    const col = await createCollection();
    const up = await uploadTexts(col, [{ name: "r.md", text: HANDBOOK }]);
    const doc = await waitForDocument(col, up.documents[0].id);
    const res = await call(`/v1/collections/${col}/documents/${doc.id}/reindex`, { method: "POST", headers: master() });
    expect(res.status).toBe(202);
    const again = await waitForDocument(col, doc.id);
    expect(again.status).toBe("ready");
    expect(again.chunk_count).toBe(doc.chunk_count);
    expect((await localIndex(col).stats()).vectors).toBe(doc.chunk_count);
    expect((await localIndex(col).stats()).chunks).toBe(doc.chunk_count);
    expect((await indexDocument(env, doc.id, 1)).status).toBe("stale");
  });

  it("the sweeper re-queues a document whose message was lost, and it gets indexed", async () => {
    const col = await createCollection();
    const up = await uploadTexts(col, [{ name: "lost.txt", text: "A document whose queue message went missing." }]);
    const doc = await waitForDocument(col, up.documents[0].id);
    // Simulate the loss: back to `queued` long ago, chunks gone, no message in flight.
    await localIndex(col).remove(doc.id, 1);
    await env.DB.prepare("UPDATE documents SET status = 'queued', chunk_count = 0, updated_at = ? WHERE id = ?").bind(1, doc.id).run();
    const { requeueStuckDocuments } = await import("../src/ingest/sweeper");
    expect(await requeueStuckDocuments(env)).toBeGreaterThanOrEqual(1);
    const again = await waitForDocument(col, doc.id);
    expect(again.status).toBe("ready");
    expect(again.chunk_count).toBeGreaterThan(0);
    // A fresh document is left alone.
    const fresh = await uploadTexts(col, [{ name: "fresh.txt", text: "Just uploaded and still fine." }]);
    await waitForDocument(col, fresh.documents[0].id);
    const row = await env.DB.prepare("SELECT generation FROM documents WHERE id = ?")
      .bind(fresh.documents[0].id)
      .first<{ generation: number }>();
    await requeueStuckDocuments(env);
    const after = await env.DB.prepare("SELECT generation FROM documents WHERE id = ?")
      .bind(fresh.documents[0].id)
      .first<{ generation: number }>();
    expect(after?.generation).toBe(row?.generation);
  });

  it("the dead-letter consumer marks the document failed and removes every chunk and vector it wrote", async () => {
    const col = await createCollection();
    const up = await uploadTexts(col, [{ name: "dlq.txt", text: "Some text for the dead-letter test." }]);
    const doc = await waitForDocument(col, up.documents[0].id);
    await env.DB.prepare("UPDATE documents SET status = 'processing' WHERE id = ?").bind(doc.id).run();
    const result = await runQueue("docchat-ingest-dlq", [{ id: "d1", body: { type: "index", document_id: doc.id, generation: 1 } }]);
    expect(result.explicitAcks).toEqual(["d1"]);
    const after = await waitForDocument(col, doc.id);
    expect(after.status).toBe("failed");
    expect(after.error.code).toBe("internal_error");
    expect(await storesFor(col, doc.id, r2KeyOf(col, doc.id))).toMatchObject({ row: 1, chunks: 0, vectors: 0 });
  });

  it("a crashing document never fails another collection's document in the same batch", async () => {
    const good = await createCollection();
    const bad = await createCollection();
    const upGood = await uploadTexts(good, [{ name: "good.txt", text: "A perfectly fine document about lighthouses." }]);
    const upBad = await uploadTexts(bad, [{ name: "bad.txt", text: "This one will lose its original." }]);
    const goodDoc = await waitForDocument(good, upGood.documents[0].id);
    const badDoc = await waitForDocument(bad, upBad.documents[0].id);
    // Both back to `queued` at a new generation; the bad one's original vanishes (a crash while reading R2).
    const requeue = async (id: string) => {
      const row = await env.DB.prepare(
        "UPDATE documents SET status = 'queued', generation = generation + 1 WHERE id = ? RETURNING generation",
      )
        .bind(id)
        .first<{ generation: number }>();
      if (!row) throw new Error(`document ${id} vanished`);
      return row.generation;
    };
    const g1 = await requeue(goodDoc.id);
    const g2 = await requeue(badDoc.id);
    const original = env.DOCUMENTS.get;
    const r2 = env.DOCUMENTS as { get: (key: string) => Promise<unknown> };
    r2.get = async (key: string) => {
      if (key.includes(badDoc.id)) throw new Error("simulated crash while reading");
      return original.call(env.DOCUMENTS, key);
    };
    let result: Awaited<ReturnType<typeof runQueue>>;
    try {
      result = await runQueue("docchat-ingest", [
        { id: "bad", body: { type: "index", document_id: badDoc.id, generation: g2 } },
        { id: "good", body: { type: "index", document_id: goodDoc.id, generation: g1 } },
      ]);
    } finally {
      r2.get = original;
    }
    expect(result.explicitAcks).toEqual(["good"]);
    expect(result.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(["bad"]);
    expect((await waitForDocument(good, goodDoc.id)).status).toBe("ready");
    // While retries remain the crashing document stays queued, keeping its last error.
    const row = await env.DB.prepare("SELECT status, error_code FROM documents WHERE id = ?").bind(badDoc.id).first<Json>();
    expect(row).toMatchObject({ status: "queued", error_code: "internal_error" });
  });
});

describe("delete and failure leave nothing behind", () => {
  it("delete removes the R2 object, chunks, keyword rows, vectors and the row", async () => {
    const col = await createCollection();
    const token = uniqueToken();
    const up = await uploadTexts(col, [{ name: "gone.md", text: `${HANDBOOK}\n\nReference ${token}.` }]);
    const doc = await waitForDocument(col, up.documents[0].id);
    const r2Key = `collections/${col}/documents/${doc.id}/original`;
    expect((await storesFor(col, doc.id, r2Key, token)).matches).toBe(1);
    const res = await call(`/v1/collections/${col}/documents/${doc.id}`, { method: "DELETE", headers: master() });
    expect(res.status).toBe(200);
    expect(await storesFor(col, doc.id, r2Key, token)).toEqual({ row: 0, chunks: 0, vectors: 0, matches: 0, r2: false });
    expect((await localIndex(col).stats()).vectors).toBe(0);
    // A late commit of the deleted document (a message still in flight) is refused by the tombstone.
    const late = await localIndex(col).write({
      document: { id: doc.id, generation: 1, name: "gone.md", metadata: "{}" },
      chunks: [{ ordinal: 0, text: "resurrected", start: 0, end: 11, page: null, heading: null, tokens: 2 }],
      commit: { chunkCount: 1 },
    });
    expect(late.status).toBe("stale");
    expect((await call(`/v1/collections/${col}/documents/${doc.id}`, { headers: master() })).status).toBe(404);
  });

  it("deleting a collection removes all its documents from every store", async () => {
    const col = await createCollection();
    const up = await uploadTexts(col, [
      { name: "1.txt", text: "First document of the doomed collection." },
      { name: "2.txt", text: "Second document of the doomed collection." },
    ]);
    for (const d of up.documents) await waitForDocument(col, d.id);
    const res = await call(`/v1/collections/${col}`, { method: "DELETE", headers: master() });
    expect(res.status).toBe(202);
    expect(await body(res)).toMatchObject({ status: "deleting", documents: 2 });
    // Gone for readers at once, while the queue removes it page by page.
    expect((await call(`/v1/collections/${col}`, { headers: master() })).status).toBe(404);
    expect((await call(`/v1/collections/${col}/search`, { method: "POST", headers: master(), json: { query: "doomed" } })).status).toBe(
      404,
    );
    const deadline = Date.now() + 30_000;
    while (await env.DB.prepare("SELECT 1 FROM collections WHERE id = ?").bind(col).first()) {
      if (Date.now() > deadline) throw new Error("collection deletion did not finish");
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const d of up.documents) {
      expect(await storesFor(col, d.id, r2KeyOf(col, d.id))).toEqual({ row: 0, chunks: 0, vectors: 0, matches: 0, r2: false });
    }
    expect(await localIndex(col).stats()).toMatchObject({ documents: 0, chunks: 0, vectors: 0 });
  });
});

describe("a failure halfway leaves no orphan (Workers AI + Vectorize doubles)", () => {
  const longText = (marker: string) =>
    Array.from({ length: 480 }, (_, i) => `Paragraph ${i} of the long report ${marker} covers item ${i * 13} in some detail.`).join("\n\n");

  /** A document uploaded over HTTP with the production providers; its queue message is recorded, not yet delivered. */
  async function cfDocument(text: string) {
    const providers = cloudflareProviders();
    const created = await body(
      await call(
        "/v1/collections",
        { method: "POST", headers: master(), json: { name: "orphans", chunk_tokens: 64, chunk_overlap: 8 } },
        providers.env,
      ),
    );
    const up = await call(
      `/v1/collections/${created.id}/documents`,
      { method: "POST", headers: master(), json: { documents: [{ name: "report.txt", text }] } },
      providers.env,
    );
    expect(up.status).toBe(202);
    const document: Json = (await body(up)).documents[0];
    return { providers, col: created, document: { ...document, r2_key: r2KeyOf(created.id, document.id) } as Json };
  }

  async function vectorsOf(collectionId: string, documentId: string, n: number) {
    const ids = Array.from({ length: n }, (_, k) => `${documentId}:${k}`);
    const found = await env.TEST_VECTORIZE.getByIds(ids);
    return found.filter((v) => v.namespace === collectionId || v.namespace === undefined).length;
  }

  it("an embedder failing in the second batch of 100 leaves the document queued for a retry, with no chunk and no vector", async () => {
    const text = `${longText("alpha")}\n\nThe last paragraph says __fail__ to the embedder.`;
    const { providers, col, document } = await cfDocument(text);
    // The worker's real queue() handler asks for a retry.
    const delivered = await providers.queue.deliver(providers.env);
    expect(delivered.ids).toHaveLength(1);
    expect(delivered.retried).toEqual(delivered.ids);
    const row = await env.DB.prepare("SELECT status, error_code, pending_vectors FROM documents WHERE id = ?")
      .bind(document.id)
      .first<Json>();
    // Transient: it stays `queued` with its last error while the queue retries (issue 10).
    expect(row).toMatchObject({ status: "queued", error_code: "upstream_error", pending_vectors: 0 });
    expect((await storesFor(col.id, document.id, document.r2_key)).chunks).toBe(0);
    expect(await vectorsOf(col.id, document.id, 1000)).toBe(0);
  });

  it("a re-index whose embedder fails keeps the committed generation searchable; a successful retry swaps in the new text", async () => {
    const oldToken = uniqueToken();
    const newToken = uniqueToken();
    const { providers, col, document } = await cfDocument(`${longText("gamma")}\n\nThe first version names ${oldToken}.`);
    await providers.ingest();
    const first = await waitForDocument(col.id, document.id);
    expect(first.status).toBe("ready");
    const search = async (query: string) =>
      (
        await body(
          await call(
            `/v1/collections/${col.id}/search`,
            { method: "POST", headers: master(), json: { query, mode: "hybrid", top_k: 3 } },
            providers.env,
          ),
        )
      ).results as Json[];
    expect((await search(oldToken))[0]).toMatchObject({ document_id: document.id });

    // The stored original changes and is re-indexed; the new text makes the embedder fail (transient).
    await env.DOCUMENTS.put(document.r2_key, `${longText("delta")}\n\nThe second version names ${newToken} and says __fail__.`);
    const res = await call(
      `/v1/collections/${col.id}/documents/${document.id}/reindex`,
      { method: "POST", headers: master() },
      providers.env,
    );
    expect(res.status).toBe(202);
    const failed = await providers.queue.deliver(providers.env);
    expect(failed.retried).toEqual(failed.ids);
    const row = await env.DB.prepare("SELECT status, generation, error_code, chunk_count FROM documents WHERE id = ?")
      .bind(document.id)
      .first<Json>();
    expect(row).toMatchObject({ status: "queued", generation: 2, error_code: "upstream_error", chunk_count: first.chunk_count });
    // Generation 1 is still whole: every chunk, every vector, and search still finds it.
    expect((await storesFor(col.id, document.id, document.r2_key)).chunks).toBe(first.chunk_count);
    expect(await vectorsOf(col.id, document.id, 1000)).toBe(first.chunk_count);
    expect((await search(oldToken))[0]).toMatchObject({ document_id: document.id });
    expect((await search(newToken)).some((h) => h.text.includes(newToken))).toBe(false);

    // The retry succeeds: the new text replaces the old one.
    await env.DOCUMENTS.put(document.r2_key, `${longText("delta")}\n\nThe second version names ${newToken}.`);
    const retry = await runQueue(
      "docchat-ingest",
      [{ id: "retry", attempts: 2, body: { type: "index", document_id: document.id, generation: 2 } }],
      providers.env,
    );
    expect(retry.explicitAcks).toEqual(["retry"]);
    const second = await waitForDocument(col.id, document.id);
    expect(second.status).toBe("ready");
    const found = await search(newToken);
    expect(found[0]).toMatchObject({ document_id: document.id });
    expect(found[0].text).toContain(newToken);
    expect((await search(oldToken)).some((h) => h.text.includes(oldToken))).toBe(false);
    expect(await vectorsOf(col.id, document.id, 1000)).toBe(second.chunk_count);
  });

  it("a vector write that fails after landing is undone: no vector survives the failure", async () => {
    const { providers, col, document } = await cfDocument(longText("beta"));
    let calls = 0;
    const flaky = {
      upsert: async (vectors: VectorizeVector[]) => {
        calls++;
        await env.TEST_VECTORIZE.upsert(vectors);
        throw new Error("connection reset after the write landed");
      },
      query: (v: number[], o: VectorizeQueryOptions) => env.TEST_VECTORIZE.query(v, o),
      deleteByIds: (ids: string[]) => env.TEST_VECTORIZE.deleteByIds(ids),
      getByIds: (ids: string[]) => env.TEST_VECTORIZE.getByIds(ids),
    } as unknown as VectorizeIndex;
    const delivered = await providers.queue.deliver({ ...providers.env, VECTORIZE: flaky });
    expect(delivered.ids).toHaveLength(1);
    expect(delivered.retried).toEqual(delivered.ids);
    expect(calls).toBe(1);
    const row = await env.DB.prepare("SELECT status, chunk_count FROM documents WHERE id = ?").bind(document.id).first<Json>();
    expect(row).toMatchObject({ status: "queued", chunk_count: 0 });
    expect((await storesFor(col.id, document.id, document.r2_key)).chunks).toBe(0);
    expect(await vectorsOf(col.id, document.id, 1000)).toBe(0);

    // The queue's retry then succeeds and indexes it completely.
    const retry = await runQueue(
      "docchat-ingest",
      [{ id: "retry", attempts: 2, body: { type: "index", document_id: document.id, generation: 1 } }],
      providers.env,
    );
    expect(retry.explicitAcks).toEqual(["retry"]);
    const ok = await waitForDocument(col.id, document.id);
    expect(ok.status).toBe("ready");
    expect(ok.chunk_count).toBeGreaterThan(100); // more than one embedding batch
    expect(await vectorsOf(col.id, document.id, 1000)).toBe(ok.chunk_count);
  });
});

describe("the original's ingestion endpoints", () => {
  it("/make_embedding processes files synchronously with the original's response shape", async () => {
    const form = new FormData();
    form.append("file", new File(["The cafeteria serves lunch from noon until 2pm."], "cafeteria.txt", { type: "text/plain" }));
    form.append("file", new File(["# Parking\n\nVisitors park on level 2 of the garage."], "parking.md", { type: "text/markdown" }));
    const res = await call("/make_embedding", { method: "POST", headers: master(), body: form });
    expect(res.status).toBe(200);
    const out = await body(res);
    expect(out.message).toBe("2 files processed successfully");
    expect(out.embeddings).toHaveLength(2);
    expect(out.embeddings[0].length).toBeGreaterThan(0);
    expect(out.document.map((d: { text: string }) => d.text).join(" ")).toContain("Visitors park on level 2");
    expect(out.collection_id).toMatch(/^col_/);
    expect(out.results.map((r: { status: string }) => r.status)).toEqual(["ready", "ready"]);
  });

  it("/make_embedding needs credentials (the original needed none) and the original's field errors", async () => {
    const form = new FormData();
    form.append("file", new File(["x"], "x.txt"));
    expect((await call("/make_embedding", { method: "POST", body: form })).status).toBe(401);
    const none = await call("/make_embedding", { method: "POST", headers: master(), body: new FormData() });
    expect(none.status).toBe(400);
    expect((await body(none)).error).toBe("No file part");
  });

  it("/get_temp_api_key with only empty documents fails and leaves no collection behind", async () => {
    // Only this file uses the original's body, and its tests run one after another.
    const count = "SELECT COUNT(*) AS n FROM collections WHERE name LIKE 'original-api%'";
    const before = await env.DB.prepare(count).first<{ n: number }>();
    const res = await call("/get_temp_api_key", {
      method: "POST",
      headers: master(),
      json: {
        model: "m",
        embeddings: [],
        document: [
          { id: 1, text: "   " },
          { id: 2, text: "" },
        ],
      },
    });
    expect(res.status).toBe(422);
    expect((await body(res)).code).toBe("empty_document");
    const after = await env.DB.prepare(count).first<{ n: number }>();
    expect(after?.n).toBe(before?.n);
  });

  it("/get_temp_api_key with the original's body ingests the documents into a new collection bound to the key", async () => {
    const res = await call("/get_temp_api_key", {
      method: "POST",
      headers: master(),
      json: {
        model: "sentence-transformers/all-MiniLM-L6-v2",
        embeddings: [[0.1, 0.2, 0.3]],
        document: [{ id: "faq-1", text: "Refunds are processed within 14 days of the return." }],
      },
    });
    expect(res.status).toBe(200);
    const key = await body(res);
    expect(key.temp_api_key).toMatch(/^dck_/);
    expect(key.collection_id).toMatch(/^col_/);
    const docs = await body(await call(`/v1/collections/${key.collection_id}/documents`, { headers: { "X-API-Key": key.temp_api_key } }));
    expect(docs.documents).toHaveLength(1);
    expect(docs.documents[0]).toMatchObject({ status: "ready", metadata: { original_id: "faq-1" } });
  });
});
