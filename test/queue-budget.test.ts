import { describe, expect, it } from "vitest";
import { documentMemoryBytes, runWithin } from "../src/ingest/queue";

const MiB = 1024 * 1024;

/** Runs tasks that each take a few event-loop turns, recording how many run at once and how much memory they claim. */
async function observe(sizes: number[], budget: number) {
  let running = 0;
  let memory = 0;
  const peaks = { running: 0, memory: 0 };
  const alone: boolean[] = [];
  await runWithin(
    sizes,
    (s) => documentMemoryBytes(s),
    budget,
    async (s) => {
      const w = Math.min(documentMemoryBytes(s), budget);
      running++;
      memory += w;
      peaks.running = Math.max(peaks.running, running);
      peaks.memory = Math.max(peaks.memory, memory);
      alone.push(running === 1);
      for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 1));
      if (s === 13) throw new Error("a crashing document");
      running--;
      memory -= w;
    },
  ).catch(() => {});
  return { peaks, alone };
}

describe("queue consumer concurrency", () => {
  it("keeps the documents of a batch within the memory budget", async () => {
    // 100 small documents (2 MiB + 4 × 1.5 KB each) under 64 MiB: at most 31 at once.
    const { peaks } = await observe(
      Array.from({ length: 100 }, () => 1500),
      64 * MiB,
    );
    expect(peaks.memory).toBeLessThanOrEqual(64 * MiB);
    expect(peaks.running).toBe(Math.floor((64 * MiB) / documentMemoryBytes(1500)));
  });

  it("a document larger than the budget runs alone", async () => {
    const sizes = [1000, 25 * MiB, 1000, 1000];
    const { peaks, alone } = await observe(sizes, 64 * MiB);
    expect(peaks.memory).toBeLessThanOrEqual(64 * MiB);
    expect(alone[1]).toBe(true);
  });

  it("a task that throws does not stop the others", async () => {
    const done: number[] = [];
    await runWithin(
      [1, 13, 2],
      () => MiB,
      2 * MiB,
      async (s) => {
        if (s === 13) throw new Error("crash");
        done.push(s);
      },
    );
    expect(done.sort()).toEqual([1, 2]);
  });
});
