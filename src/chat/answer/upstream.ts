import { ApiError } from "../../http/errors";

/**
 * A re-armable timeout for one upstream call. `AbortSignal.timeout` fires once per call, which
 * would cut a long but healthy stream; this one is restarted on every chunk, so it bounds the
 * wait for the first byte and for each next chunk, not the whole answer. Its signal also follows
 * the caller's signal (client gone).
 */
export class Deadline {
  timedOut = false;
  readonly signal: AbortSignal;
  private readonly ctl = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly ms: number,
    outer?: AbortSignal,
  ) {
    this.signal = outer ? AbortSignal.any([this.ctl.signal, outer]) : this.ctl.signal;
    this.restart();
  }

  restart(): void {
    this.stop();
    if (this.signal.aborted) return;
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.ctl.abort(new DOMException(`no answer within ${this.ms} ms`, "TimeoutError"));
    }, this.ms);
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Settles like `p`, or rejects as soon as the deadline passes or the caller aborts. */
  race<T>(p: Promise<T>): Promise<T> {
    if (this.signal.aborted) {
      p.catch(() => {});
      return Promise.reject(this.signal.reason);
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(this.signal.reason);
      this.signal.addEventListener("abort", onAbort, { once: true });
      p.then(
        (v) => {
          this.signal.removeEventListener("abort", onAbort);
          resolve(v);
        },
        (e) => {
          this.signal.removeEventListener("abort", onAbort);
          reject(e);
        },
      );
    });
  }
}

/** An upstream answered with a non-2xx status; only the status is kept (and logged). */
export class UpstreamStatusError extends Error {
  constructor(readonly status: number) {
    super(`upstream answered HTTP ${status}`);
    this.name = "UpstreamStatusError";
  }
}

/** The upstream answered 2xx with something that is not the protocol's shape. */
export class UpstreamProtocolError extends Error {
  override name = "UpstreamProtocolError";
}

/**
 * Maps any failure of an answer provider's upstream call to what the client may see: 504 when our
 * deadline passed, 502 otherwise, each with a fixed message. Upstream status and error text go to
 * the log only. An abort by the caller is passed through unchanged (nobody is waiting for an answer).
 */
export function answerFailure(provider: string, err: unknown, deadline: Deadline, outer?: AbortSignal): unknown {
  if (err instanceof ApiError) return err;
  if (deadline.timedOut) {
    console.error(JSON.stringify({ upstream: provider, error: "timeout" }));
    return new ApiError("upstream_timeout", "The answer service did not respond in time", { cause: err });
  }
  if (outer?.aborted) return err;
  const detail = err instanceof UpstreamStatusError ? { status: err.status } : { error: describe(err) };
  console.error(JSON.stringify({ upstream: provider, ...detail }));
  return new ApiError("upstream_error", "The answer service failed", { cause: err });
}

/** For the log: a JSON parse error would quote the upstream body, so only its kind is kept. */
function describe(err: unknown): string {
  if (err instanceof SyntaxError) return "SyntaxError: the upstream answered invalid JSON";
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

export type FetchFn = (input: string, init: RequestInit) => Promise<Response>;

/** Calls the global fetch lazily (so a test's `vi.spyOn(globalThis, "fetch")` applies) and unbound. */
export const globalFetch: FetchFn = (input, init) => fetch(input, init);

/** Operator-configured upstream URLs must be http(s); anything else is a configuration error. */
export function checkUpstreamUrl(url: string, setting: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ApiError("misconfigured", `Server misconfigured: ${setting} is not a valid URL`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new ApiError("misconfigured", `Server misconfigured: ${setting} must be an http(s) URL`);
  }
  return parsed;
}
