import { ApiError } from "../http/errors";

export type DocumentStatus = "queued" | "processing" | "ready" | "failed";

export interface DocumentRow {
  id: string;
  collection_id: string;
  name: string;
  content_type: string;
  kind: string;
  size: number;
  sha256: string;
  r2_key: string;
  status: DocumentStatus;
  error_code: string | null;
  error_message: string | null;
  chunk_count: number;
  char_count: number;
  pages: number | null;
  metadata: string;
  generation: number;
  pending_vectors: number;
  created_at: number;
  updated_at: number;
}

/** R2 layout: one object per original upload, under its collection. */
export function originalKey(collectionId: string, documentId: string): string {
  return `collections/${collectionId}/documents/${documentId}/original`;
}

export async function getDocument(db: D1Database, collectionId: string, id: string): Promise<DocumentRow | null> {
  return db.prepare("SELECT * FROM documents WHERE id = ? AND collection_id = ?").bind(id, collectionId).first<DocumentRow>();
}

export async function requireDocument(db: D1Database, collectionId: string, id: string): Promise<DocumentRow> {
  const doc = await getDocument(db, collectionId, id);
  if (!doc) throw new ApiError("not_found", "Document not found");
  return doc;
}

export function publicDocument(d: DocumentRow) {
  return {
    id: d.id,
    collection_id: d.collection_id,
    name: d.name,
    content_type: d.content_type,
    kind: d.kind,
    size: d.size,
    sha256: d.sha256,
    status: d.status,
    error: d.error_code ? { code: d.error_code, message: d.error_message ?? "" } : null,
    chunk_count: d.chunk_count,
    char_count: d.char_count,
    pages: d.pages,
    metadata: JSON.parse(d.metadata) as Record<string, unknown>,
    created_at: new Date(d.created_at * 1000).toISOString(),
    updated_at: new Date(d.updated_at * 1000).toISOString(),
  };
}
export type PublicDocument = ReturnType<typeof publicDocument>;
