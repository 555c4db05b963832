// A thin client of the documented HTTP API, used by the benchmarks. Transient failures (network,
// 429, 502-504) are retried a few times; every other status is an error with the server's envelope.
import { sleep } from "./util.mjs";

export class HttpError extends Error {
  constructor(method, path, status, body) {
    const code = body?.error?.code ?? body?.code ?? null;
    const msg = body?.error?.message ?? body?.message ?? body?.error ?? (typeof body === "string" ? body.slice(0, 300) : "");
    super(`${method} ${path} -> ${status}${code ? ` ${code}` : ""}${msg ? `: ${msg}` : ""}`);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

const RETRY_STATUS = new Set([429, 502, 503, 504]);

export function apiClient(baseUrl, masterKey) {
  const base = baseUrl.replace(/\/+$/, "");
  /** Retried failures by status (or "network"), with the last error body of each: a retry hides a server problem. */
  const retried = {};
  const noteRetry = (what, body) => {
    retried[what] ??= { count: 0, last: null };
    retried[what].count++;
    retried[what].last = typeof body === "string" ? body.slice(0, 300) : JSON.stringify(body)?.slice(0, 300);
  };

  /** @returns {Promise<{status: number, body: any, ms: number, headers: Headers}>} */
  async function request(method, path, { json, headers = {}, auth = "master", retries = 3, timeoutMs = 120_000 } = {}) {
    const h = { ...headers };
    if (auth === "master") h["X-Master-API-Key"] = masterKey;
    if (json !== undefined) h["Content-Type"] = "application/json";
    let attempt = 0;
    for (;;) {
      const t = performance.now();
      try {
        const res = await fetch(base + path, {
          method,
          headers: h,
          body: json === undefined ? undefined : JSON.stringify(json),
          signal: AbortSignal.timeout(timeoutMs),
        });
        const text = await res.text();
        const ms = performance.now() - t;
        let body = text;
        try {
          body = text ? JSON.parse(text) : null;
        } catch {
          // not JSON: keep the text
        }
        if (res.ok) return { status: res.status, body, ms, headers: res.headers };
        if (RETRY_STATUS.has(res.status) && attempt < retries) {
          noteRetry(`${method} ${path.split("?")[0].replace(/\/(col|doc)_[\w-]+/g, "/{id}")} ${res.status}`, body);
          attempt++;
          await sleep(250 * 2 ** attempt);
          continue;
        }
        throw new HttpError(method, path, res.status, body);
      } catch (err) {
        if (err instanceof HttpError) throw err;
        if (attempt < retries) {
          noteRetry(`${method} network`, err.cause?.code ?? err.message);
          attempt++;
          await sleep(250 * 2 ** attempt);
          continue;
        }
        throw new Error(`${method} ${path} failed: ${err.cause?.code ?? err.message}`);
      }
    }
  }

  return {
    base,
    request,
    retried,
    async createCollection(name, opts = {}) {
      return (await request("POST", "/v1/collections", { json: { name, ...opts }, retries: 0 })).body;
    },
    async getCollection(id) {
      return (await request("GET", `/v1/collections/${id}`)).body;
    },
    async deleteCollection(id) {
      return (await request("DELETE", `/v1/collections/${id}`, { timeoutMs: 600_000 })).body;
    },
    /** Same bytes are deduplicated by the server, so a retried batch cannot create copies. */
    async uploadTexts(collectionId, documents) {
      return (await request("POST", `/v1/collections/${collectionId}/documents`, { json: { documents } })).body;
    },
    /** {queued, processing, ready, failed} of a collection. */
    async counts(collectionId) {
      const c = (await request("GET", `/v1/collections/${collectionId}/documents?limit=1`)).body.counts ?? {};
      return { queued: c.queued ?? 0, processing: c.processing ?? 0, ready: c.ready ?? 0, failed: c.failed ?? 0 };
    },
    /** Every document of a collection (optionally one status), page by page. */
    async listDocuments(collectionId, status) {
      const out = [];
      let cursor = null;
      do {
        const q = new URLSearchParams({ limit: "500" });
        if (status) q.set("status", status);
        if (cursor) q.set("cursor", cursor);
        const page = (await request("GET", `/v1/collections/${collectionId}/documents?${q}`)).body;
        out.push(...page.documents);
        cursor = page.next_cursor;
      } while (cursor);
      return out;
    },
    async search(collectionId, body) {
      return request("POST", `/v1/collections/${collectionId}/search`, { json: body });
    },
    async chat(body) {
      return request("POST", "/v1/chat", { json: body });
    },
  };
}
