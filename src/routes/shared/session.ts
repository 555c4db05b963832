import type { Context } from "hono";
import { guardName, guardStub } from "../../auth/guard-do";
import { signSessionToken } from "../../auth/jwt";
import { quotaExceeded } from "../../auth/quotas";
import { sessionStub } from "../../chat/session-do";
import { parseSecrets } from "../../config";
import type { AppEnv } from "../../http/context";
import { ApiError } from "../../http/errors";
import { newId } from "../../util/crypto";
import type { KeyBinding } from "../../auth/principal";
import { bindingDigest } from "../../retrieval/scope";

/** The public URL of this deployment's chat endpoint: CHAT_URL if configured, else <origin>/api/chat. */
export function chatUrl(c: Context<AppEnv>): string {
  return c.var.settings.CHAT_URL ?? `${new URL(c.req.url).origin}/api/chat`;
}

/** Creates the session object and signs its token; the token never outlives the key that asked for it. */
export async function startSession(
  c: Context<AppEnv>,
  owner: { keyId: string; collectionId: string | null; keyExpiresAt: number | null; binding?: KeyBinding | null },
) {
  const { JWT_SECRET_KEY } = parseSecrets(c.env);
  const now = Math.floor(Date.now() / 1000);
  let exp = now + c.var.settings.SESSION_TTL_SECONDS;
  if (owner.keyExpiresAt !== null) exp = Math.min(exp, owner.keyExpiresAt);
  const sid = newId("ses");
  // Registered with the key's guard (or, for the master key, the collection's): revocation and
  // collection delete end it from there, and the key's live sessions are capped.
  const guard = owner.keyId === "master" ? guardName.collection(owner.collectionId ?? "none") : guardName.key(owner.keyId);
  const max = c.var.settings.QUOTA_KEY_LIVE_SESSIONS;
  const slot = await guardStub(c.env, guard).addSession(sid, exp, owner.keyId === "master" ? Number.MAX_SAFE_INTEGER : max);
  if (!slot.ok) {
    if (slot.live === 0) throw new ApiError("invalid_api_key", "Invalid or expired API key");
    throw quotaExceeded("live_sessions", max, slot.live, "live sessions of this API key");
  }
  await sessionStub(c.env, sid).init({
    sid,
    key_id: owner.keyId,
    collection_id: owner.collectionId,
    created_at: now,
    expires_at: exp,
    // A session started from a bound key stays bound: its object keeps the binding, its token the digest.
    binding: owner.binding ? JSON.stringify(owner.binding) : null,
  });
  const bnd = await bindingDigest(owner.binding);
  const { token } = await signSessionToken(JWT_SECRET_KEY, { sid, sub: owner.keyId, col: owner.collectionId, exp, bnd });
  return {
    jwt_token: token,
    url: chatUrl(c),
    session_id: sid,
    expires_at: new Date(exp * 1000).toISOString(),
    collection_id: owner.collectionId,
  };
}
