import type { Context, MiddlewareHandler } from "hono";
import type { BucketState } from "./guard-do";
import type { AppEnv } from "../http/context";
import { ApiError } from "../http/errors";

/**
 * Rate-limit answers in the form of draft-ietf-httpapi-ratelimit-headers: `RateLimit-Policy` names
 * each policy with its quota (q) and window (w), `RateLimit` its remaining units (r) and the seconds
 * until they reset (t). A 429 also carries `Retry-After`.
 */
export function rateLimitHeaders(buckets: BucketState[]): Record<string, string> {
  return {
    "RateLimit-Policy": buckets.map((b) => `"${b.name}";q=${b.limit};w=${b.period}`).join(", "),
    RateLimit: buckets.map((b) => `"${b.name}";r=${b.remaining};t=${b.reset}`).join(", "),
  };
}

export function rateLimited(message: string, retryAfter: number, extra: Record<string, string> = {}): ApiError {
  return new ApiError("rate_limited", message, {
    details: { retry_after: retryAfter },
    headers: { ...extra, "Retry-After": String(Math.max(1, Math.ceil(retryAfter))) },
  });
}

/**
 * The client's address as Cloudflare's edge reports it. Never X-Forwarded-For: a client can set that.
 * Requests that carry no CF-Connecting-IP (tests, some local tools) share one bucket.
 */
export function clientIp(c: Context<AppEnv>): string {
  return c.req.header("CF-Connecting-IP")?.trim() || "unknown";
}

/**
 * The bucket a client address is counted in: an IPv4 address as it is, an IPv6 address by its /64
 * (one subscriber is usually given a whole /64, so counting single addresses would give one client
 * 2^64 buckets). IPv4-mapped IPv6 counts as its IPv4 address.
 */
export function addressBucket(ip: string): string {
  if (!ip.includes(":")) return ip;
  const mapped = /^(?:0*:)*:?(?:0*:)?ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1];
  const bare = ip.replace(/%.*$/, "").toLowerCase(); // no zone id
  const [head, tail] = bare.split("::");
  const groups = (part: string | undefined) => (part ? part.split(":") : []);
  let all = groups(head);
  if (tail !== undefined) {
    const rest = groups(tail);
    all = [...all, ...Array(Math.max(0, 8 - all.length - rest.length)).fill("0"), ...rest];
  }
  return `${all
    .slice(0, 4)
    .map((g) => (Number.parseInt(g || "0", 16) || 0).toString(16))
    .join(":")}::/64`;
}

/** The IP window of the Rate Limiting binding is fixed at 60 s (wrangler.jsonc `ratelimits`). */
const IP_PERIOD = 60;

/**
 * Per client IP, before authentication: the Workers Rate Limiting binding, which answers from the
 * local Cloudflare location with no round trip. It reports only success, so the 429 advertises the
 * policy and the window as Retry-After (an upper bound).
 */
export function ipRateLimit(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const limit = c.var.settings.RATE_LIMIT_IP_PER_MINUTE;
    if (limit === 0 || c.req.method === "OPTIONS") return next();
    const ip = clientIp(c);
    const { success } = await c.env.IP_RATE_LIMITER.limit({ key: addressBucket(ip) });
    if (!success) {
      console.warn(JSON.stringify({ event: "rate_limited", policy: "ip", request_id: c.var.requestId, ip }));
      throw rateLimited(`Too many requests from this address; the limit is ${limit} per minute`, IP_PERIOD, {
        "RateLimit-Policy": `"ip";q=${limit};w=${IP_PERIOD}`,
      });
    }
    await next();
  };
}

/** Adds headers to the response the rest of the chain produced (immutable responses are copied). */
export function setResponseHeaders(c: Context<AppEnv>, headers: Record<string, string>): void {
  try {
    for (const [k, v] of Object.entries(headers)) c.res.headers.set(k, v);
  } catch {
    const res = new Response(c.res.body, c.res);
    for (const [k, v] of Object.entries(headers)) res.headers.set(k, v);
    c.res = res;
  }
}
