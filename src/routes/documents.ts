import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { defineRoute, need } from "../auth/access";
import { assertCollectionAccess, requireKeyOrMaster } from "../auth/authenticate";
import { isJsonContentType } from "../http/content-type";
import type { AppEnv } from "../http/context";
import { ApiError, errorBody } from "../http/errors";
import { errorResponses, json } from "../http/schemas";
import { deleteDocument, discardUpload, requeueDocument } from "../ingest/pipeline";
import { enqueueAll } from "../ingest/queue";

import { acceptAll, readMultipartUpload, textRecordToUpload } from "../ingest/uploads";
import { requireCollection } from "../storage/collections";
import { listDocuments, publicDocument, requireDocument } from "../storage/documents";
import { assertVisible, bindingOf, canSee, effectiveScope, scopeSql } from "../retrieval/scope";
import type { Principal } from "../auth/principal";
import { touched, type UploadInput } from "../ingest/pipeline";
import { UploadExpiryFields } from "../ingest/expiry";

/**
 * A bound key may add only documents it will see: each file's metadata must match its filter
 * (multipart files carry none), and a key bound to document ids can add none at all.
 */
function assertUploadsVisible(p: Principal, inputs: UploadInput[]): void {
  const binding = bindingOf(p);
  if (!binding) return;
  if (binding.document_ids) throw new ApiError("forbidden", "This API key is bound to a list of documents and cannot add documents");
  const outside = inputs.filter((i) => !canSee(p, { id: "", metadata: i.metadata ?? {} }));
  if (outside.length > 0) {
    throw new ApiError("forbidden", "This API key may only add documents whose metadata matches its filter", {
      details: outside.map((i) => ({ name: i.name })),
    });
  }
}
import { ChunkingStrategySchema } from "./shared/schemas";

const DocumentSchema = z
  .object({
    id: z.string(),
    collection_id: z.string(),
    name: z.string(),
    content_type: z.string(),
    kind: z.string(),
    size: z.number(),
    sha256: z.string(),
    status: z.enum(["queued", "processing", "ready", "failed"]),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    chunk_count: z.number(),
    char_count: z.number(),
    pages: z.number().nullable(),
    metadata: z.record(z.string(), z.unknown()),
    chunking_strategy: ChunkingStrategySchema.nullable().openapi({ description: "The upload's own strategy; null = the collection's" }),
    created_at: z.string(),
    updated_at: z.string(),
    expires_at: z.string().nullable().openapi({ description: "When the expiry sweeper deletes the document (ISO 8601); null: never" }),
  })
  .openapi("Document");

const TextRecord = z.object({
  name: z.string().trim().min(1).max(512),
  text: z.string().min(1).max(5_000_000),
  metadata: z.record(z.string(), z.unknown()).optional(),
  ...UploadExpiryFields,
});
export const TextBatch = z
  .object({
    documents: z.array(TextRecord).min(1).max(500),
    chunking_strategy: ChunkingStrategySchema.optional().openapi({
      description: "How these documents are chunked (`auto` = the default sizes); absent = the collection's strategy",
    }),
  })
  .openapi("TextDocuments", {
    example: { documents: [{ name: "faq.md", text: "# FAQ\n\nOur office opens at 9am.", metadata: { lang: "en" } }] },
  });

const UploadResult = z
  .object({
    documents: z.array(DocumentSchema.extend({ duplicate: z.boolean() })),
    errors: z.array(z.object({ name: z.string(), error: z.object({ code: z.string(), message: z.string() }) })),
  })
  .openapi("UploadResult");

const ColParam = z.object({ id: z.string().min(1).max(64) });
const DocParam = z.object({ id: z.string().min(1).max(64), docId: z.string().min(1).max(64) });

const upload = defineRoute({
  method: "post",
  path: "/v1/collections/{id}/documents",
  access: { need: need.key("write"), cost: "upload", body: "upload" },
  tags: ["Documents"],
  summary: "Upload documents (multipart `file` parts, or JSON `{documents:[{name,text,metadata}]}`)",
  description:
    "Answers 202: each accepted document is `queued` and indexed in the background (poll its status). " +
    "Each file is judged on its own; rejected files are listed in `errors` with their code. Same bytes twice = `duplicate: true`.",
  request: {
    params: ColParam,
    body: {
      // Not `required`: each validator then runs only for its own content type.
      required: false,
      content: {
        "multipart/form-data": {
          schema: z.object({
            file: z.any().optional().openapi({ type: "string", format: "binary", description: "One or more files (repeat the field)" }),
            // Described here, validated once in src/ingest/uploads.ts (formExpiry), where an empty
            // field counts as absent, as HTML forms and Swagger UI's "try it out" send them.
            expires_at: z
              .string()
              .optional()
              .openapi({ format: "date-time", description: "Expiry of every file of the request (ISO 8601, in the future)" }),
            expires_after_seconds: z
              .string()
              .optional()
              .openapi({ type: "integer", description: "Expiry of every file of the request, in seconds from now (60 … 10 years)" }),
            chunking_strategy: z.string().optional().openapi({
              description: "A ChunkingStrategy as JSON text, for every file of the request; absent = the collection's",
              example: '{"type":"static","static":{"max_chunk_size_tokens":200,"chunk_overlap_tokens":50}}',
            }),
          }),
        },
        "application/json": { schema: TextBatch },
      },
    },
  },
  responses: { 202: json(UploadResult, "Accepted"), ...errorResponses(400, 401, 403, 404, 413, 415, 422, 500, 503) },
});
const list = defineRoute({
  method: "get",
  path: "/v1/collections/{id}/documents",
  access: { need: need.key("read") },
  tags: ["Documents"],
  summary: "List documents (paginated)",
  request: {
    params: ColParam,
    query: z.object({
      limit: z.coerce.number().int().min(1).max(500).default(50),
      cursor: z.string().max(64).optional(),
      status: z.enum(["queued", "processing", "ready", "failed"]).optional(),
    }),
  },
  responses: {
    200: json(
      z.object({ documents: z.array(DocumentSchema), next_cursor: z.string().nullable(), counts: z.record(z.string(), z.number()) }),
    ),
    ...errorResponses(400, 401, 404, 500),
  },
});
const get = defineRoute({
  method: "get",
  path: "/v1/collections/{id}/documents/{docId}",
  access: { need: need.key("read") },
  tags: ["Documents"],
  summary: "Get a document's status, chunk count and metadata",
  request: { params: DocParam },
  responses: { 200: json(DocumentSchema), ...errorResponses(401, 404, 500) },
});
const download = defineRoute({
  method: "get",
  path: "/v1/collections/{id}/documents/{docId}/content",
  access: { need: need.key("read") },
  tags: ["Documents"],
  summary: "Download the original upload",
  request: { params: DocParam },
  responses: { 200: { description: "The original bytes" }, ...errorResponses(401, 404, 500) },
});
const del = defineRoute({
  method: "delete",
  path: "/v1/collections/{id}/documents/{docId}",
  access: { need: need.key("write") },
  tags: ["Documents"],
  summary: "Delete a document from every store",
  request: { params: DocParam },
  responses: { 200: json(z.object({ id: z.string(), deleted: z.literal(true) })), ...errorResponses(401, 403, 404, 500) },
});
const reindex = defineRoute({
  method: "post",
  path: "/v1/collections/{id}/documents/{docId}/reindex",
  access: { need: need.key("write"), cost: "upload" },
  tags: ["Documents"],
  summary: "Re-index one document (queued)",
  request: { params: DocParam },
  responses: { 202: json(DocumentSchema), ...errorResponses(401, 403, 404, 500, 503) },
});

/** The multipart `chunking_strategy` field: JSON text validated like the JSON body's. */
function parseFormChunking(raw: string | undefined): z.infer<typeof ChunkingStrategySchema> | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ApiError("validation_error", "Invalid request: chunking_strategy: not valid JSON");
  }
  const r = ChunkingStrategySchema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ApiError("validation_error", `Invalid request: chunking_strategy.${i?.path.map(String).join(".")}: ${i?.message}`, {
      details: r.error.issues.map((x) => ({ path: ["chunking_strategy", ...x.path.map(String)].join("."), message: x.message })),
    });
  }
  return r.data;
}

export function mountDocuments(app: OpenAPIHono<AppEnv>): void {
  app.openapi(upload, async (c) => {
    const p = await requireKeyOrMaster(c, "write");
    const { id } = c.req.valid("param");
    assertCollectionAccess(p, id);
    const collection = await requireCollection(c.env.DB, id);
    const isJson = isJsonContentType(c.req.header("Content-Type")); // the validator's own test
    let inputs: UploadInput[];
    let chunking: z.infer<typeof ChunkingStrategySchema> | undefined;
    if (isJson) {
      const batch = c.req.valid("json") as z.infer<typeof TextBatch>;
      inputs = batch.documents.map(textRecordToUpload);
      chunking = batch.chunking_strategy;
    } else {
      const form = await readMultipartUpload(c);
      inputs = form.files;
      chunking = parseFormChunking(form.fields.get("chunking_strategy"));
    }
    for (const input of inputs) input.chunking = chunking ? JSON.stringify(chunking) : null;
    if (inputs.length === 0) throw new ApiError("bad_request", "No files in the request (multipart field `file`)");
    assertUploadsVisible(p, inputs);

    const outcomes = await acceptAll(c.env, c.var.settings, collection, inputs);
    const fresh = outcomes.flatMap((o) => (o.accepted && !o.accepted.duplicate ? [o.accepted.document] : []));
    try {
      await enqueueAll(
        c.env,
        fresh.map((d) => ({ type: "index" as const, document_id: d.id, generation: d.generation })),
      );
    } catch (err) {
      for (const d of fresh) await discardUpload(c.env, d);
      throw new ApiError("unavailable", "Could not queue the documents for indexing; nothing was stored, try again", { cause: err });
    }
    const rid = c.var.requestId;
    const documents = outcomes.flatMap((o) =>
      o.accepted ? [{ ...publicDocument(o.accepted.document), duplicate: o.accepted.duplicate }] : [],
    );
    const errors = outcomes.flatMap((o) =>
      o.error ? [{ name: o.name, error: errorBody(o.error, rid).error as { code: string; message: string } }] : [],
    );
    if (documents.length === 0) {
      const first = outcomes.find((o) => o.error)?.error as ApiError;
      throw new ApiError(first.code, outcomes.length === 1 ? first.message : `No file was accepted: ${first.message}`, { details: errors });
    }
    return c.json({ documents, errors }, 202);
  });

  app.openapi(list, async (c) => {
    const p = await requireKeyOrMaster(c, "read");
    const { id } = c.req.valid("param");
    assertCollectionAccess(p, id);
    await requireCollection(c.env.DB, id);
    const q = c.req.valid("query");
    const scope = scopeSql(effectiveScope(p), { id: "id", metadata: "metadata" });
    const { rows, counts } = await listDocuments(c.env.DB, id, { cursor: q.cursor, status: q.status, limit: q.limit + 1, scope });
    const docs = rows.slice(0, q.limit);
    return c.json(
      {
        documents: docs.map(publicDocument),
        next_cursor: rows.length > q.limit ? (docs[docs.length - 1]?.id ?? null) : null,
        counts,
      },
      200,
    );
  });

  app.openapi(get, async (c) => {
    const p = await requireKeyOrMaster(c, "read");
    const { id, docId } = c.req.valid("param");
    assertCollectionAccess(p, id);
    return c.json(publicDocument(assertVisible(p, await requireDocument(c.env.DB, id, docId))), 200);
  });

  app.openapi(download, async (c) => {
    const p = await requireKeyOrMaster(c, "read");
    const { id, docId } = c.req.valid("param");
    assertCollectionAccess(p, id);
    // A download is activity: a document whose expiry follows its last activity is kept longer.
    const doc = await touched(c.env, assertVisible(p, await requireDocument(c.env.DB, id, docId)));
    const obj = await c.env.DOCUMENTS.get(doc.r2_key);
    if (!obj) throw new ApiError("not_found", "The original of this document is not stored");
    const headers = new Headers({
      "Content-Type": doc.content_type,
      "Content-Length": String(obj.size),
      // Served as an attachment so an uploaded HTML file never renders in this origin.
      "Content-Disposition": `attachment; filename*=UTF-8''${encodeURIComponent(doc.name)}`,
      "X-Content-Type-Options": "nosniff",
    });
    return new Response(obj.body, { headers }) as never;
  });

  app.openapi(del, async (c) => {
    const p = await requireKeyOrMaster(c, "write");
    const { id, docId } = c.req.valid("param");
    assertCollectionAccess(p, id);
    await deleteDocument(c.env, assertVisible(p, await requireDocument(c.env.DB, id, docId)));
    return c.json({ id: docId, deleted: true as const }, 200);
  });

  app.openapi(reindex, async (c) => {
    const p = await requireKeyOrMaster(c, "write");
    const { id, docId } = c.req.valid("param");
    assertCollectionAccess(p, id);
    const doc = assertVisible(p, await requireDocument(c.env.DB, id, docId));
    const generation = await requeueDocument(c.env, doc);
    try {
      await enqueueAll(c.env, [{ type: "index", document_id: doc.id, generation }]);
    } catch (err) {
      throw new ApiError("unavailable", "Could not queue the re-index; try again", { cause: err });
    }
    return c.json(publicDocument(await requireDocument(c.env.DB, id, docId)), 202);
  });
}
