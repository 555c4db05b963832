/**
 * Signed ingestion events (issue 20 item 2). The receiver lives inside the test: a stubbed global
 * fetch (the server's only outbound path for webhooks) that records each request and verifies its
 * signature with an independent reference implementation of Standard Webhooks verification. The
 * queue is recorded (with each send's delaySeconds) and run through the worker's real queue()
 * handler, one consumer invocation at a time.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { retryDelaySeconds } from "../src/events/deliver";
import { checkWebhookUrl } from "../src/events/url";
import { body, call, createCollection, type Json, master, runQueue, tempKey } from "./helpers";

// --- Reference verification (Standard Webhooks spec, written apart from src/events/signing.ts) ---

const TOLERANCE_SECONDS = 5 * 60;

async function verifyStandardWebhook(secret: string, headers: Headers, payload: string): Promise<Json> {
  const id = headers.get("webhook-id");
  const ts = headers.get("webhook-timestamp");
  const sigs = headers.get("webhook-signature");
  if (!id || !ts || !sigs) throw new Error("missing Standard Webhooks headers");
  const t = Number(ts);
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > TOLERANCE_SECONDS) throw new Error("timestamp outside tolerance");
  if (!secret.startsWith("whsec_")) throw new Error("secret without whsec_ prefix");
  const keyBytes = Uint8Array.from(atob(secret.slice("whsec_".length)), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  const signed = new TextEncoder().encode(`${id}.${ts}.${payload}`);
  for (const candidate of sigs.split(" ")) {
    const [version, sig] = candidate.split(",");
    if (version !== "v1" || !sig) continue;
    const raw = Uint8Array.from(atob(sig), (c) => c.charCodeAt(0));
    if (await crypto.subtle.verify("HMAC", key, raw, signed)) return JSON.parse(payload) as Json;
  }
  throw new Error("no valid signature");
}

// --- The receiver and the queue ---

interface Received {
  url: string;
  headers: Headers;
  body: string;
  redirect: RequestInit["redirect"];
}

let received: Received[] = [];
/** Status the receiver answers with, per request in order (then 200). */
let script: number[] = [];

beforeEach(() => {
  received = [];
  script = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input as RequestInfo, init);
    received.push({ url: req.url, headers: req.headers, body: await req.text(), redirect: init?.redirect });
    const status = script.shift() ?? 200;
    return new Response(status === 302 ? null : "ok", {
      status,
      headers: status === 302 ? { Location: "https://elsewhere.example/" } : {},
    });
  });
});
afterEach(() => vi.restoreAllMocks());

/** An INGEST_QUEUE that records sends with their delay; run() is one invocation of the real consumer. */
function queue() {
  const pending: { body: Json; delaySeconds?: number }[] = [];
  const binding = {
    async send(b: Json, o?: { delaySeconds?: number }) {
      pending.push({ body: b, delaySeconds: o?.delaySeconds });
    },
    async sendBatch(ms: Iterable<{ body: Json; delaySeconds?: number }>) {
      for (const m of ms) pending.push({ body: m.body, delaySeconds: m.delaySeconds });
    },
  } as unknown as Queue;
  let n = 0;
  return {
    env: { INGEST_QUEUE: binding } as Partial<Env>,
    pending,
    /** Runs every pending message through the worker's queue() handler; returns what it took. */
    async run(extra: Partial<Env> = {}) {
      const batch = pending.splice(0);
      const result = await runQueue(
        "docchat-ingest",
        batch.map((m) => ({ id: `m${n++}`, body: m.body })),
        { INGEST_QUEUE: binding, ...extra },
      );
      expect(result.retryMessages).toEqual([]);
      return batch;
    },
  };
}

async function addWebhook(col: string, json: Json, headers: Record<string, string> = master(), override?: Partial<Env>): Promise<Response> {
  return call(`/v1/collections/${col}/webhooks`, { method: "POST", headers, json }, override);
}

async function deliveriesOf(col: string, wid: string): Promise<Json[]> {
  const res = await call(`/v1/collections/${col}/webhooks/${wid}/deliveries`, { headers: master() });
  expect(res.status).toBe(200);
  return (await body(res)).deliveries;
}

const RECEIVER = "https://hooks.example.com/docchat";

describe("webhook endpoints", () => {
  it("registers an https endpoint with a whsec_ secret shown once; admin scope or master only", async () => {
    const col = await createCollection("hooks-crud");
    const res = await addWebhook(col, { url: RECEIVER, events: ["document.ready", "document.failed"], description: "ops" });
    expect(res.status).toBe(201);
    const hook = await body(res);
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(atob(hook.secret.slice(6)).length).toBe(32);
    expect(hook).toMatchObject({ collection_id: col, url: RECEIVER, events: ["document.ready", "document.failed"], description: "ops" });
    const stored = await env.DB.prepare("SELECT secret FROM webhooks WHERE id = ?").bind(hook.id).first<{ secret: string }>();
    expect(stored?.secret).not.toContain(hook.secret.slice(6)); // encrypted at rest

    const listed = await body(await call(`/v1/collections/${col}/webhooks`, { headers: master() }));
    expect(listed.webhooks).toHaveLength(1);
    expect(listed.webhooks[0].secret).toBeUndefined();

    const admin = (await tempKey(col, { scopes: ["admin"] })).temp_api_key;
    const writer = (await tempKey(col, { scopes: ["read", "write", "chat"] })).temp_api_key;
    expect((await addWebhook(col, { url: RECEIVER, events: ["document.deleted"] }, { "X-API-Key": admin })).status).toBe(201);
    expect((await addWebhook(col, { url: RECEIVER, events: ["document.deleted"] }, { "X-API-Key": writer })).status).toBe(403);
    expect((await call(`/v1/collections/${col}/webhooks`, { headers: { "X-API-Key": writer } })).status).toBe(403);
    const other = await createCollection("hooks-other");
    expect((await addWebhook(other, { url: RECEIVER, events: ["document.ready"] }, { "X-API-Key": admin })).status).toBe(404);

    const bad = [{ events: [] }, { events: ["document.created"] }, { events: ["document.ready", "document.ready"] }, { url: "not a url" }];
    for (const patch of bad) expect((await addWebhook(col, { url: RECEIVER, events: ["document.ready"], ...patch })).status).toBe(400);

    const gone = await call(`/v1/collections/${col}/webhooks/${hook.id}`, { method: "DELETE", headers: master() });
    expect(gone.status).toBe(200);
    expect((await call(`/v1/collections/${col}/webhooks/${hook.id}/deliveries`, { headers: master() })).status).toBe(404);
    expect((await call(`/v1/collections/${col}/webhooks/${hook.id}`, { method: "DELETE", headers: master() })).status).toBe(404);
  });

  it("refuses http, loopback, private, link-local, ULA and local names, including IPs in disguise", async () => {
    const col = await createCollection("hooks-ssrf");
    const refused = [
      "http://127.0.0.1/hook",
      "http://hooks.example.com/hook",
      "https://127.0.0.1/hook",
      "https://127.1/hook",
      "https://0x7f.0.0.1/hook",
      "https://2130706433/hook",
      "https://017700000001/hook",
      "https://localhost/hook",
      "https://api.localhost/hook",
      "https://10.0.0.1/hook",
      "https://172.16.5.4/hook",
      "https://192.168.1.1/hook",
      "https://100.64.0.1/hook",
      "https://169.254.169.254/latest/meta-data",
      "https://0.0.0.0/hook",
      "https://[::1]/hook",
      "https://[::]/hook",
      "https://[fd00::1]/hook",
      "https://[fe80::1]/hook",
      "https://[::ffff:127.0.0.1]/hook",
      "https://[::ffff:10.0.0.1]/hook",
      "https://[64:ff9b::a00:1]/hook",
      "https://[2002:a00:1::]/hook",
      "https://10.0.0.1.nip.io/hook",
      "https://10-0-0-1.sslip.io/hook",
      "https://app.127.0.0.1.sslip.io/hook",
      "https://7f000001.nip.io/hook",
      "https://localtest.me/hook",
      "https://printer.local/hook",
      "https://db.internal/hook",
      "https://intranet/hook",
      "https://user:pass@hooks.example.com/hook",
    ];
    for (const url of refused) {
      const res = await addWebhook(col, { url, events: ["document.ready"] });
      expect(res.status, url).toBe(400);
      expect((await body(res)).error.code).toBe("validation_error");
    }
    for (const url of [
      "https://hooks.example.com/x",
      "https://8.8.8.8/x",
      "https://[2606:4700:4700::1111]/x",
      "https://1-1-1-1.sslip.io/x",
    ]) {
      expect(checkWebhookUrl(url, { allowLoopback: false }).ok, url).toBe(true);
    }
    const listed = await body(await call(`/v1/collections/${col}/webhooks`, { headers: master() }));
    expect(listed.webhooks).toHaveLength(0);

    // WEBHOOK_ALLOW_LOOPBACK=1 (local development only) admits loopback, and nothing else private.
    const local = { WEBHOOK_ALLOW_LOOPBACK: "1" } as unknown as Partial<Env>;
    expect((await addWebhook(col, { url: "http://127.0.0.1:9999/hook", events: ["document.ready"] }, master(), local)).status).toBe(201);
    expect((await addWebhook(col, { url: "http://localhost:9999/hook", events: ["document.ready"] }, master(), local)).status).toBe(201);
    expect((await addWebhook(col, { url: "http://10.0.0.1/hook", events: ["document.ready"] }, master(), local)).status).toBe(400);
    expect((await addWebhook(col, { url: "https://192.168.0.10/hook", events: ["document.ready"] }, master(), local)).status).toBe(400);
  });

  it("caps endpoints per collection (403 quota_exceeded)", async () => {
    const col = await createCollection("hooks-cap");
    for (let i = 0; i < 10; i++) expect((await addWebhook(col, { url: `${RECEIVER}/${i}`, events: ["document.ready"] })).status).toBe(201);
    const res = await addWebhook(col, { url: RECEIVER, events: ["document.ready"] });
    expect(res.status).toBe(403);
    expect((await body(res)).error).toMatchObject({
      code: "quota_exceeded",
      details: { quota: "webhooks_per_collection", limit: 10, used: 10 },
    });
  });
});

describe("webhook deliveries", () => {
  it("a signed document.ready reaches the receiver within one queue run of the upload", async () => {
    const q = queue();
    const col = await createCollection("hooks-ready");
    const hook = await body(await addWebhook(col, { url: RECEIVER, events: ["document.ready"] }));
    const other = await body(await addWebhook(col, { url: `${RECEIVER}/failed-only`, events: ["document.failed"] }));
    const up = await call(
      `/v1/collections/${col}/documents`,
      {
        method: "POST",
        headers: master(),
        json: { documents: [{ name: "hours.md", text: "The office opens at 9am.", metadata: { team: "ops" } }] },
      },
      q.env,
    );
    expect(up.status).toBe(202);
    const docId = (await body(up)).documents[0].id;

    await q.run(); // the index message: the document becomes ready and its event is queued
    expect(received).toHaveLength(0);
    expect(q.pending.map((m) => m.body.type)).toEqual(["webhook"]);
    await q.run(); // the delivery
    expect(received).toHaveLength(1);
    const r = received[0];
    expect(r.url).toBe(RECEIVER);
    expect(r.redirect).toBe("manual");
    expect(r.headers.get("content-type")).toBe("application/json");
    const event = await verifyStandardWebhook(hook.secret, r.headers, r.body);
    expect(event).toMatchObject({
      type: "document.ready",
      data: { collection_id: col, document_id: docId, name: "hours.md", chunk_count: 1, metadata: { team: "ops" } },
    });
    expect(Date.parse(event.timestamp)).not.toBeNaN();
    // Signed with this endpoint's secret, not another's.
    await expect(verifyStandardWebhook(other.secret, r.headers, r.body)).rejects.toThrow(/no valid signature/);
    await expect(verifyStandardWebhook(hook.secret, r.headers, `${r.body} `)).rejects.toThrow(/no valid signature/);

    const log = await deliveriesOf(col, hook.id);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({
      event_id: r.headers.get("webhook-id"),
      event_type: "document.ready",
      attempt: 1,
      status: "succeeded",
      response_code: 200,
      error: null,
    });
    expect(await deliveriesOf(col, other.id)).toHaveLength(0);
  });

  it("retries after a 500 with a doubling delay, and never re-sends an event already delivered", async () => {
    const q = queue();
    const col = await createCollection("hooks-retry");
    const hook = await body(await addWebhook(col, { url: RECEIVER, events: ["document.ready"] }));
    await call(
      `/v1/collections/${col}/documents`,
      { method: "POST", headers: master(), json: { documents: [{ name: "a.md", text: "Alpha beta." }] } },
      q.env,
    );
    await q.run();
    script = [500, 503];
    await q.run(); // attempt 1: 500
    expect(received).toHaveLength(1);
    expect(q.pending).toHaveLength(1);
    expect(q.pending[0]).toMatchObject({ body: { attempt: 2 }, delaySeconds: retryDelaySeconds(1) });
    await q.run(); // attempt 2: 503
    expect(q.pending[0]).toMatchObject({ body: { attempt: 3 }, delaySeconds: retryDelaySeconds(2) });
    expect(retryDelaySeconds(2)).toBe(2 * retryDelaySeconds(1));
    const third = q.pending[0].body;
    await q.run(); // attempt 3: 200
    expect(received).toHaveLength(3);
    expect(q.pending).toHaveLength(0);
    // The same event id on every attempt, each signed anew.
    const ids = new Set(received.map((r) => r.headers.get("webhook-id")));
    expect(ids.size).toBe(1);
    for (const r of received) await verifyStandardWebhook(hook.secret, r.headers, r.body);

    expect((await deliveriesOf(col, hook.id)).map((d) => [d.attempt, d.status, d.response_code])).toEqual([
      [3, "succeeded", 200],
      [2, "failed", 503],
      [1, "failed", 500],
    ]);
    // A redelivered message (the queue is at-least-once) for an event already delivered sends nothing.
    q.pending.push({ body: third });
    await q.run();
    expect(received).toHaveLength(3);
    expect(await deliveriesOf(col, hook.id)).toHaveLength(3);
  });

  it("gives up (logged, no further attempt) once the next retry would fall beyond 24 h; redirects are not followed", async () => {
    const q = queue();
    const col = await createCollection("hooks-giveup");
    const hook = await body(await addWebhook(col, { url: RECEIVER, events: ["document.ready"] }));
    await call(
      `/v1/collections/${col}/documents`,
      { method: "POST", headers: master(), json: { documents: [{ name: "g.md", text: "Gamma." }] } },
      q.env,
    );
    await q.run();
    const msg = q.pending[0].body;
    msg.created_at -= 24 * 3600 - 10; // the event happened almost a day ago
    script = [302];
    await q.run();
    expect(received).toHaveLength(1);
    expect(q.pending).toHaveLength(0);
    const [d] = await deliveriesOf(col, hook.id);
    expect(d).toMatchObject({ status: "gave_up", response_code: 302 });
    expect(d.error).toMatch(/redirect/);
  });

  it("never delivers to loopback or private addresses, even when the row says so (checked at delivery time)", async () => {
    const q = queue();
    const col = await createCollection("hooks-private");
    // Registered while loopback was allowed (local development), then delivered without it.
    const local = await body(
      await addWebhook(col, { url: "http://127.0.0.1:9/hook", events: ["document.ready"] }, master(), {
        WEBHOOK_ALLOW_LOOPBACK: "1",
      } as unknown as Partial<Env>),
    );
    // Rows that bypassed the creation check (an older deployment's rules, a manual insert).
    const good = await body(await addWebhook(col, { url: RECEIVER, events: ["document.ready"] }));
    for (const [id, url] of [
      ["wh_private10", "https://10.0.0.1/hook"],
      ["wh_private6", "https://[fd12::1]/hook"],
      ["wh_metadata", "https://169.254.169.254/hook"],
    ]) {
      await env.DB.prepare(
        "INSERT INTO webhooks (id, collection_id, url, events, secret, description, created_at) SELECT ?, collection_id, ?, events, secret, NULL, created_at FROM webhooks WHERE id = ?",
      )
        .bind(id, url, good.id)
        .run();
    }
    await call(
      `/v1/collections/${col}/documents`,
      { method: "POST", headers: master(), json: { documents: [{ name: "p.md", text: "Private." }] } },
      q.env,
    );
    await q.run();
    expect(q.pending).toHaveLength(5);
    await q.run();
    expect(received.map((r) => r.url)).toEqual([RECEIVER]);
    expect(q.pending).toHaveLength(0); // refused deliveries are not retried
    const [refused] = await deliveriesOf(col, local.id);
    expect(refused).toMatchObject({ status: "refused", response_code: null });
    expect(refused.error).toMatch(/URL refused: the URL must use https/);
    for (const id of ["wh_private10", "wh_private6", "wh_metadata"]) {
      const rows = await env.DB.prepare("SELECT status FROM webhook_deliveries WHERE webhook_id = ?").bind(id).all<{ status: string }>();
      expect(rows.results.map((r) => r.status)).toEqual(["refused"]);
    }
  });

  it("document.failed, document.deleted and collection.deleted; a deleted collection's endpoints go after that last event", async () => {
    const q = queue();
    const col = await createCollection("hooks-lifecycle");
    const all = await body(await addWebhook(col, { url: RECEIVER, events: ["document.failed", "document.deleted", "collection.deleted"] }));
    const readyOnly = await body(await addWebhook(col, { url: `${RECEIVER}/ready`, events: ["document.ready"] }));
    const up = await call(
      `/v1/collections/${col}/documents`,
      {
        method: "POST",
        headers: master(),
        json: {
          documents: [
            { name: "empty.md", text: "   \n\n   " },
            { name: "ok.md", text: "Some text." },
          ],
        },
      },
      q.env,
    );
    const [empty, ok] = (await body(up)).documents.map((d: Json) => d.id);
    await q.run();
    await q.run();
    const failed = received.map((r) => JSON.parse(r.body)).find((e) => e.type === "document.failed");
    expect(failed).toMatchObject({ data: { document_id: empty, error: { code: "empty_document" } } });

    received = [];
    expect((await call(`/v1/collections/${col}/documents/${ok}`, { method: "DELETE", headers: master() }, q.env)).status).toBe(200);
    await q.run();
    expect(received).toHaveLength(1);
    const deleted = await verifyStandardWebhook(all.secret, received[0].headers, received[0].body);
    expect(deleted).toMatchObject({
      type: "document.deleted",
      data: { collection_id: col, document_id: ok, name: "ok.md", reason: "deleted" },
    });

    received = [];
    expect((await call(`/v1/collections/${col}`, { method: "DELETE", headers: master() }, q.env)).status).toBe(202);
    await q.run(); // the drop page(s) and the collection.deleted delivery
    await q.run();
    await q.run();
    const last = received.find((r) => JSON.parse(r.body).type === "collection.deleted");
    expect(last).toBeDefined();
    expect(await verifyStandardWebhook(all.secret, (last as Received).headers, (last as Received).body)).toMatchObject({
      data: { collection_id: col, name: "hooks-lifecycle" },
    });
    const left = await env.DB.prepare("SELECT COUNT(*) AS n FROM webhooks WHERE id IN (?, ?)")
      .bind(all.id, readyOnly.id)
      .first<{ n: number }>();
    expect(left?.n).toBe(0);
    const logs = await env.DB.prepare("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE webhook_id IN (?, ?)")
      .bind(all.id, readyOnly.id)
      .first<{ n: number }>();
    expect(logs?.n).toBe(0);
  });
});

describe("OpenAPI document", () => {
  it("describes every new route and field (webhooks, deliveries, PATCH, embedding_model, chunking_strategy, admin scope)", async () => {
    const doc = await body(await call("/openapi.json"));
    expect(doc.paths["/v1/collections/{id}/webhooks"]?.post?.responses?.["201"]).toBeTruthy();
    expect(doc.paths["/v1/collections/{id}/webhooks"]?.get).toBeTruthy();
    expect(doc.paths["/v1/collections/{id}/webhooks/{wid}"]?.delete).toBeTruthy();
    expect(doc.paths["/v1/collections/{id}/webhooks/{wid}/deliveries"]?.get).toBeTruthy();
    expect(doc.paths["/v1/collections/{id}"]?.patch).toBeTruthy();
    const s = doc.components.schemas;
    expect(s.CreateWebhook.properties.events.items.enum).toEqual([
      "document.ready",
      "document.failed",
      "document.deleted",
      "collection.deleted",
    ]);
    expect(Object.keys(s.WebhookDelivery.properties)).toEqual(
      expect.arrayContaining(["event_id", "event_type", "attempt", "status", "response_code", "event_created_at", "attempted_at"]),
    );
    expect(s.CreateCollection.properties.embedding_model.enum).toEqual(["@cf/baai/bge-base-en-v1.5", "@cf/baai/bge-m3"]);
    expect(s.CreateCollection.properties.chunking_strategy).toBeTruthy();
    expect(s.Collection.properties.embedding_model).toBeTruthy();
    expect(s.Collection.properties.chunking_strategy).toBeTruthy();
    expect(s.TextDocuments.properties.chunking_strategy).toBeTruthy();
    expect(s.Document.properties.chunking_strategy).toBeTruthy();
    const strategy = JSON.stringify(s.ChunkingStrategy);
    for (const f of ["max_chunk_size_tokens", "chunk_overlap_tokens", '"minimum":100', '"maximum":4096']) expect(strategy).toContain(f);
    expect(JSON.stringify(doc)).toContain('"enum":["read","write","chat","admin"]'); // the key scopes
  });
});

describe("secrets at rest", () => {
  it("open only with the same master key and endpoint id; signatures verify with the reference implementation", async () => {
    const { newWebhookSecret, openSecret, sealSecret, signPayload } = await import("../src/events/signing");
    const secret = newWebhookSecret();
    const mk = "m".repeat(40);
    const sealed = await sealSecret(mk, "wh_a", secret);
    expect(sealed).not.toContain(secret.slice(6));
    expect(await openSecret(mk, "wh_a", sealed)).toBe(secret);
    expect(await openSecret("n".repeat(40), "wh_a", sealed)).toBeNull(); // master key rotated
    expect(await openSecret(mk, "wh_b", sealed)).toBeNull(); // copied onto another endpoint
    const ts = Math.floor(Date.now() / 1000);
    const payload = JSON.stringify({ type: "document.ready", timestamp: new Date().toISOString(), data: {} });
    const headers = new Headers({
      "webhook-id": "evt_1",
      "webhook-timestamp": String(ts),
      "webhook-signature": await signPayload(secret, "evt_1", ts, payload),
    });
    expect(await verifyStandardWebhook(secret, headers, payload)).toMatchObject({ type: "document.ready" });
  });
});
