import type { Context, MiddlewareHandler } from "hono";
import type { Settings } from "../config";
import { parseSecrets } from "../config";
import type { AppEnv } from "../http/context";
import { ApiError, LEGACY_PATHS, legacyError } from "../http/errors";
import { clientIp, rateLimited, rateLimitHeaders, setResponseHeaders } from "./rate-limit";
import { isMasterKey, looksLikeJwt, requireKeyOrMaster, requireLegacyTempKey, requireMaster, requireSessionToken } from "./authenticate";
import { type Bucket, guardName, guardStub } from "./guard-do";
import { forgetCachedKeys, lookupKey } from "./keys";
import type { Principal, Scope } from "./principal";

type Ctx = Context<AppEnv>;

/** What a route demands, decided from method and path alone: no body is needed to know it. */
export type Need =
  | { kind: "public" }
  | { kind: "master"; legacy: boolean }
  | { kind: "key"; scope: Scope }
  | { kind: "legacy-temp-key" }
  | { kind: "start-chat" }
  | { kind: "session"; legacy: boolean }
  | { kind: "session-or-key"; scope: Scope }
  | { kind: "session-or-master" }
  | { kind: "optional-master" };

export function needOf(method: string, path: string): Need {
  const m = method.toUpperCase();
  if (path === "/healthz") return { kind: "optional-master" };
  if (path === "/get_temp_api_key") return { kind: "master", legacy: true };
  if (path === "/v1/keys" || path.startsWith("/v1/keys/")) return { kind: "master", legacy: false };
  if (path === "/api/start_chat") return { kind: "legacy-temp-key" };
  if (path === "/start_chat") return { kind: "start-chat" };
  if (path === "/api/chat" || path === "/chat") return { kind: "session", legacy: true };
  if (path === "/v1/chat") return { kind: "session-or-key", scope: "chat" };
  if (path.startsWith("/v1/sessions/")) return { kind: "session-or-master" };
  if (path === "/make_embedding") return { kind: "key", scope: "write" };
  if (path === "/v1/collections") return m === "POST" ? { kind: "master", legacy: false } : { kind: "key", scope: "read" };
  if (path.startsWith("/v1/collections/")) {
    const rest = path.slice("/v1/collections/".length);
    if (m === "DELETE" && !rest.includes("/")) return { kind: "master", legacy: false };
    // Collection settings and webhook endpoints (issue 20): the master key or a key with `admin`.
    if (m === "PATCH" && !rest.includes("/")) return { kind: "key", scope: "admin" };
    if (/^[^/]+\/webhooks(\/|$)/.test(rest)) return { kind: "key", scope: "admin" };
    if (m === "GET" || m === "HEAD" || (m === "POST" && rest.endsWith("/search"))) return { kind: "key", scope: "read" };
    return { kind: "key", scope: "write" };
  }
  return { kind: "public" };
}

/** Cost units a request spends from its key's budget: answers and re-embedding cost more than reads. */
export function costOf(method: string, path: string, s: Settings): number {
  if (path === "/v1/chat" || path === "/api/chat" || path === "/chat") return s.RATE_COST_CHAT;
  // A collection's reindex re-embeds all of it; one document's costs what its upload did.
  if (method === "POST" && /^\/v1\/collections\/[^/]+\/reindex$/.test(path)) return s.RATE_COST_REINDEX;
  if (method === "POST" && path.endsWith("/reindex")) return s.RATE_COST_UPLOAD;
  if (method === "POST" && (path === "/make_embedding" || path.endsWith("/documents") || path === "/start_chat")) return s.RATE_COST_UPLOAD;
  return 1;
}

async function resolve(c: Ctx, need: Need): Promise<Principal> {
  switch (need.kind) {
    case "master":
      return requireMaster(c, need.legacy);
    case "optional-master":
      return requireMaster(c);
    case "key":
      return requireKeyOrMaster(c, need.scope);
    case "legacy-temp-key":
      return { kind: "key", key: await requireLegacyTempKey(c) };
    case "start-chat": {
      if (await isMasterKey(c, c.req.header("X-Master-API-Key"))) return { kind: "master" };
      const presented = c.req.header("X-API-Key");
      if (!presented) throw legacyError("unauthorized", "message", "API key is missing");
      const key = await lookupKey(c.env, presented, { cacheSeconds: c.var.settings.AUTH_CACHE_SECONDS });
      if (!key) throw legacyError("invalid_api_key", "message", "Invalid API key");
      if (!key.scopes.includes("chat")) throw legacyError("forbidden", "message", "This API key lacks the 'chat' scope");
      return { kind: "key", key };
    }
    case "session":
      return { kind: "session", claims: await requireSessionToken(c, need.legacy) };
    case "session-or-key":
      if (looksLikeJwt(c.req.header("Authorization"))) return { kind: "session", claims: await requireSessionToken(c, false) };
      return requireKeyOrMaster(c, need.scope);
    case "session-or-master": {
      const master = c.req.header("X-Master-API-Key");
      if (master !== undefined) return requireMaster(c);
      return { kind: "session", claims: await requireSessionToken(c, false) };
    }
    default:
      throw new ApiError("internal_error", "Unknown authentication requirement");
  }
}

/** Isolate-local memory of addresses over the failed-auth limit: they are refused with no round trip. */
const blockedUntil = new Map<string, number>();

function blockedFor(ip: string): number {
  const until = blockedUntil.get(ip);
  if (until === undefined) return 0;
  const left = (until - Date.now()) / 1000;
  if (left <= 0) blockedUntil.delete(ip);
  return Math.max(0, left);
}

/**
 * First in the chain (before even the IP limiter's call): an address this isolate knows to be over
 * the failed-auth limit is refused at once when it presents credentials, at the cost of a map look-up.
 */
export function refuseBlockedAddresses(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (blockedUntil.size === 0 || !presentsCredentials(c)) return next();
    const wait = blockedFor(clientIp(c));
    if (wait > 0) throw rateLimited(`Too many failed authentications from this address; retry in ${Math.ceil(wait)} s`, wait);
    return next();
  };
}

function presentsCredentials(c: Ctx): boolean {
  return !!(c.req.header("X-Master-API-Key") ?? c.req.header("X-API-Key") ?? c.req.header("Authorization"));
}

/**
 * Records a failed authentication: logged with the request id and client address (never what was
 * presented), and counted per address by the stricter failure limit, which is never off. Past the
 * limit the answer is 429 rather than 401, and this isolate refuses the address until the window ends.
 */
async function onFailure(c: Ctx, ip: string, err: ApiError, path: string): Promise<ApiError> {
  console.warn(JSON.stringify({ event: "auth_failed", request_id: c.var.requestId, ip, code: err.code, path }));
  const limit = c.var.settings.RATE_LIMIT_AUTH_FAILURES_PER_MINUTE;
  const r = await guardStub(c.env, guardName.failures(ip)).hit([{ name: "auth_failures", limit, period: 60 }], 1);
  if (r.allowed) return err;
  const reset = r.buckets[0]?.reset ?? 60;
  blockedUntil.set(ip, Date.now() + reset * 1000);
  return rateLimited(`Too many failed authentications from this address; retry in ${reset} s`, reset, rateLimitHeaders(r.buckets));
}

/**
 * Authentication before any validator or body parser: every credential is checked from the headers
 * alone, so an unauthenticated request is answered 401 without its body being read. The principal
 * is then charged against its key's (or session's) rate limit, and the response carries the
 * standard RateLimit headers.
 */
export function authenticateFirst(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.req.method === "OPTIONS") return next();
    const path = new URL(c.req.url).pathname;
    const need = needOf(c.req.method, path);
    if (need.kind === "public") return next();
    if (need.kind === "optional-master" && c.req.header("X-Master-API-Key") === undefined) return next();
    parseSecrets(c.env); // misconfiguration is 500 for everyone, never counted as a client's failure

    const ip = clientIp(c);
    const wait = presentsCredentials(c) ? blockedFor(ip) : 0;
    if (wait > 0) {
      console.warn(JSON.stringify({ event: "auth_blocked", request_id: c.var.requestId, ip, path }));
      throw rateLimited(`Too many failed authentications from this address; retry in ${Math.ceil(wait)} s`, wait);
    }
    let principal: Principal;
    try {
      principal = await resolve(c, need);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) throw await onFailure(c, ip, err, path);
      throw err;
    }
    c.set("principal", principal);
    const headers = await chargePrincipal(c, principal, costOf(c.req.method, path, c.var.settings));
    await next();
    if (headers) setResponseHeaders(c, headers);
  };
}

/** Spends the request's cost from its principal's budget; the master key is limited per address only. */
async function chargePrincipal(c: Ctx, p: Principal, cost: number): Promise<Record<string, string> | null> {
  const limit = c.var.settings.RATE_LIMIT_KEY_PER_MINUTE;
  if (limit === 0 || p.kind === "master") return null;
  const buckets: Bucket[] = [];
  let name: string;
  if (p.kind === "key") {
    name = guardName.key(p.key.id);
    buckets.push({ name: "key", limit, period: 60 });
  } else {
    const sub = p.claims.sub;
    name = sub === "master" ? guardName.collection(p.claims.col ?? "none") : guardName.key(sub);
    if (sub !== "master") buckets.push({ name: "key", limit, period: 60 });
    buckets.push({ name: "session", limit, period: 60 });
  }
  // Session buckets are named per session inside the key's object.
  const wire = buckets.map((b) => (b.name === "session" && p.kind === "session" ? { ...b, name: `ses:${p.claims.sid}` } : b));
  const r = await guardStub(c.env, name).hit(wire, cost);
  const shown = r.buckets.map((b) => ({ ...b, name: b.name.startsWith("ses:") ? "session" : b.name }));
  if (r.revoked) {
    // The key's own object says revoked: refuse now, wherever KV or this isolate's cache still has it.
    forgetCachedKeys();
    const legacy = LEGACY_PATHS.has(new URL(c.req.url).pathname);
    if (p.kind === "session") {
      throw legacy ? legacyError("invalid_session", "message", "Invalid session") : new ApiError("invalid_session", "Session not found or ended");
    }
    throw legacy ? legacyError("invalid_api_key", "message", "Invalid API key") : new ApiError("invalid_api_key", "Invalid or expired API key");
  }
  const headers = rateLimitHeaders(shown);
  if (!r.allowed) {
    const wait = Math.max(...shown.filter((b) => b.remaining < cost).map((b) => b.reset), 1);
    throw rateLimited(`Rate limit exceeded for this ${p.kind === "key" ? "API key" : "session"}; retry in ${wait} s`, wait, headers);
  }
  return headers;
}
