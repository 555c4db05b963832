import { requireDocument } from "../storage/documents";

// The two reads the MCP tools need beyond search. They read D1 today; when chunks move to the
// collection's own index, `readChunks` is the one function to point at it.

export async function listDocuments(db: D1Database, collectionId: string, cursor: string | undefined, limit: number) {
  const rows = await db
    .prepare("SELECT id, name, status, chunk_count, metadata FROM documents WHERE collection_id = ? AND id > ? ORDER BY id LIMIT ?")
    .bind(collectionId, cursor ?? "", limit + 1)
    .all<{ id: string; name: string; status: string; chunk_count: number; metadata: string }>();
  const page = rows.results.slice(0, limit);
  return {
    documents: page.map((d) => ({ ...d, metadata: JSON.parse(d.metadata) as Record<string, unknown> })),
    next_cursor: rows.results.length > limit ? (page[page.length - 1]?.id ?? null) : null,
  };
}

export async function readChunks(db: D1Database, collectionId: string, documentId: string, from: number, max: number) {
  const doc = await requireDocument(db, collectionId, documentId);
  const rows = await db
    .prepare(
      "SELECT ordinal AS chunk, text, page, heading FROM chunks WHERE collection_id = ? AND document_id = ? AND ordinal >= ? ORDER BY ordinal LIMIT ?",
    )
    .bind(collectionId, documentId, from, max + 1)
    .all<{ chunk: number; text: string; page: number | null; heading: string | null }>();
  const chunks = rows.results.slice(0, max);
  return {
    document_id: doc.id,
    name: doc.name,
    chunk_count: doc.chunk_count,
    chunks,
    next_chunk: rows.results.length > max ? (rows.results[max]?.chunk ?? null) : null,
  };
}
