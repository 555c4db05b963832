/**
 * Document expiry (issue 20 item 4): uploads take `expires_at` or `expires_after_seconds`,
 * collections a default `expires_after: {anchor, days}`, GET shows the expiry, and the cron sweep
 * deletes expired documents through the normal delete path with no orphan in R2, D1, the index
 * object or Vectorize. The sweep runs with a clock the test controls (`now` is injected).
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { sweepExpiredDocuments } from "../src/ingest/sweeper";
import {
  body,
  call,
  cloudflareProviders,
  createCollection,
  type Json,
  master,
  storesFor,
  uniqueToken,
  uploadTexts,
  waitForDocument,
} from "./helpers";

const nowS = () => Math.floor(Date.now() / 1000);
const DAY = 86_400;
const epoch = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const r2Key = (col: string, id: string) => `collections/${col}/documents/${id}/original`;

async function ready(col: string, docs: Json[]): Promise<Json[]> {
  const up = await uploadTexts(col, docs);
  for (const d of up.documents) expect((await waitForDocument(col, d.id)).status).toBe("ready");
  return up.documents;
}

describe("expiry fields", () => {
  it("uploads take expires_after_seconds or expires_at (JSON per document, multipart as form fields); GET shows expires_at", async () => {
    const col = await createCollection("expiry-fields");
    const t0 = nowS();
    const up = await uploadTexts(col, [
      { name: "a.md", text: "alpha text", expires_after_seconds: 3600 },
      { name: "b.md", text: "beta text", expires_at: "2030-01-01T00:00:00Z" },
      { name: "c.md", text: "gamma text" },
    ]);
    const [a, b, c] = up.documents;
    expect(epoch(a.expires_at)).toBeGreaterThanOrEqual(t0 + 3600);
    expect(epoch(a.expires_at)).toBeLessThanOrEqual(nowS() + 3600);
    expect(b.expires_at).toBe("2030-01-01T00:00:00.000Z");
    expect(up.errors).toEqual([]);
    expect(c.expires_at).toBeNull();
    const got = await body(await call(`/v1/collections/${col}/documents/${a.id}`, { headers: master() }));
    expect(got.expires_at).toBe(a.expires_at);
    const listed = await body(await call(`/v1/collections/${col}/documents`, { headers: master() }));
    expect(listed.documents.find((d: Json) => d.id === b.id).expires_at).toBe(b.expires_at);

    const form = new FormData();
    form.append("file", new File(["multipart expiring text"], "m.txt"));
    form.append("expires_after_seconds", "120");
    const multi = await call(`/v1/collections/${col}/documents`, { method: "POST", headers: master(), body: form });
    expect(multi.status).toBe(202);
    const m = (await body(multi)).documents[0];
    expect(epoch(m.expires_at) - nowS()).toBeGreaterThan(100);
    expect(epoch(m.expires_at) - nowS()).toBeLessThanOrEqual(120);

    // Empty form fields (as HTML forms and Swagger UI's "try it out" send them) are absent, not invalid.
    const blank = new FormData();
    blank.append("file", new File(["multipart text with blank optional fields"], "blank.txt"));
    for (const name of ["expires_at", "expires_after_seconds", "chunking_strategy"]) blank.append(name, "");
    const plain = await call(`/v1/collections/${col}/documents`, { method: "POST", headers: master(), body: blank });
    expect(plain.status).toBe(202);
    expect((await body(plain)).documents[0]).toMatchObject({ expires_at: null, chunking_strategy: null });
  });

  it("refuses both fields at once, a past time, out-of-range seconds and junk (400 validation_error; nothing stored)", async () => {
    const col = await createCollection("expiry-bad");
    for (const bad of [
      { expires_at: "2099-01-01T00:00:00Z", expires_after_seconds: 3600 },
      { expires_at: "2001-01-01T00:00:00Z" },
      { expires_after_seconds: 10 },
      { expires_after_seconds: 1.5 },
      { expires_at: "tomorrow" },
      { expires_at: "2099-01-01T00:00:00Z" }, // more than ten years ahead
    ]) {
      const res = await call(`/v1/collections/${col}/documents`, {
        method: "POST",
        headers: master(),
        json: { documents: [{ name: "x.md", text: `bad expiry ${JSON.stringify(bad)}`, ...bad }] },
      });
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect((await body(res)).error.code).toBe("validation_error");
    }
    const form = new FormData();
    form.append("file", new File(["x"], "x.txt"));
    form.append("expires_after_seconds", "soon");
    const res = await call(`/v1/collections/${col}/documents`, { method: "POST", headers: master(), body: form });
    expect(res.status).toBe(400);
    const count = await env.DB.prepare("SELECT COUNT(*) AS n FROM documents WHERE collection_id = ?").bind(col).first<{ n: number }>();
    expect(count?.n).toBe(0);
  });

  it("a collection's default expires_after applies to new documents; an upload's own expiry wins; bad defaults are 400", async () => {
    const created = await call("/v1/collections", {
      method: "POST",
      headers: master(),
      json: { name: "expiry-default", expires_after: { anchor: "created_at", days: 7 } },
    });
    expect(created.status).toBe(201);
    const col = await body(created);
    expect(col.expires_after).toEqual({ anchor: "created_at", days: 7 });
    expect((await body(await call(`/v1/collections/${col.id}`, { headers: master() }))).expires_after).toEqual({
      anchor: "created_at",
      days: 7,
    });
    const t0 = nowS();
    const up = await uploadTexts(col.id, [
      { name: "d.md", text: "default expiry text" },
      { name: "e.md", text: "own expiry text", expires_after_seconds: 600 },
    ]);
    expect(epoch(up.documents[0].expires_at)).toBeGreaterThanOrEqual(t0 + 7 * DAY);
    expect(epoch(up.documents[0].expires_at)).toBeLessThanOrEqual(nowS() + 7 * DAY);
    expect(epoch(up.documents[1].expires_at)).toBeLessThanOrEqual(nowS() + 600);

    for (const bad of [{ anchor: "updated_at", days: 7 }, { anchor: "created_at", days: 0 }, { anchor: "created_at" }]) {
      const res = await call("/v1/collections", { method: "POST", headers: master(), json: { name: "bad", expires_after: bad } });
      expect(res.status, JSON.stringify(bad)).toBe(400);
    }
    const plain = await body(await call("/v1/collections", { method: "POST", headers: master(), json: { name: "no-expiry" } }));
    expect(plain.expires_after).toBeNull();
  });

  it("last_active_at: activity (a download, a re-upload of the same bytes) moves the expiry; created_at does not", async () => {
    const sliding = await body(
      await call("/v1/collections", {
        method: "POST",
        headers: master(),
        json: { name: "expiry-sliding", expires_after: { anchor: "last_active_at", days: 2 } },
      }),
    );
    const [doc] = await ready(sliding.id, [{ name: "s.md", text: "sliding expiry text" }]);
    // As if two days had nearly passed since the last activity.
    const aged = nowS() + 60;
    await env.DB.prepare("UPDATE documents SET expires_at = ? WHERE id = ?").bind(aged, doc.id).run();
    const dl = await call(`/v1/collections/${sliding.id}/documents/${doc.id}/content`, { headers: master() });
    expect(dl.status).toBe(200);
    await dl.arrayBuffer();
    const after = await body(await call(`/v1/collections/${sliding.id}/documents/${doc.id}`, { headers: master() }));
    expect(epoch(after.expires_at)).toBeGreaterThanOrEqual(nowS() + 2 * DAY - 5);

    await env.DB.prepare("UPDATE documents SET expires_at = ? WHERE id = ?").bind(aged, doc.id).run();
    const again = await uploadTexts(sliding.id, [{ name: "s.md", text: "sliding expiry text" }]);
    expect(again.documents[0].duplicate).toBe(true);
    expect(epoch(again.documents[0].expires_at)).toBeGreaterThanOrEqual(nowS() + 2 * DAY - 5);

    const fixed = await body(
      await call("/v1/collections", {
        method: "POST",
        headers: master(),
        json: { name: "expiry-fixed", expires_after: { anchor: "created_at", days: 2 } },
      }),
    );
    const [f] = await ready(fixed.id, [{ name: "f.md", text: "fixed expiry text" }]);
    await env.DB.prepare("UPDATE documents SET expires_at = ? WHERE id = ?").bind(aged, f.id).run();
    await (await call(`/v1/collections/${fixed.id}/documents/${f.id}/content`, { headers: master() })).arrayBuffer();
    expect(epoch((await body(await call(`/v1/collections/${fixed.id}/documents/${f.id}`, { headers: master() }))).expires_at)).toBe(aged);
  });
});

describe("the expiry sweep", () => {
  it("deletes expired documents from every store (no orphans), keeps the others, and cached answers go with them", async () => {
    const col = await createCollection("expiry-sweep");
    const [tokA, tokB] = [uniqueToken(), uniqueToken()];
    const [a, b] = await ready(col, [
      { name: "expiring.md", text: `The expiring note says ${tokA} about the harbour ferry timetable.`, expires_after_seconds: 60 },
      { name: "staying.md", text: `The staying note says ${tokB} about the harbour ferry timetable.` },
    ]);
    const before = await storesFor(col, a.id, r2Key(col, a.id), tokA);
    expect(before).toMatchObject({ row: 1, r2: true });
    expect(before.chunks).toBeGreaterThan(0);
    expect(before.vectors).toBeGreaterThan(0);
    expect(before.matches).toBeGreaterThan(0);

    // A cached answer citing the expiring document.
    const ask = () =>
      call("/v1/chat", { method: "POST", headers: master(), json: { query: "harbour ferry timetable", collection_id: col } });
    expect((await ask()).headers.get("X-Cache")).toBe("MISS");
    expect((await ask()).headers.get("X-Cache")).toMatch(/^HIT/);

    // Not yet due: nothing happens.
    expect(await sweepExpiredDocuments(env, nowS() + 30)).toBe(0);
    expect((await storesFor(col, a.id, r2Key(col, a.id), tokA)).row).toBe(1);

    // Due (clock moved past the expiry): deleted everywhere.
    const deleted = await sweepExpiredDocuments(env, nowS() + 61);
    expect(deleted).toBeGreaterThanOrEqual(1);
    expect(await storesFor(col, a.id, r2Key(col, a.id), tokA)).toEqual({ row: 0, chunks: 0, vectors: 0, matches: 0, r2: false });
    const kept = await storesFor(col, b.id, r2Key(col, b.id), tokB);
    expect(kept).toMatchObject({ row: 1, r2: true });
    expect(kept.chunks).toBeGreaterThan(0);

    expect((await call(`/v1/collections/${col}/documents/${a.id}`, { headers: master() })).status).toBe(404);
    const search = await body(
      await call(`/v1/collections/${col}/search`, { method: "POST", headers: master(), json: { query: tokA, mode: "keyword" } }),
    );
    expect(search.results).toEqual([]);
    const both = await body(
      await call(`/v1/collections/${col}/search`, { method: "POST", headers: master(), json: { query: "harbour ferry timetable" } }),
    );
    expect(both.results.map((r: Json) => r.document_id)).toEqual([b.id]);
    // The version bump made the cached answer (which cited the deleted document) unreachable.
    const fresh = await ask();
    expect(fresh.headers.get("X-Cache")).toBe("MISS");
    expect((await body(fresh)).sources.map((s: Json) => s.document_id)).not.toContain(a.id);
  });

  it("with Workers AI + Vectorize (doubles): the document's vectors leave Vectorize too; a document.deleted event is emitted", async () => {
    const cf = cloudflareProviders();
    const created = await body(await call("/v1/collections", { method: "POST", headers: master(), json: { name: "expiry-cf" } }, cf.env));
    const up = await call(
      `/v1/collections/${created.id}/documents`,
      {
        method: "POST",
        headers: master(),
        json: { documents: [{ name: "v.md", text: "vectors that expire soon", expires_after_seconds: 60 }] },
      },
      cf.env,
    );
    expect(up.status).toBe(202);
    const doc = (await body(up)).documents[0];
    await cf.ingest();
    const row = await env.DB.prepare("SELECT status, chunk_count FROM documents WHERE id = ?").bind(doc.id).first<Json>();
    expect(row).toMatchObject({ status: "ready" });
    const ids = Array.from({ length: row?.chunk_count }, (_, k) => `${doc.id}:${k}`);
    expect((await env.TEST_VECTORIZE.getByIds(ids)).length).toBe(ids.length);

    // A webhook endpoint subscribed to document.deleted receives the sweep's deletion, reason "expired".
    const hook = await call(
      `/v1/collections/${created.id}/webhooks`,
      { method: "POST", headers: master(), json: { url: "https://hooks.example.com/expiry", events: ["document.deleted"] } },
      cf.env,
    );
    expect(hook.status).toBe(201);
    expect(await sweepExpiredDocuments({ ...env, ...cf.env } as Env, nowS() + 61)).toBeGreaterThanOrEqual(1);
    const received: Json[] = [];
    const fetches = vi.spyOn(globalThis, "fetch").mockImplementation(async (_url, init) => {
      received.push(JSON.parse(String((init as RequestInit).body)));
      return new Response(null, { status: 204 });
    });
    try {
      await cf.queue.deliver(cf.env);
    } finally {
      fetches.mockRestore();
    }
    expect(received).toContainEqual(
      expect.objectContaining({
        type: "document.deleted",
        data: expect.objectContaining({ document_id: doc.id, collection_id: created.id, reason: "expired" }),
      }),
    );
    expect(await env.TEST_VECTORIZE.getByIds(ids)).toEqual([]);
    expect(await storesFor(created.id, doc.id, r2Key(created.id, doc.id))).toMatchObject({ row: 0, chunks: 0, r2: false });
  });

  it("runs from the worker's scheduled() handler; documents of a collection being deleted are left to that deletion", async () => {
    const col = await createCollection("expiry-cron");
    const [doc] = await ready(col, [{ name: "cron.md", text: "cron sweep text", expires_after_seconds: 60 }]);
    // Already past its expiry by the real clock.
    await env.DB.prepare("UPDATE documents SET expires_at = ? WHERE id = ?")
      .bind(nowS() - 1, doc.id)
      .run();
    const worker = (await import("../src/index")).default;
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "*/5 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await storesFor(col, doc.id, r2Key(col, doc.id))).toMatchObject({ row: 0, chunks: 0, vectors: 0, r2: false });

    const other = await createCollection("expiry-deleting");
    const [d2] = await ready(other, [{ name: "x.md", text: "deleting collection text", expires_after_seconds: 60 }]);
    await env.DB.prepare("UPDATE collections SET status = 'deleting' WHERE id = ?").bind(other).run();
    await sweepExpiredDocuments(env, nowS() + 61);
    expect((await env.DB.prepare("SELECT COUNT(*) AS n FROM documents WHERE id = ?").bind(d2.id).first<{ n: number }>())?.n).toBe(1);
  });
});
