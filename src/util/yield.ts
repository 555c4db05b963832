/**
 * Cooperative yielding for long CPU loops (extraction, chunking).
 *
 * A queue invocation can share an isolate with fetch requests: a loop that runs for seconds holds
 * every request in that isolate for as long. Long loops therefore hand the event loop back at least
 * every SLICE_MS of work by awaiting `maybeYield()` at their checkpoints.
 *
 * Why both a clock and a work count: on Cloudflare the clock does not advance while code runs (it
 * moves only on I/O, a Spectre mitigation), so a time slice alone would never end in production.
 * Each checkpoint therefore also reports the work done since the last one (characters, cuts ...),
 * and a slice ends when either the clock says SLICE_MS passed (where the clock moves: workerd
 * locally, Node) or WORK_PER_SLICE units were done (where it does not). WORK_PER_SLICE is sized so
 * that a slice of the slowest loop it guards stays around SLICE_MS on a slow machine.
 */

/** Longest stretch of work between two yields, where the clock moves. */
export const SLICE_MS = 20;
/** Work units (about one character scanned) per slice where the clock does not move. */
export const WORK_PER_SLICE = 200_000;

type Scheduler = { wait?: (ms: number) => Promise<void> };

/** One macrotask turn: timers and incoming requests queued meanwhile run before the loop resumes. */
export function yieldNow(): Promise<void> {
  const scheduler = (globalThis as { scheduler?: Scheduler }).scheduler;
  if (typeof scheduler?.wait === "function") return scheduler.wait(0);
  return new Promise((resolve) => setTimeout(resolve, 0));
}

export interface Yielder {
  /**
   * Records `work` units done since the last call and, when the slice is used up, yields once.
   * Returns undefined (nothing to await) otherwise, so a hot loop pays no promise per checkpoint:
   * `const p = y.maybeYield(n); if (p) await p;`.
   */
  maybeYield(work?: number): Promise<void> | undefined;
  /** How many times this yielder handed the event loop back (for tests and logs). */
  readonly yields: number;
}

export function createYielder(opts: { sliceMs?: number; workPerSlice?: number } = {}): Yielder {
  const sliceMs = opts.sliceMs ?? SLICE_MS;
  const workPerSlice = opts.workPerSlice ?? WORK_PER_SLICE;
  let sliceStart = Date.now();
  let work = 0;
  let yields = 0;
  return {
    maybeYield(units = 1) {
      work += units;
      if (work < workPerSlice && Date.now() - sliceStart < sliceMs) return undefined;
      yields++;
      return yieldNow().then(() => {
        // The slice restarts after the turn, so time spent by others does not count as ours.
        work = 0;
        sliceStart = Date.now();
      });
    },
    get yields() {
      return yields;
    },
  };
}
