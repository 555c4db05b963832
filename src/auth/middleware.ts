import type { Context, MiddlewareHandler } from "hono";
import { parseSecrets } from "../config";
import type { AppEnv } from "../http/context";
import { ApiError, legacyError } from "../http/errors";
import { type AccessTable, costUnits, type Need } from "./access";
import { addressBucket, clientIp, rateLimited, rateLimitHeaders, setResponseHeaders } from "./rate-limit";
import { isMasterKey, looksLikeJwt, requireKeyOrMaster, requireLegacyTempKey, requireMaster, requireSessionToken } from "./authenticate";
import { type Bucket, guardName, guardStub } from "./guard-do";
import { forgetCachedKeys, lookupKey } from "./keys";
import type { Principal, Scope } from "./principal";

type Ctx = Context<AppEnv>;

/** How `need` is checked: the credential it names, from the headers alone. */
async function resolve(c: Ctx, need: Need, legacy: boolean): Promise<Principal> {
  switch (need.kind) {
    case "master":
      return requireMaster(c, legacy);
    case "public-or-master":
      return requireMaster(c);
    case "key":
      return requireKeyWithAnyScope(c, need.scopes);
    case "temp-key":
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
      return { kind: "session", claims: await requireSessionToken(c, legacy) };
    case "session-or-key":
      if (looksLikeJwt(c.req.header("Authorization"))) return { kind: "session", claims: await requireSessionToken(c, false) };
      return requireKeyWithAnyScope(c, need.scopes);
    case "session-or-master": {
      const master = c.req.header("X-Master-API-Key");
      if (master !== undefined) return requireMaster(c);
      return { kind: "session", claims: await requireSessionToken(c, false) };
    }
    case "public":
      throw new ApiError("internal_error", "A public route has no principal to resolve");
  }
}

/** The master key, or a temporary key holding one of `scopes` (the first scope names the refusal). */
async function requireKeyWithAnyScope(c: Ctx, scopes: readonly Scope[]): Promise<Principal> {
  const p = await requireKeyOrMaster(c, scopes[0]).catch(async (err) => {
    if (!(err instanceof ApiError && err.code === "forbidden") || scopes.length < 2) throw err;
    for (const s of scopes.slice(1)) {
      try {
        return await requireKeyOrMaster(c, s);
      } catch (e) {
        if (!(e instanceof ApiError && e.code === "forbidden")) throw e;
      }
    }
    throw err;
  });
  return p;
}

/** Isolate-local memory of addresses over the failed-auth limit: they are refused with no round trip. */
const blockedUntil = new Map<string, number>();

function blockedFor(ip: string): number {
  const until = blockedUntil.get(addressBucket(ip));
  if (until === undefined) return 0;
  const left = (until - Date.now()) / 1000;
  if (left <= 0) blockedUntil.delete(addressBucket(ip));
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
  // Counted per /64 for IPv6 (rate-limit.ts `addressBucket`); logged with the full address.
  const r = await guardStub(c.env, guardName.failures(addressBucket(ip))).hit([{ name: "auth_failures", limit, period: 60 }], 1);
  if (r.allowed) return err;
  const reset = r.buckets[0]?.reset ?? 60;
  blockedUntil.set(addressBucket(ip), Date.now() + reset * 1000);
  return rateLimited(`Too many failed authentications from this address; retry in ${reset} s`, reset, rateLimitHeaders(r.buckets));
}

/**
 * Percent-encodings that no route of this API needs and that different layers (the router, a param
 * decoder, a proxy, the static-assets matcher) may read differently: an encoded `/`, `\\`, `%`,
 * control character, or a malformed escape. Everything else is decided on `c.req.path`, the decoded
 * path Hono's router routes, so the declaration checked is always the route that runs.
 */
const AMBIGUOUS_ESCAPE = /%(?:2f|5c|25|[01][0-9a-f]|7f)|%(?![0-9a-f]{2})/i;

export function rawPath(url: string): string {
  const start = url.indexOf("/", url.indexOf("://") + 3);
  const end = url.search(/[?#]/);
  return start === -1 ? "/" : url.slice(start, end === -1 ? undefined : end);
}

/** 400 for a raw path whose decoding is ambiguous (see AMBIGUOUS_ESCAPE). */
export function refuseAmbiguousPath(c: Ctx): void {
  const raw = rawPath(c.req.url);
  if (raw.includes("%") && AMBIGUOUS_ESCAPE.test(raw)) {
    throw new ApiError("bad_request", "The request path contains an encoded '/', '\\', '%' or control character, or a malformed escape");
  }
}

/**
 * Authentication before any validator or body parser, from the route's declaration: the method and
 * decoded path (`c.req.path`, what the router routes) select the declaration; no declaration is 404.
 * The credential it names is checked from the headers alone, so an unauthenticated request is
 * answered 401 without its body being read. The principal is then charged the declared cost against
 * its key's (or session's) rate limit, and the response carries the standard RateLimit headers.
 */
export function authenticateFirst(table: () => AccessTable): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.req.method === "OPTIONS") return next();
    refuseAmbiguousPath(c);
    const path = c.req.path;
    const route = table().match(c.req.method, path);
    if (!route) throw new ApiError("not_found", `No route for ${c.req.method} ${path}`);
    c.set("access", route.access);
    const need = route.access.need;
    if (need.kind === "public") return next();
    if (need.kind === "public-or-master" && c.req.header("X-Master-API-Key") === undefined) return next();
    parseSecrets(c.env); // misconfiguration is 500 for everyone, never counted as a client's failure

    const ip = clientIp(c);
    const wait = presentsCredentials(c) ? blockedFor(ip) : 0;
    if (wait > 0) {
      console.warn(JSON.stringify({ event: "auth_blocked", request_id: c.var.requestId, ip, path }));
      throw rateLimited(`Too many failed authentications from this address; retry in ${Math.ceil(wait)} s`, wait);
    }
    let principal: Principal;
    try {
      principal = await resolve(c, need, route.access.errors === "legacy");
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) throw await onFailure(c, ip, err, path);
      throw err;
    }
    c.set("principal", principal);
    const charge = chargePrincipal(c, principal, costUnits(route.access.cost, c.var.settings)).then((headers) => {
      if (headers) c.set("rateLimitHeaders", headers);
    });
    if (route.access.overlapGuard) {
      // In flight while the handler's read-only steps run; a refusal is observed by guardVerdict
      // (and below), so the rejection is never unhandled.
      charge.catch(() => undefined);
      c.set("guardVerdict", charge);
    } else {
      await charge;
    }
    await next();
    // Whatever the handler answered (a 404 it found meanwhile included), a refused key is refused.
    if (route.access.overlapGuard) await charge;
    const latest = c.get("rateLimitHeaders");
    if (latest) setResponseHeaders(c, latest);
  };
}

const SETTLED = Promise.resolve();

/**
 * The key guard's verdict: resolves once the request's charge is accepted, rejects with its 429 or
 * 401. Already settled on routes without `overlapGuard` (the middleware awaited it) and on public ones.
 */
export function guardVerdict(c: Ctx): Promise<void> {
  return c.get("guardVerdict") ?? SETTLED;
}

/**
 * `step`'s outcome once the guard's verdict is in: a refusal wins over the step's own error (429
 * before 404, so a refused key learns nothing about what exists), otherwise the step's value or error.
 */
export async function afterVerdict<T>(c: Ctx, step: Promise<T>): Promise<T> {
  const settled = await step.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  await guardVerdict(c);
  if (!settled.ok) throw settled.error;
  return settled.value;
}

/**
 * Spends more of the request's principal budget after the declared cost (an MCP tool call, the
 * documents of the original's /start_chat). Throws 429 `rate_limited` when it does not fit; the
 * response's RateLimit headers show what is left.
 */
export async function chargeMore(c: Ctx, units: number): Promise<void> {
  const p = c.get("principal");
  if (!p || units <= 0) return;
  await guardVerdict(c); // the declared cost is charged first
  const headers = await chargePrincipal(c, p, units);
  if (headers) c.set("rateLimitHeaders", headers);
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
    const legacy = c.get("access")?.errors === "legacy";
    if (p.kind === "session") {
      throw legacy
        ? legacyError("invalid_session", "message", "Invalid session")
        : new ApiError("invalid_session", "Session not found or ended");
    }
    throw legacy
      ? legacyError("invalid_api_key", "message", "Invalid API key")
      : new ApiError("invalid_api_key", "Invalid or expired API key");
  }
  const headers = rateLimitHeaders(shown);
  if (!r.allowed) {
    const wait = Math.max(...shown.filter((b) => b.remaining < cost).map((b) => b.reset), 1);
    throw rateLimited(`Rate limit exceeded for this ${p.kind === "key" ? "API key" : "session"}; retry in ${wait} s`, wait, headers);
  }
  return headers;
}
