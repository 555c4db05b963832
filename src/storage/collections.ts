import { newId } from "../auth/crypto";
import { ApiError } from "../http/errors";

export interface Collection {
  id: string;
  name: string;
  embedder: string;
  dimensions: number;
  chunk_tokens: number;
  chunk_overlap: number;
  version: number;
  created_at: number;
  updated_at: number;
}

export const CHUNK_DEFAULTS = { tokens: 400, overlap: 60 } as const;

export async function createCollection(
  db: D1Database,
  opts: { name: string; embedder: string; dimensions: number; chunkTokens?: number; chunkOverlap?: number },
): Promise<Collection> {
  const now = Math.floor(Date.now() / 1000);
  const col: Collection = {
    id: newId("col"),
    name: opts.name,
    embedder: opts.embedder,
    dimensions: opts.dimensions,
    chunk_tokens: opts.chunkTokens ?? CHUNK_DEFAULTS.tokens,
    chunk_overlap: opts.chunkOverlap ?? CHUNK_DEFAULTS.overlap,
    version: 0,
    created_at: now,
    updated_at: now,
  };
  await db
    .prepare(
      "INSERT INTO collections (id, name, embedder, dimensions, chunk_tokens, chunk_overlap, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
    )
    .bind(col.id, col.name, col.embedder, col.dimensions, col.chunk_tokens, col.chunk_overlap, now, now)
    .run();
  return col;
}

export async function getCollection(db: D1Database, id: string): Promise<Collection | null> {
  return db.prepare("SELECT * FROM collections WHERE id = ?").bind(id).first<Collection>();
}

export async function requireCollection(db: D1Database, id: string): Promise<Collection> {
  const col = await getCollection(db, id);
  if (!col) throw new ApiError("not_found", "Collection not found");
  return col;
}

export function bumpVersionStatement(db: D1Database, collectionId: string): D1PreparedStatement {
  return db
    .prepare("UPDATE collections SET version = version + 1, updated_at = ? WHERE id = ?")
    .bind(Math.floor(Date.now() / 1000), collectionId);
}
