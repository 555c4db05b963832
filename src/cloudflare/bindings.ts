import { ApiError } from "../http/errors";

/**
 * What the Cloudflare providers need from their bindings. Narrower than `Ai` / `VectorizeIndex`
 * so that the real bindings and the RPC doubles of the test pool (WorkerEntrypoint classes that
 * implement only these methods) both fit without casts beyond the one in test/env.d.ts.
 */
export type AiBinding = Pick<Ai, "run">;

type VectorizeMethods = "query" | "upsert" | "deleteByIds";
/** `wrangler types` emits the legacy `VectorizeIndex` type; a V2 index is typed `Vectorize`. Either works. */
export type VectorizeBinding = Pick<VectorizeIndex, VectorizeMethods> | Pick<Vectorize, VectorizeMethods>;

/**
 * A failed call to a Cloudflare service. The client sees a fixed message; the upstream's own text
 * goes to the log only (it may carry account or model details).
 */
export function upstreamFailure(service: string, cause: unknown): ApiError {
  if (cause instanceof ApiError) return cause;
  console.error(JSON.stringify({ upstream: service, error: cause instanceof Error ? cause.message : String(cause) }));
  return new ApiError("upstream_error", `The ${service} request failed`, { cause });
}

export function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}
