import type { Context } from "hono";
import { parseSecrets } from "../config";
import type { AppEnv } from "../http/context";
import { ApiError, legacyError } from "../http/errors";
import { timingSafeEqualStrings } from "../util/crypto";
import { verifySessionToken } from "./jwt";
import { lookupKey } from "./keys";
import type { KeyRecord, Principal, Scope, SessionClaims } from "./principal";

type Ctx = Context<AppEnv>;

export async function isMasterKey(c: Ctx, presented: string | undefined): Promise<boolean> {
  const { MASTER_API_KEY } = parseSecrets(c.env);
  if (!presented) return false;
  return timingSafeEqualStrings(presented, MASTER_API_KEY);
}

export function bearer(c: Ctx): string | undefined {
  const h = c.req.header("Authorization");
  if (!h) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(h.trim());
  return m ? m[1].trim() : undefined;
}

/** The principal the auth middleware (src/auth/middleware.ts) established before any body was read. */
function established(c: Ctx): Principal | undefined {
  return c.get("principal") as Principal | undefined;
}

/**
 * The request's principal, for handlers: the auth middleware set it from the route's declaration.
 * Its absence (a route declared public by mistake) is a 401, never a 500.
 */
export function principalOf(c: Ctx): Principal {
  const p = established(c);
  if (!p) throw new ApiError("unauthorized", "Credentials are required");
  return p;
}

/** `X-Master-API-Key` only, as the original's /get_temp_api_key. */
export async function requireMaster(c: Ctx, legacy = false): Promise<Principal> {
  parseSecrets(c.env); // fail closed before looking at credentials
  if (established(c)?.kind === "master") return { kind: "master" };
  if (await isMasterKey(c, c.req.header("X-Master-API-Key"))) return { kind: "master" };
  if (legacy) throw legacyError("invalid_master_key", "message", "Invalid master API key");
  throw new ApiError("invalid_master_key", "A valid master API key is required (header X-Master-API-Key)");
}

/**
 * The master key (X-Master-API-Key only) or a temporary key (X-API-Key or `Authorization: Bearer`).
 * A temporary key must hold `scope`.
 */
export async function requireKeyOrMaster(c: Ctx, scope: Scope): Promise<Principal> {
  parseSecrets(c.env);
  const known = established(c);
  if (known?.kind === "master") return known;
  if (known?.kind === "key") {
    requireScope(known.key, scope);
    return known;
  }
  const master = c.req.header("X-Master-API-Key");
  if (master !== undefined) {
    if (await isMasterKey(c, master)) return { kind: "master" };
    throw new ApiError("invalid_master_key", "Invalid master API key");
  }
  const presented = c.req.header("X-API-Key") ?? bearer(c);
  if (!presented) throw new ApiError("unauthorized", "An API key is required (header X-API-Key or Authorization: Bearer)");
  const key = await lookupKey(c.env, presented, { cacheSeconds: c.var.settings.AUTH_CACHE_SECONDS });
  if (!key) throw new ApiError("invalid_api_key", "Invalid or expired API key");
  requireScope(key, scope);
  return { kind: "key", key };
}

export function requireScope(key: KeyRecord, scope: Scope): void {
  if (!key.scopes.includes(scope)) throw new ApiError("forbidden", `This API key lacks the '${scope}' scope`);
}

/** Ensures a principal may touch a collection: the master key any, a key only its own. */
export function assertCollectionAccess(p: Principal, collectionId: string): void {
  if (p.kind === "master") return;
  const own = p.kind === "key" ? p.key.collection_id : p.claims.col;
  // Not found rather than forbidden: a key must not learn which other collections exist.
  if (own !== collectionId) throw new ApiError("not_found", "Collection not found");
}

/**
 * Chat token from `Authorization: <jwt>` (the original sent it raw) or `Authorization: Bearer <jwt>`.
 * `legacy` keeps the original's messages ("Token is missing" / "Token is invalid").
 */
export async function requireSessionToken(c: Ctx, legacy: boolean): Promise<SessionClaims> {
  const { JWT_SECRET_KEY } = parseSecrets(c.env);
  const known = established(c);
  if (known?.kind === "session") return known.claims;
  const raw = c.req.header("Authorization")?.trim();
  const token = raw ? (bearer(c) ?? raw) : undefined;
  if (!token) {
    throw legacy
      ? legacyError("token_missing", "message", "Token is missing")
      : new ApiError("token_missing", "A session token is required (Authorization: Bearer <jwt>)");
  }
  const result = await verifySessionToken(JWT_SECRET_KEY, token);
  if (!result.ok) {
    const text = result.reason === "expired" ? "Token has expired" : "Token is invalid";
    throw legacy ? legacyError("token_invalid", "message", "Token is invalid") : new ApiError("token_invalid", text);
  }
  return result.claims;
}

/**
 * The original's /api/start_chat: a temporary key in X-API-Key. The master key there is answered
 * with the original's 400 (the one place a master key in X-API-Key is recognised, to say so).
 */
export async function requireLegacyTempKey(c: Ctx): Promise<KeyRecord> {
  parseSecrets(c.env);
  const known = established(c);
  if (known?.kind === "key") return known.key;
  const presented = c.req.header("X-API-Key");
  if (!presented) throw legacyError("unauthorized", "message", "API key is missing");
  if (await isMasterKey(c, presented)) {
    throw legacyError("master_key_not_allowed", "error", "Master API key cannot be used to start a chat. Please use a temporary API key.");
  }
  const key = await lookupKey(c.env, presented, { cacheSeconds: c.var.settings.AUTH_CACHE_SECONDS });
  if (!key) throw legacyError("invalid_api_key", "message", "Invalid API key");
  if (!key.scopes.includes("chat")) throw legacyError("forbidden", "message", "This API key lacks the 'chat' scope");
  return key;
}

export function looksLikeJwt(s: string | undefined): boolean {
  return !!s && /^(Bearer\s+)?[\w-]+\.[\w-]+\.[\w-]+$/i.test(s.trim());
}

/** A key that may chat or read (listing models needs either). */
export async function requireAnyUse(c: Ctx): Promise<Principal> {
  try {
    return await requireKeyOrMaster(c, "chat");
  } catch (err) {
    if (err instanceof ApiError && err.code === "forbidden") return requireKeyOrMaster(c, "read");
    throw err;
  }
}
