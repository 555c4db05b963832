import { describe, expect, it } from "vitest";
import { extract } from "../../src/ingest/extract";
import { chunkText } from "../../src/retrieval/chunker";
import { createYielder } from "../../src/util/yield";
import { utf8 } from "./builders";

// Issue 17 item 5: a queue invocation indexing a pathological document must not hold the isolate.
// Shown by ordering, never by timing: a timer set before the work starts fires before it ends only
// if the work handed the event loop back (a promise chain alone never lets a timer run).

/** The bench's three 2 MB markdown uploads (bench/abuse.mjs). */
const PATHOLOGICAL: [string, string][] = [
  ["<!--×500,000", "<!--".repeat(500_000)],
  ["[×2,000,000", "[".repeat(2_000_000)],
  ["![×1,000,000", "![".repeat(1_000_000)],
];

/** Counts the turns of a timer that re-arms itself while `work` runs. */
async function timerTurnsDuring<T>(work: () => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let running = true;
  const tick = () => {
    if (!running) return;
    turns++;
    setTimeout(tick, 0);
  };
  setTimeout(tick, 0);
  try {
    const result = await work();
    return { result, turns };
  } finally {
    running = false;
  }
}

describe("ingestion yields to the event loop", () => {
  for (const [label, source] of PATHOLOGICAL) {
    it(`a timer set before extracting and chunking ${label} fires before they finish`, async () => {
      const bytes = utf8(source);
      const extracted = await timerTurnsDuring(() => extract(bytes, { name: "a.md" }));
      expect(extracted.turns).toBeGreaterThan(0);
      const chunked = await timerTurnsDuring(() => chunkText(extracted.result, { maxTokens: 256, overlapTokens: 32 }));
      expect(chunked.turns).toBeGreaterThan(0);
      expect(chunked.result.length).toBeGreaterThan(1000);
    });
  }

  it("the chunker yields throughout a huge word, and yielding changes nothing in the result", async () => {
    const doc = { text: "[".repeat(400_000) };
    const opts = { maxTokens: 256, overlapTokens: 32 };
    // A slice of 20,000 units and a clock that never ends one: as on Cloudflare, where time stands
    // still while code runs, only the work count can end a slice.
    const y = createYielder({ sliceMs: Number.POSITIVE_INFINITY, workPerSlice: 20_000 });
    const { result, turns } = await timerTurnsDuring(() => chunkText(doc, opts, y));
    expect(y.yields).toBeGreaterThanOrEqual(400_000 / 20_000 - 1);
    expect(turns).toBeGreaterThan(1);
    const never = createYielder({ sliceMs: Number.POSITIVE_INFINITY, workPerSlice: Number.POSITIVE_INFINITY });
    expect(result).toEqual(await chunkText(doc, opts, never));
    expect(never.yields).toBe(0);
  });

  it("chunking calls that interleave at their yields do not share state", async () => {
    const opts = { maxTokens: 64, overlapTokens: 8 };
    const a = { text: `# A\n\n${"alpha beta gamma. ".repeat(3000)}` };
    const b = { text: `# B\n\n${"[".repeat(50_000)} delta epsilon.` };
    const alone = [await chunkText(a, opts), await chunkText(b, opts)];
    const small = () => createYielder({ sliceMs: Number.POSITIVE_INFINITY, workPerSlice: 5_000 });
    const ya = small();
    const yb = small();
    const together = await Promise.all([chunkText(a, opts, ya), chunkText(b, opts, yb)]);
    expect(ya.yields).toBeGreaterThan(1);
    expect(yb.yields).toBeGreaterThan(1);
    expect(together).toEqual(alone);
  });
});
