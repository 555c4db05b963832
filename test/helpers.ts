import { env, exports } from "cloudflare:workers";

export const BASE = "http://127.0.0.1:8787";

export type Json = Record<string, any>; // biome-ignore lint/suspicious/noExplicitAny: test convenience for response bodies

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
