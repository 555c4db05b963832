import type { JWTPayload } from "hono/utils/jwt/types";
import { newId } from "../util/crypto";
import type { SessionClaims } from "./principal";

export const JWT_ISSUER = "docchat-edge";
export const JWT_AUDIENCE = "docchat-edge/chat";
const ALG = "HS256" as const;
// Only chat sessions use JWTs: the signer and verifier load on first use, not at every cold start.
const honoJwt = () => import("hono/jwt");
/** Clock skew tolerated between the signer and a verifier (seconds). */
export const CLOCK_SKEW = 30;

export async function signSessionToken(
  secret: string,
  claims: { sid: string; sub: string; col: string | null; exp: number; bnd?: string },
): Promise<{ token: string; jti: string }> {
  const now = Math.floor(Date.now() / 1000);
  const jti = newId("jti");
  const payload: JWTPayload = {
    iss: JWT_ISSUER,
    aud: JWT_AUDIENCE,
    sub: claims.sub,
    sid: claims.sid,
    // The original's claim name, kept so tokens remain readable by the original's tooling.
    session_id: claims.sid,
    col: claims.col,
    // A bound key's session: the digest of its binding (the binding itself is in the session object).
    ...(claims.bnd ? { bnd: claims.bnd } : {}),
    iat: now,
    nbf: now,
    exp: claims.exp,
    jti,
  };
  const { sign } = await honoJwt();
  return { token: await sign(payload, secret, ALG), jti };
}

export type VerifyFailure = "invalid" | "expired";

/**
 * Verifies a session token. The algorithm is pinned (an `alg: none` or RS256 header is refused by
 * hono/jwt before any signature check); time claims are checked here so that one clock-skew
 * allowance applies to all of them, and every claim the token must carry is required.
 */
export async function verifySessionToken(
  secret: string,
  token: string,
): Promise<{ ok: true; claims: SessionClaims } | { ok: false; reason: VerifyFailure }> {
  let payload: JWTPayload;
  const { verify } = await honoJwt();
  try {
    payload = await verify(token, secret, {
      alg: ALG,
      // The header must say what this is (hono/jwt's sign writes typ "JWT").
      typ: "JWT",
      iss: JWT_ISSUER,
      aud: JWT_AUDIENCE,
      exp: false,
      nbf: false,
      iat: false,
    });
  } catch {
    return { ok: false, reason: "invalid" };
  }
  const now = Math.floor(Date.now() / 1000);
  const { sub, sid, col, exp, nbf, iat, jti, bnd } = payload as Record<string, unknown>;
  if (
    typeof sub !== "string" ||
    typeof sid !== "string" ||
    typeof jti !== "string" ||
    !(typeof col === "string" || col === null) ||
    typeof exp !== "number" ||
    typeof nbf !== "number" ||
    typeof iat !== "number" ||
    !(bnd === undefined || typeof bnd === "string")
  ) {
    return { ok: false, reason: "invalid" };
  }
  if (nbf > now + CLOCK_SKEW || iat > now + CLOCK_SKEW) return { ok: false, reason: "invalid" };
  if (exp <= now - CLOCK_SKEW) return { ok: false, reason: "expired" };
  return { ok: true, claims: { sub, sid, col, exp, jti, ...(bnd !== undefined ? { bnd } : {}) } };
}
