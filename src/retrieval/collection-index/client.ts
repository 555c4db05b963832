import type { ChunkInput, CollectionIndex, DocumentInput, WriteResult } from "./object";
import { COMMIT_PAGE } from "./object";
import { yieldNow } from "../../util/yield";

/** The collection's index object: one per collection, named by the collection id. */
export function collectionIndex(env: Pick<Env, "COLLECTION_INDEX">, collectionId: string): DurableObjectStub<CollectionIndex> {
  return env.COLLECTION_INDEX.get(env.COLLECTION_INDEX.idFromName(collectionId));
}

/** Text bytes per write call: RPC messages stay far below their 32 MiB limit, statements below 100 KB each. */
const PAGE_BYTES = 4 * 1024 * 1024;

/**
 * Writes a document's chunks (and local vectors) in pages of at most COMMIT_PAGE chunks; the last
 * page commits them atomically inside the object (a large document in pages of its own there, then
 * one flip: writer.ts). A small document is one call.
 */
export async function writeDocument(
  stub: DurableObjectStub<CollectionIndex>,
  document: DocumentInput,
  chunks: ChunkInput[],
  vectors?: Float32Array[],
): Promise<WriteResult> {
  let i = 0;
  for (;;) {
    let bytes = 0;
    let j = i;
    while (j < chunks.length && j - i < COMMIT_PAGE && (j === i || bytes + chunks[j].text.length * 3 <= PAGE_BYTES)) {
      bytes += chunks[j].text.length * 3;
      j++;
    }
    const last = j >= chunks.length;
    const res = await stub.write({
      document,
      chunks: chunks.slice(i, j),
      vectors: vectors?.slice(i, j),
      commit: last ? { chunkCount: chunks.length } : undefined,
    });
    if (last || res.status === "stale") return res;
    i = j;
    // A macrotask between pages (issue 17.5). Where the object shares the process (wrangler dev),
    // one RPC's answer resolves straight into the next call: without a timer turn the event loop
    // never polls for I/O, and a 5,000-chunk document's 50 staging calls held every other request
    // (and timer) for 0.4-0.6 s in one piece.
    await yieldNow();
  }
}
