import { documentIndex } from "../retrieval/shard-routing";
import { loadCollection } from "../storage/collection-cache";
import type { Principal } from "../auth/principal";
import { touched } from "../ingest/pipeline";
import { assertVisible, effectiveScope, scopeSql } from "../retrieval/scope";
import { documentSummaries, requireDocument } from "../storage/documents";

// The two reads the MCP tools need beyond search: the catalogue (D1) lists documents, the
// collection's index object holds their chunks.

export async function listDocuments(db: D1Database, p: Principal, collectionId: string, cursor: string | undefined, limit: number) {
  const scope = scopeSql(effectiveScope(p), { id: "id", metadata: "metadata" });
  const rows = await documentSummaries(db, collectionId, cursor ?? "", limit + 1, scope);
  const page = rows.slice(0, limit);
  return {
    documents: page.map((d) => ({ ...d, metadata: JSON.parse(d.metadata) as Record<string, unknown> })),
    next_cursor: rows.length > limit ? (page[page.length - 1]?.id ?? null) : null,
  };
}

export async function readChunks(env: Env, p: Principal, collectionId: string, documentId: string, from: number, max: number) {
  // Outside the key's binding reads as not found, before any chunk is read.
  const doc = await touched(env, assertVisible(p, await requireDocument(env.DB, collectionId, documentId)));
  // The document's shard (the catalogue row comes from the isolate's copy or its KV mirror).
  const col = await loadCollection(env, collectionId);
  const rows = await documentIndex(env, { id: collectionId, shards: col?.shards }, documentId).readChunks(documentId, from, max);
  const chunks = rows.slice(0, max);
  return {
    document_id: doc.id,
    name: doc.name,
    chunk_count: doc.chunk_count,
    chunks,
    next_chunk: rows.length > max ? (rows[max]?.chunk ?? null) : null,
  };
}
