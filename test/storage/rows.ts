import { type DocumentRow, originalKey } from "../../src/storage/documents";

/** A catalogue row for tests: queued, generation 1, with a unique id under `prefix`. */
export function documentRow(collectionId: string, i: number, patch: Partial<DocumentRow> = {}, prefix = "doc_test"): DocumentRow {
  const id = `${prefix}_${crypto.randomUUID().slice(0, 8)}_${String(i).padStart(3, "0")}`;
  const t = Math.floor(Date.now() / 1000);
  return {
    id,
    collection_id: collectionId,
    name: `${i}.txt`,
    content_type: "text/plain",
    kind: "text",
    size: 10,
    sha256: crypto.randomUUID(),
    r2_key: originalKey(collectionId, id),
    status: "queued",
    error_code: null,
    error_message: null,
    chunk_count: 0,
    char_count: 0,
    pages: null,
    metadata: "{}",
    generation: 1,
    pending_vectors: 0,
    chunking: null,
    created_at: t,
    updated_at: t,
    expires_at: null,
    expiry_slide_seconds: null,
    ...patch,
  };
}
