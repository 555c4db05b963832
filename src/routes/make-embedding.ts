import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { costUnits, defineRoute, need } from "../auth/access";
import { requireKeyOrMaster } from "../auth/authenticate";
import { chargeMore } from "../auth/middleware";
import type { AppEnv } from "../http/context";
import { ApiError, errorBody, legacyError } from "../http/errors";
import { json, legacyErrorResponses } from "../http/schemas";
import { indexDocument } from "../ingest/pipeline";
import { documentIndex } from "../retrieval/shard-routing";
import { acceptAll, readMultipartFiles } from "../ingest/uploads";
import { DEFAULT_EMBEDDING_MODEL, embeddingModelOf } from "../retrieval/models";
import { selectEmbedder } from "../retrieval/providers";
import { bindingOf } from "../retrieval/scope";
import { type Collection, createCollection, requireCollection } from "../storage/collections";

const Result = z
  .object({
    message: z.string().openapi({ example: "2 files processed successfully" }),
    embeddings: z.array(z.array(z.number())).openapi({ description: "One vector per document (mean of its chunk vectors, L2-normalised)" }),
    document: z.array(z.object({ id: z.string(), name: z.string(), collection_id: z.string(), text: z.string() })).openapi({
      description: "Pass back to /get_temp_api_key unchanged: the ids bind the key to this collection, nothing is ingested again",
    }),
    collection_id: z.string(),
    results: z.array(
      z.object({
        name: z.string(),
        document_id: z.string().nullable(),
        status: z.string(),
        chunk_count: z.number(),
        duplicate: z.boolean(),
        error: z.object({ code: z.string(), message: z.string() }).nullable(),
      }),
    ),
  })
  .openapi("MakeEmbeddingResult");

const route = defineRoute({
  method: "post",
  path: "/make_embedding",
  // Plus one upload's cost per further file: every file is indexed synchronously in this request.
  access: { need: need.key("write"), errors: "legacy", cost: "upload", body: "upload" },
  tags: ["Original API"],
  summary: "Upload and index files synchronously (original)",
  description:
    "Multipart, repeated field `file`. Requires the master key (a new collection is created unless the form field `collection_id` is given) " +
    "or a temporary key with the `write` scope (its own collection). Each file is processed on its own; per-file outcomes are in `results`. " +
    "At most 100 files (413 `payload_too_large`), each charged as an upload (RATE_COST_UPLOAD).",
  request: {
    body: {
      required: false,
      content: {
        "multipart/form-data": {
          schema: z.object({
            file: z.any().optional().openapi({ type: "string", format: "binary" }),
            collection_id: z.string().optional(),
          }),
        },
      },
    },
  },
  responses: { 200: json(Result), ...legacyErrorResponses(400, 401, 403, 404, 413, 415, 422, 500) },
});

export function mountMakeEmbedding(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const p = await requireKeyOrMaster(c, "write");
    // Files posted here carry no metadata, so a key bound to part of its collection could never see them.
    if (bindingOf(p))
      throw legacyError("forbidden", "error", "This API key is bound to part of its collection and cannot add documents here");
    let form: FormData | null = null;
    try {
      form = await c.req.formData();
    } catch {
      form = null;
    }
    if (!form || form.getAll("file").length === 0) throw legacyError("bad_request", "error", "No file part");
    const inputs = await readMultipartFiles(c);
    if (inputs.length === 0 || inputs.every((f) => !f.name)) throw legacyError("bad_request", "error", "No selected file");
    // The declared cost paid for one file; each further one costs an upload too (moot for the
    // master key, which is limited per address only).
    await chargeMore(c, (inputs.length - 1) * costUnits("upload", c.var.settings));

    const requested = form.get("collection_id");
    let collection: Collection;
    if (p.kind === "key") {
      if (!p.key.collection_id) throw new ApiError("forbidden", "This key is not bound to a collection");
      if (typeof requested === "string" && requested !== p.key.collection_id) throw new ApiError("not_found", "Collection not found");
      collection = await requireCollection(c.env.DB, p.key.collection_id);
    } else if (typeof requested === "string" && requested) {
      collection = await requireCollection(c.env.DB, requested);
    } else {
      const embedder = selectEmbedder(c.env);
      collection = await createCollection(c.env.DB, {
        name: `make_embedding ${new Date().toISOString()}`,
        embedder: embedder.id,
        dimensions: embedder.dimensions,
        embeddingModel: DEFAULT_EMBEDDING_MODEL,
      });
    }

    const outcomes = await acceptAll(c.env, c.var.settings, collection, inputs);
    const embeddings: number[][] = [];
    const documents: { id: string; name: string; collection_id: string; text: string }[] = [];
    const results = [];
    for (const o of outcomes) {
      if (!o.accepted) {
        results.push({
          name: o.name,
          document_id: null,
          status: "rejected",
          chunk_count: 0,
          duplicate: false,
          error: errorBody(o.error as ApiError, c.var.requestId).error as { code: string; message: string },
        });
        continue;
      }
      const doc = o.accepted.document;
      const r = await indexDocument(c.env, doc.id, doc.generation, { keepText: true });
      if (r.status === "ready" && r.documentVector && r.text !== undefined) {
        embeddings.push(Array.from(r.documentVector));
        documents.push({ id: doc.id, name: doc.name, collection_id: collection.id, text: r.text });
      } else if (r.status === "ready" && o.accepted.duplicate) {
        // Already indexed earlier: rebuild the document text and vector from its stored chunks.
        const chunks = await documentIndex(c.env, collection, doc.id).documentText(doc.id);
        documents.push({ id: doc.id, name: doc.name, collection_id: collection.id, text: chunks.join("\n\n") });
        const [v] = await selectEmbedder(c.env, embeddingModelOf(collection)).embed(
          [documents[documents.length - 1].text.slice(0, 8000)],
          "document",
        );
        embeddings.push(Array.from(v));
      }
      results.push({
        name: o.name,
        document_id: doc.id,
        status: r.status,
        chunk_count: r.chunkCount,
        duplicate: o.accepted.duplicate,
        error: r.error ? (errorBody(r.error, c.var.requestId).error as { code: string; message: string }) : null,
      });
    }
    if (documents.length === 0) {
      const first = outcomes.find((o) => o.error)?.error ?? results.find((r) => r.error) ?? null;
      const err =
        first instanceof ApiError
          ? first
          : new ApiError(
              (first?.error?.code as "corrupt_document") ?? "corrupt_document",
              first?.error?.message ?? "No file could be processed",
            );
      throw new ApiError(err.code, err.message, { details: results, legacy: { field: "error", text: err.message } });
    }
    return c.json(
      {
        message: `${documents.length} files processed successfully`,
        embeddings,
        document: documents,
        collection_id: collection.id,
        results,
      },
      200,
    );
  });
}
