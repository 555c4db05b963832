import { UploadBudget } from "../auth/quotas";
import type { Settings } from "../config";
import { ApiError, legacyError } from "../http/errors";
import { DEFAULT_EMBEDDING_MODEL, embeddingModelOf } from "../retrieval/models";
import { selectEmbedder } from "../retrieval/providers";
import { createCollection, requireCollection } from "../storage/collections";
import { soleCollectionOf } from "../storage/documents";
import { acceptUpload, deleteCollectionEverywhere, indexDocument } from "./pipeline";
import { checkMetadata, MAX_FILES_PER_REQUEST } from "./uploads";

const encoder = new TextEncoder();

/** The original's document ids: kept as metadata, so short (the routes' schemas say the same). */
export const LEGACY_ID_MAX = 128;
/** Documents one original-API request may carry (the same as an upload request's files). */
export const LEGACY_MAX_DOCUMENTS = MAX_FILES_PER_REQUEST;

/**
 * The error a refused original-API JSON body gets: the original's flat shape and its one 400 for a
 * body it cannot use (`missing_fields`), with a text that says which cap was passed when the body
 * carried more than LEGACY_MAX_DOCUMENTS documents or embeddings (the original accepted any number;
 * here they are indexed synchronously in the request, so they are capped like an upload's files).
 */
export function legacyBodyError(issues: readonly LegacyIssue[]): ApiError {
  return tooManyDocuments(issues)
    ? legacyError("missing_fields", "error", `Too many documents: at most ${LEGACY_MAX_DOCUMENTS} per request`)
    : legacyError("missing_fields", "error", "Missing required fields (model, embeddings, document)");
}

interface LegacyIssue {
  code: string;
  path: readonly PropertyKey[];
  /** A union's failure carries each alternative's issues (`/get_temp_api_key` takes two body forms). */
  errors?: readonly (readonly LegacyIssue[])[];
}

function tooManyDocuments(issues: readonly LegacyIssue[]): boolean {
  return issues.some(
    (i) =>
      (i.code === "too_big" && i.path.length === 1 && (i.path[0] === "document" || i.path[0] === "embeddings")) ||
      (i.errors ?? []).some((alternative) => tooManyDocuments(alternative)),
  );
}

/** Document ids of this deployment look like this (ingest/pipeline.ts `newId("doc")`). */
const OWN_ID = /^doc_[A-Za-z0-9_-]{8,40}$/;

/**
 * The collection every one of `ids` belongs to, when they are all documents of this deployment in
 * one collection (a `/make_embedding` response handed back unchanged); otherwise null.
 */
export async function ownCollectionOf(env: Env, ids: (string | number | undefined)[]): Promise<string | null> {
  if (ids.length === 0 || !ids.every((id) => typeof id === "string" && OWN_ID.test(id))) return null;
  return soleCollectionOf(env.DB, [...new Set(ids as string[])]);
}

/**
 * The original's `{model, embeddings, document}` payload. When the documents are this deployment's
 * own (the ids a `/make_embedding` response gave, all in one collection), that collection is the
 * answer: nothing is ingested again and the sources keep the uploaded files' names. Otherwise the
 * documents are ingested synchronously into a new collection (or the given one), each under the
 * name it came with (`name`, else its id). A client's embeddings are reused only when they can be
 * trusted to live in the same space as ours: one per document, the active embedder's dimension and
 * model id, and the document fits one chunk; otherwise the text is embedded again.
 */
export async function ingestLegacyDocuments(
  env: Env,
  settings: Settings,
  input: {
    model: string;
    embeddings: number[][];
    documents: { id?: string | number; name?: string; text: string }[];
    collectionId?: string;
  },
): Promise<string> {
  // The routes' schemas cap the body; this keeps the cap true for any other caller.
  if (input.documents.length > LEGACY_MAX_DOCUMENTS || input.embeddings.length > LEGACY_MAX_DOCUMENTS) {
    throw legacyBodyError([{ code: "too_big", path: ["document"] }]);
  }
  if (!input.collectionId) {
    const own = await ownCollectionOf(
      env,
      input.documents.map((d) => d.id),
    );
    if (own) return own;
  }
  const fresh = selectEmbedder(env);
  const collection = input.collectionId
    ? await requireCollection(env.DB, input.collectionId)
    : await createCollection(env.DB, {
        name: `original-api ${new Date().toISOString()}`,
        embedder: fresh.id,
        dimensions: fresh.dimensions,
        embeddingModel: DEFAULT_EMBEDDING_MODEL,
      });
  // A named collection may use another model than the default (issue 20).
  const embedder = selectEmbedder(env, embeddingModelOf(collection));
  const reuse =
    input.model === embedder.id &&
    input.embeddings.length === input.documents.length &&
    input.embeddings.every((e) => e.length === embedder.dimensions && e.every(Number.isFinite));

  const failures: string[] = [];
  const budget = await UploadBudget.load(env, settings, collection.id); // quotas (issue 10)
  try {
    for (const [i, d] of input.documents.entries()) {
      if (!d.text.trim()) {
        failures.push(String(d.id ?? i));
        continue;
      }
      // The original's ids become `original_id` metadata: the same caps as any upload's metadata.
      const metadata = d.id !== undefined ? { original_id: d.id } : {};
      if (typeof d.id === "string" && d.id.length > LEGACY_ID_MAX) {
        throw new ApiError("validation_error", `A document id may be at most ${LEGACY_ID_MAX} characters`);
      }
      checkMetadata(metadata);
      budget.reserve(encoder.encode(d.text).byteLength);
      const given = d.name?.trim();
      const name = given || `${d.id ?? `document-${i + 1}`}.txt`;
      const { document, duplicate } = await acceptUpload(env, settings, collection, {
        name,
        bytes: encoder.encode(d.text),
        contentType: "text/plain; charset=utf-8",
        metadata,
      });
      if (duplicate && document.status === "ready") continue;
      const precomputed = reuse ? [Float32Array.from(input.embeddings[i])] : undefined;
      const result = await indexDocument(env, document.id, document.generation, { precomputed });
      if (result.status === "failed") failures.push(String(d.id ?? i));
    }
    if (failures.length === input.documents.length) {
      throw new ApiError("empty_document", "None of the documents contains text");
    }
  } catch (err) {
    // A new collection nobody holds a key for must not keep half of the documents.
    if (!input.collectionId) await deleteCollectionEverywhere(env, collection);
    throw err;
  }
  return collection.id;
}
