import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { writeDocument } from "../../src/retrieval/collection-index/client";
import { type ChunkInput, COMMIT_PAGE, type CollectionIndex, type WritePage } from "../../src/retrieval/collection-index/object";

// Issue 17 item 5: in `wrangler dev` the index object shares the process with the Worker, and one
// staging call's answer resolved straight into the next call, so a large document's staging held
// every other request for 0.4-0.6 s. Shown by ordering, never by timing: a timer re-armed with
// setTimeout(0) ticks between two calls only if the client handed the event loop back.

const N = 2 * COMMIT_PAGE + 50;
const chunk = (ordinal: number): ChunkInput => {
  const text = `page turn chunk ${ordinal}`;
  return { ordinal, text, start: 0, end: text.length, page: null, heading: null, tokens: 4 };
};
const doc = { id: "turns", generation: 1, name: "turns.txt", metadata: "{}" };

describe("writeDocument: a macrotask turn between staging calls", () => {
  it("lets a timer run between every two calls and sends the same pages as before", async () => {
    let ticks = 0;
    let running = true;
    const tick = () => {
      if (!running) return;
      ticks++;
      setTimeout(tick, 0);
    };
    setTimeout(tick, 0);
    const calls: { page: WritePage; ticks: number }[] = [];
    // An object that answers at once (a promise chain only): any timer turn comes from the client.
    const immediate = {
      write: async (page: WritePage) => {
        calls.push({ page, ticks });
        return page.commit
          ? { status: "ready" as const, chunkCount: page.commit.chunkCount }
          : { status: "staged" as const, chunkCount: 0 };
      },
    } as unknown as DurableObjectStub<CollectionIndex>;
    const chunks = Array.from({ length: N }, (_, i) => chunk(i));
    const vs = chunks.map((_, i) => Float32Array.of(i, 1));
    try {
      expect(await writeDocument(immediate, doc, chunks, vs)).toEqual({ status: "ready", chunkCount: N });
    } finally {
      running = false;
    }
    // The pages are unchanged: COMMIT_PAGE chunks each, in order, the commit on the last only.
    expect(calls.map((c) => c.page.chunks.map((ch) => ch.ordinal))).toEqual([
      chunks.slice(0, COMMIT_PAGE).map((ch) => ch.ordinal),
      chunks.slice(COMMIT_PAGE, 2 * COMMIT_PAGE).map((ch) => ch.ordinal),
      chunks.slice(2 * COMMIT_PAGE).map((ch) => ch.ordinal),
    ]);
    expect(calls.map((c) => c.page.commit)).toEqual([undefined, undefined, { chunkCount: N }]);
    expect(calls.flatMap((c) => c.page.vectors ?? [])).toEqual(vs);
    for (let k = 1; k < calls.length; k++) expect(calls[k].ticks).toBeGreaterThan(calls[k - 1].ticks);
  });

  it("commits the same document through a real index object", async () => {
    const stub = env.COLLECTION_INDEX.get(env.COLLECTION_INDEX.idFromName(`turns-${crypto.randomUUID()}`));
    const chunks = Array.from({ length: N }, (_, i) => chunk(i));
    expect(await writeDocument(stub, doc, chunks)).toEqual({ status: "ready", chunkCount: N });
    expect(await stub.stats()).toMatchObject({ chunks: N, documents: 1 });
  });
});
