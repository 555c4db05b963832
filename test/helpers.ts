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
    const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;
    return mod.default.fetch(req, { ...env, ...envOverride } as Env, ctx);
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
export async function waitForDocument(collectionId: string, documentId: string, headers: Record<string, string> = master(), timeoutMs = 30_000): Promise<Json> {
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

export async function uploadFiles(collectionId: string, files: { name: string; bytes: Uint8Array | string; type?: string }[], headers: Record<string, string> = master()): Promise<Response> {
  const form = new FormData();
  for (const f of files) form.append("file", new File([f.bytes], f.name, { type: f.type ?? "" }));
  return call(`/v1/collections/${collectionId}/documents`, { method: "POST", headers, body: form });
}

/** Counts what every store holds for a document: D1 row, chunks, FTS rows, R2 object. */
export async function storesFor(documentId: string, r2Key: string): Promise<{ row: number; chunks: number; fts: number; r2: boolean }> {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM documents WHERE id = ?").bind(documentId).first<{ n: number }>();
  const chunks = await env.DB.prepare("SELECT COUNT(*) AS n FROM chunks WHERE document_id = ?").bind(documentId).first<{ n: number }>();
  const fts = await env.DB.prepare(
    "SELECT COUNT(*) AS n FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid WHERE c.document_id = ?",
  )
    .bind(documentId)
    .first<{ n: number }>();
  return { row: row?.n ?? 0, chunks: chunks?.n ?? 0, fts: fts?.n ?? 0, r2: (await env.DOCUMENTS.head(r2Key)) !== null };
}
