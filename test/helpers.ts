import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";

export const BASE = "http://127.0.0.1:8787";

// biome-ignore lint/suspicious/noExplicitAny: response bodies in tests are read loosely on purpose
export type Json = Record<string, any>;

/** Calls the worker's own fetch handler (real local KV, R2, D1, Queues, DOs) with an optional env override. */
export async function call(path: string, init: RequestInit & { json?: unknown } = {}, envOverride?: Partial<Env>): Promise<Response> {
  const headers = new Headers(init.headers);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("Content-Type", "application/json");
    body = JSON.stringify(init.json);
  }
  const req = new Request(BASE + path, { ...init, headers, body });
  if (envOverride) {
    const mod = await import("../src/index");
    // A real execution context, waited on, so that waitUntil work (cache writes) has happened on return.
    const { createExecutionContext, waitOnExecutionContext } = await import("cloudflare:test");
    const ctx = createExecutionContext();
    const res = await mod.default.fetch(req, { ...env, ...envOverride } as Env, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  }
  return exports.default.fetch(req);
}

export const master = () => ({ "X-Master-API-Key": env.MASTER_API_KEY });

export async function body(res: Response): Promise<Json> {
  return (await res.json()) as Json;
}

export async function createCollection(name = "test"): Promise<string> {
  const res = await call("/v1/collections", { method: "POST", headers: master(), json: { name } });
  if (res.status !== 201) throw new Error(`create collection: ${res.status} ${await res.text()}`);
  return (await body(res)).id;
}

export async function tempKey(collectionId: string, extra: Json = {}): Promise<Json> {
  const res = await call("/get_temp_api_key", { method: "POST", headers: master(), json: { collection_id: collectionId, ...extra } });
  if (res.status !== 200) throw new Error(`temp key: ${res.status} ${await res.text()}`);
  return body(res);
}

export async function startChat(key: string): Promise<Json> {
  const res = await call("/api/start_chat", { method: "POST", headers: { "X-API-Key": key } });
  if (res.status !== 200) throw new Error(`start chat: ${res.status} ${await res.text()}`);
  return body(res);
}

/** Polls a document until the queue consumer has finished with it. */
export async function waitForDocument(
  collectionId: string,
  documentId: string,
  headers: Record<string, string> = master(),
  timeoutMs = 30_000,
): Promise<Json> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await call(`/v1/collections/${collectionId}/documents/${documentId}`, { headers });
    const doc = await body(res);
    if (doc.status === "ready" || doc.status === "failed") return doc;
    if (Date.now() > deadline) throw new Error(`document ${documentId} still ${doc.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function uploadTexts(collectionId: string, documents: Json[], headers: Record<string, string> = master()): Promise<Json> {
  const res = await call(`/v1/collections/${collectionId}/documents`, { method: "POST", headers, json: { documents } });
  if (res.status !== 202) throw new Error(`upload: ${res.status} ${await res.text()}`);
  return body(res);
}

export async function uploadFiles(
  collectionId: string,
  files: { name: string; bytes: Uint8Array | string; type?: string }[],
  headers: Record<string, string> = master(),
): Promise<Response> {
  const form = new FormData();
  for (const f of files) form.append("file", new File([f.bytes], f.name, { type: f.type ?? "" }));
  return call(`/v1/collections/${collectionId}/documents`, { method: "POST", headers, body: form });
}

export const indexStub = (collectionId: string) => env.COLLECTION_INDEX.get(env.COLLECTION_INDEX.idFromName(collectionId));

/** A token that occurs in no other test's text (for a MATCH that can only find one document). */
export const uniqueToken = () => `tok${crypto.randomUUID().replace(/-/g, "").slice(0, 12)}`;

export interface Stores {
  /** D1 catalogue row. */
  row: number;
  /** Rows in the collection index object. */
  chunks: number;
  vectors: number;
  /** Chunks the porter FTS index finds for `token` (0 when no token is given). */
  matches: number;
  r2: boolean;
}

/**
 * What every store holds for a document. Before counting, the FTS5 indexes pass SQLite's
 * 'integrity-check' (an index out of step with its content throws), and keyword rows are counted
 * with a MATCH on a token only that document contains: a join back to `chunks` could never count
 * more rows than the chunks themselves.
 */
export async function storesFor(collectionId: string, documentId: string, r2Key: string, token?: string): Promise<Stores> {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM documents WHERE id = ?").bind(documentId).first<{ n: number }>();
  const inIndex = await runInDurableObject(indexStub(collectionId), async (_obj, state) => {
    const sql = state.storage.sql;
    sql.exec("INSERT INTO chunks_fts (chunks_fts) VALUES ('integrity-check')");
    sql.exec("INSERT INTO chunks_tri (chunks_tri) VALUES ('integrity-check')");
    sql.exec("INSERT INTO names_fts (names_fts) VALUES ('integrity-check')");
    const n = (q: string, ...p: unknown[]) => sql.exec<{ n: number }>(q, ...p).one().n;
    return {
      chunks: n("SELECT COUNT(*) AS n FROM chunks WHERE document_id = ?", documentId),
      // The document's vectors, and any vector no chunk holds any more (an orphan counts against every check).
      vectors: n(
        "SELECT COUNT(*) AS n FROM chunk_vectors v LEFT JOIN chunks c ON c.id = v.id WHERE c.id IS NULL OR c.document_id = ?",
        documentId,
      ),
      matches: token ? n("SELECT COUNT(*) AS n FROM chunks_fts WHERE chunks_fts MATCH ?", `"${token}"`) : 0,
    };
  });
  return { row: row?.n ?? 0, ...inIndex, r2: (await env.DOCUMENTS.head(r2Key)) !== null };
}

/**
 * Runs the worker's real queue() handler on a batch (createMessageBatch) with a real execution
 * context, with the pool's env or `envOverride` over it, and returns the acks/retries.
 */
export async function runQueue(queue: string, messages: { id: string; attempts?: number; body: unknown }[], envOverride?: Partial<Env>) {
  const { createMessageBatch, createExecutionContext, getQueueResult } = await import("cloudflare:test");
  const worker = (await import("../src/index")).default;
  const batch = createMessageBatch(
    queue,
    messages.map((m) => ({ id: m.id, timestamp: new Date(), attempts: m.attempts ?? 1, body: m.body })),
  );
  const ctx = createExecutionContext();
  const handler = worker.queue as (b: MessageBatch, e: Env, c: ExecutionContext) => Promise<void>;
  await handler(batch, envOverride ? ({ ...env, ...envOverride } as Env) : env, ctx);
  return getQueueResult(batch, ctx);
}

export interface Delivery {
  /** Ids of every message delivered (the handler's own follow-up messages included). */
  ids: string[];
  acked: string[];
  retried: string[];
}

/**
 * An INGEST_QUEUE binding that records what the worker sends instead of delivering it, so that the
 * pool's own consumer (which runs with the pool's env) never sees it. `deliver(envOverride)` then
 * runs the recorded messages through the worker's real queue() handler with that env, round after
 * round until the handler sends nothing more (paged collection work queues its next page).
 */
export function recordingQueue() {
  const pending: unknown[] = [];
  const binding = {
    async send(body: unknown) {
      pending.push(body);
    },
    async sendBatch(messages: Iterable<{ body: unknown }>) {
      for (const m of messages) pending.push(m.body);
    },
  } as unknown as Queue;
  return {
    binding,
    get pending() {
      return pending.length;
    },
    async deliver(envOverride: Partial<Env>): Promise<Delivery> {
      const out: Delivery = { ids: [], acked: [], retried: [] };
      for (let round = 0; pending.length > 0; round++) {
        if (round >= 100) throw new Error("the queue handler kept sending messages");
        const messages = pending.splice(0).map((body, i) => ({ id: `r${round}m${i}`, body }));
        const result = await runQueue("docchat-ingest", messages, { ...envOverride, INGEST_QUEUE: binding });
        out.ids.push(...messages.map((m) => m.id));
        out.acked.push(...result.explicitAcks);
        out.retried.push(...result.retryMessages.map((m: { msgId: string }) => m.msgId));
      }
      return out;
    },
  };
}

/**
 * The production providers as an env override: the Workers AI and Vectorize doubles bound as AI /
 * VECTORIZE, and a recording INGEST_QUEUE. Upload with `call(..., cf.env)`, then `cf.ingest()`
 * indexes through the worker's real queue() handler with the same env and fails unless every
 * message was acked and at least one was delivered.
 */
export function cloudflareProviders(extra: Partial<Env> = {}) {
  const queue = recordingQueue();
  const override = {
    AI: env.TEST_AI,
    VECTORIZE: env.TEST_VECTORIZE,
    VECTORIZE_M3: env.TEST_VECTORIZE_M3,
    ...extra,
    INGEST_QUEUE: queue.binding,
  } as Partial<Env>;
  return {
    env: override,
    queue,
    async ingest(): Promise<Delivery> {
      const d = await queue.deliver(override);
      if (d.ids.length === 0) throw new Error("nothing was queued");
      if (d.retried.length > 0 || d.acked.length !== d.ids.length || !d.ids.every((id) => d.acked.includes(id)))
        throw new Error(`not every message was acked: ${JSON.stringify(d)}`);
      return d;
    },
  };
}
