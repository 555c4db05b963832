import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { costUnits, defineRoute, need } from "../auth/access";
import { principalOf, requireLegacyTempKey } from "../auth/authenticate";
import { chargeMore } from "../auth/middleware";
import { guardName, guardStub } from "../auth/guard-do";
import { sessionStub } from "../chat/session-do";
import type { AppEnv } from "../http/context";
import { ApiError, legacyError } from "../http/errors";
import { errorResponses, json, legacyErrorResponses } from "../http/schemas";
import { ingestLegacyDocuments, LEGACY_ID_MAX, LEGACY_MAX_DOCUMENTS, legacyBodyError } from "../ingest/legacy";
import { startSession } from "./shared/session";

export const SessionResponse = z
  .object({
    jwt_token: z.string(),
    url: z.string().openapi({ description: "This deployment's chat endpoint (pass it back as `url`)" }),
    session_id: z.string(),
    expires_at: z.string(),
    collection_id: z.string().nullable(),
  })
  .openapi("ChatSession");

const apiStartChat = defineRoute({
  method: "post",
  path: "/api/start_chat",
  access: { need: need.tempKey, errors: "legacy" },
  tags: ["Original API"],
  summary: "Start a chat session with a temporary API key",
  description: "Header `X-API-Key: <temporary key>`. The master key is refused (400), as in the original.",
  responses: { 200: json(SessionResponse, "Session token and chat URL"), ...legacyErrorResponses(400, 401, 403, 500) },
});

const LegacyStartBody = z
  .object({
    model: z.string().min(1).max(200).optional(),
    embeddings: z.array(z.array(z.number())).max(LEGACY_MAX_DOCUMENTS).optional(),
    // Indexed synchronously in this request: at most an upload request's files, each charged.
    document: z
      .array(z.object({ id: z.union([z.string().max(LEGACY_ID_MAX), z.number()]).optional(), text: z.string() }))
      .min(1)
      .max(LEGACY_MAX_DOCUMENTS)
      .optional(),
  })
  .openapi("StartChatRequest");

const startChat = defineRoute({
  method: "post",
  path: "/start_chat",
  // Plus one upload's cost per document it carries (charged by the handler once the body is read).
  access: { need: need.startChat, errors: "legacy", cost: "upload" },
  tags: ["Original API"],
  summary: "Start a chat session (original, now authenticated)",
  description:
    "Open in the original; here it requires a temporary key (`X-API-Key`) or the master key (`X-Master-API-Key`). " +
    "With the original's `{model, embeddings, document}` body the documents are ingested into a new collection " +
    "(master key, or a key with the `write` scope whose collection receives them): at most 100 documents, ids of at most 128 " +
    "characters, each document charged as an upload (RATE_COST_UPLOAD).",
  request: { body: { required: false, content: { "application/json": { schema: LegacyStartBody } } } },
  responses: { 200: json(SessionResponse, "Session token and chat URL"), ...legacyErrorResponses(400, 401, 403, 500) },
});

const endSessionRoute = defineRoute({
  method: "delete",
  path: "/v1/sessions/{id}",
  access: { need: need.sessionOrMaster },
  tags: ["Chat"],
  summary: "End a chat session (its own token, or the master key)",
  description: "The session's history is deleted and its token stops working at once.",
  request: { params: z.object({ id: z.string().min(1).max(64) }) },
  responses: { 200: json(z.object({ session_id: z.string(), ended: z.literal(true) })), ...errorResponses(401, 404, 429, 500) },
});

/** Ends a session: its object forgets everything, its owner's guard stops counting it. */
export async function endSession(env: Env, sid: string): Promise<boolean> {
  const stub = sessionStub(env, sid);
  const meta = await stub.meta();
  if (!meta) return false;
  await stub.end();
  const guard = meta.key_id === "master" ? guardName.collection(meta.collection_id ?? "none") : guardName.key(meta.key_id);
  await guardStub(env, guard).removeSession(sid);
  return true;
}

export function mountSessions(app: OpenAPIHono<AppEnv>): void {
  app.openapi(endSessionRoute, async (c) => {
    const { id } = c.req.valid("param");
    const p = principalOf(c); // the auth middleware accepted the master key or a session token
    if (p.kind === "session" && p.claims.sid !== id) throw new ApiError("not_found", "Session not found");
    if (p.kind !== "session" && p.kind !== "master") throw new ApiError("forbidden", "A session token or the master key is required");
    if (!(await endSession(c.env, id))) throw new ApiError("not_found", "Session not found or ended");
    return c.json({ session_id: id, ended: true as const }, 200);
  });

  app.openapi(apiStartChat, async (c) => {
    const key = await requireLegacyTempKey(c);
    return c.json(
      await startSession(c, { keyId: key.id, collectionId: key.collection_id, keyExpiresAt: key.expires_at, binding: key.binding }),
      200,
    );
  });

  app.openapi(
    startChat,
    async (c) => {
      const body = c.req.valid("json") ?? {};
      const hasDocs = body.document !== undefined && body.document.length > 0;
      // The declared cost paid for one document; each further one costs an upload too.
      if (hasDocs) await chargeMore(c, ((body.document?.length ?? 0) - 1) * costUnits("upload", c.var.settings));
      // The auth middleware established who this is before the body was read.
      if (principalOf(c).kind === "master") {
        if (!hasDocs || !body.model) {
          throw legacyError("missing_fields", "error", "Missing required fields (model, embeddings, document)");
        }
        const collectionId = await ingestLegacyDocuments(c.env, c.var.settings, {
          model: body.model,
          embeddings: body.embeddings ?? [],
          documents: body.document ?? [],
        });
        return c.json(await startSession(c, { keyId: "master", collectionId, keyExpiresAt: null }), 200);
      }
      const key = await requireLegacyTempKey(c);
      if (hasDocs) {
        if (!key.scopes.includes("write") || !key.collection_id) {
          throw new ApiError("forbidden", "This API key lacks the 'write' scope needed to add documents");
        }
        await ingestLegacyDocuments(c.env, c.var.settings, {
          model: body.model ?? key.model ?? "unknown",
          embeddings: body.embeddings ?? [],
          documents: body.document ?? [],
          collectionId: key.collection_id,
        });
      }
      return c.json(
        await startSession(c, { keyId: key.id, collectionId: key.collection_id, keyExpiresAt: key.expires_at, binding: key.binding }),
        200,
      );
    },
    (result) => {
      if (!result.success) throw legacyBodyError(result.error.issues);
      return undefined;
    },
  );
}
