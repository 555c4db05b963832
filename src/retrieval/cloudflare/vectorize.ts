import type { VectorIndex, VectorMatch, VectorRecord } from "../types";
import { upstreamFailure, utf8Length, type VectorizeBinding } from "../../cloudflare/bindings";

/** Vectorize limits (developers.cloudflare.com/vectorize/platform/limits). */
const UPSERT_BATCH = 1000; // per Workers-binding call (the HTTP API allows 5000)
const DELETE_BATCH = 1000;
const MAX_TOP_K = 100; // without values and with returnMetadata "none"; 20 otherwise
const MAX_ID_BYTES = 64;
const MAX_NAMESPACE_BYTES = 64;

/**
 * Vectorize (V2) index, one namespace per collection. Needs an index created with
 * `wrangler vectorize create <name> --dimensions=768 --metric=cosine`; no metadata index is needed
 * because isolation comes from the namespace, which Vectorize applies before the vector search.
 *
 * Queries ask for neither values nor metadata so that topK may go up to 100; the document and
 * ordinal come back in the id itself (`vectorId(documentId, ordinal)`). The metadata written with
 * each vector (`document_id`, `ordinal`) is for operators inspecting the index.
 *
 * Vectorize mutations are asynchronous: an upsert or delete becomes visible to queries a few
 * seconds after the call returns.
 */
export class VectorizeStore implements VectorIndex {
  readonly id = "vectorize" as const;

  constructor(private readonly index: VectorizeBinding) {}

  async upsert(collectionId: string, vectors: VectorRecord[]): Promise<void> {
    checkNamespace(collectionId);
    for (const v of vectors) {
      if (utf8Length(v.id) > MAX_ID_BYTES) throw new Error(`vector id longer than ${MAX_ID_BYTES} bytes: ${v.id}`);
    }
    for (let i = 0; i < vectors.length; i += UPSERT_BATCH) {
      const batch = vectors.slice(i, i + UPSERT_BATCH).map((v) => ({
        id: v.id,
        values: v.values,
        namespace: collectionId,
        metadata: { document_id: v.documentId, ordinal: v.ordinal },
      }));
      try {
        await this.index.upsert(batch);
      } catch (err) {
        throw upstreamFailure("vector index", err);
      }
    }
  }

  async query(collectionId: string, vector: Float32Array, topK: number): Promise<VectorMatch[]> {
    checkNamespace(collectionId);
    const k = Math.max(1, Math.min(MAX_TOP_K, Math.floor(topK)));
    let res: VectorizeMatches;
    try {
      res = await this.index.query(vector, { topK: k, namespace: collectionId, returnValues: false, returnMetadata: "none" });
    } catch (err) {
      throw upstreamFailure("vector index", err);
    }
    const out: VectorMatch[] = [];
    for (const m of res.matches ?? []) {
      const parsed = parseVectorId(m.id);
      // A foreign id in the namespace (written by something else) is skipped, not fatal.
      if (parsed) out.push({ id: m.id, score: m.score, ...parsed });
    }
    return out.sort((a, b) => b.score - a.score);
  }

  async deleteByIds(collectionId: string, ids: string[]): Promise<void> {
    checkNamespace(collectionId);
    for (let i = 0; i < ids.length; i += DELETE_BATCH) {
      try {
        await this.index.deleteByIds(ids.slice(i, i + DELETE_BATCH));
      } catch (err) {
        throw upstreamFailure("vector index", err);
      }
    }
  }

  /**
   * Deliberately a no-op. Vectorize cannot drop or list a namespace from a Worker (listing is an
   * index-wide HTTP API), so the vectors of a collection are removed by id: the caller deletes every
   * document's ids first (`deleteDocument` does). Anything left behind is unreachable anyway, since
   * queries are confined to the namespace of a collection id that is never reused. Throwing here
   * instead would make collection deletion fail on Cloudflare only.
   */
  async dropCollection(collectionId: string): Promise<void> {
    checkNamespace(collectionId);
  }
}

/** `<documentId>:<ordinal>`; the document id may itself contain colons, the ordinal cannot. */
export function parseVectorId(id: string): { documentId: string; ordinal: number } | null {
  const at = id.lastIndexOf(":");
  if (at <= 0) return null;
  const ord = id.slice(at + 1);
  if (!/^\d{1,9}$/.test(ord)) return null;
  return { documentId: id.slice(0, at), ordinal: Number(ord) };
}

function checkNamespace(collectionId: string): void {
  if (collectionId.length === 0 || utf8Length(collectionId) > MAX_NAMESPACE_BYTES) {
    throw new Error(`collection id is not a valid Vectorize namespace (1-${MAX_NAMESPACE_BYTES} bytes)`);
  }
}
