/**
 * Node-side handler for the SHARED_FILES service binding: tests inside workerd cannot read the
 * filesystem, so they fetch `GET /<path relative to the shared root>` through this binding.
 * Read-only, never serves anything outside the root, 404 when missing, 503 when the root itself
 * is absent (the real-corpus suite then skips).
 */
import { readFile, stat } from "node:fs/promises";
import path from "node:path";

export function sharedFilesBinding(root: string): (request: Request) => Promise<Response> {
  const base = path.resolve(root);
  return async (request) => {
    if (request.method !== "GET") return new Response("method not allowed", { status: 405 });
    const rootStat = await stat(base).catch(() => null);
    if (!rootStat?.isDirectory()) return new Response("shared root not found", { status: 503 });
    const rel = decodeURIComponent(new URL(request.url).pathname).replace(/^\/+/, "");
    const full = path.resolve(base, rel);
    if (full !== base && !full.startsWith(base + path.sep)) return new Response("forbidden", { status: 403 });
    try {
      const bytes = await readFile(full);
      return new Response(bytes, { headers: { "content-type": "application/octet-stream" } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  };
}
