import { UploadBudget } from "../auth/quotas";
import type { Settings } from "../config";
import { ApiError } from "../http/errors";
import { selectEmbedder } from "../retrieval/providers";
import { createCollection, requireCollection } from "../storage/collections";
import { acceptUpload, deleteCollectionEverywhere, indexDocument } from "./pipeline";

const encoder = new TextEncoder();

/**
 * The original's `{model, embeddings, document}` payload: the documents are ingested synchronously
 * into a new collection (or the given one). A client's embeddings are reused only when they can be
 * trusted to live in the same space as ours: one per document, the active embedder's dimension and
 * model id, and the document fits one chunk; otherwise the text is embedded again.
 */
export async function ingestLegacyDocuments(
  env: Env,
  settings: Settings,
  input: {
    model: string;
    embeddings: number[][];
    documents: { id?: string | number; text: string }[];
    collectionId?: string;
  },
): Promise<string> {
  const embedder = selectEmbedder(env);
  const collection = input.collectionId
    ? await requireCollection(env.DB, input.collectionId)
    : await createCollection(env.DB, {
        name: `original-api ${new Date().toISOString()}`,
        embedder: embedder.id,
        dimensions: embedder.dimensions,
      });
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
      budget.reserve(encoder.encode(d.text).byteLength);
      const name = `${d.id ?? `document-${i + 1}`}.txt`;
      const { document, duplicate } = await acceptUpload(env, settings, collection, {
        name,
        bytes: encoder.encode(d.text),
        contentType: "text/plain; charset=utf-8",
        metadata: d.id !== undefined ? { original_id: d.id } : {},
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
