import { expect } from "vitest";
import type { SourcePassage } from "../../src/chat/answer/types";
import { ApiError, type ErrorCode } from "../../src/http/errors";

/** The test-only helper of the AiDouble (test/doubles/cloudflare-doubles.mjs). */
export interface AiDoubleControl {
  recorded(marker: string): Promise<{ model: string; inputs: Record<string, unknown> }[]>;
}

export function aiControl(ai: unknown): AiDoubleControl {
  return ai as AiDoubleControl;
}

/** Awaits a rejection and checks it is an ApiError with this code and status. */
export async function expectApiError(p: Promise<unknown> | (() => Promise<unknown>), code: ErrorCode, status: number): Promise<ApiError> {
  let caught: unknown;
  try {
    await (typeof p === "function" ? p() : p);
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected ApiError ${code}`).toBeInstanceOf(ApiError);
  const e = caught as ApiError;
  expect(e.code).toBe(code);
  expect(e.status).toBe(status);
  return e;
}

export async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const d of it) out.push(d);
  return out;
}

export function source(n: number, document_name: string, text: string, document_id = `doc-${n}`): SourcePassage {
  return { n, document_id, document_name, chunk: 0, text, score: 1 / n };
}

export const SOURCES: SourcePassage[] = [
  source(
    1,
    "refunds.md",
    "Our refund policy is simple. Customers can request a full refund within 30 days of purchase. " +
      "Refunds are issued to the original payment method within 5 business days. After 30 days, we offer store credit instead.",
  ),
  source(
    2,
    "shipping.md",
    "We ship worldwide from our warehouse in Rotterdam. Standard shipping takes 3 to 7 business days. " +
      "Express shipping is available for an extra fee and arrives the next business day.",
  ),
  source(
    3,
    "security.md",
    "All customer data is encrypted at rest with AES-256. Access to production systems requires hardware security keys. " +
      "Security incidents are reported to affected customers within 72 hours.",
  ),
];

/** A fetch stub that records requests and answers with `respond`. */
export function fetchStub(respond: (url: string, init: RequestInit) => Response | Promise<Response>) {
  const requests: { url: string; init: RequestInit; body: Record<string, unknown> }[] = [];
  const fn = async (url: string, init: RequestInit) => {
    requests.push({ url, init, body: JSON.parse(String(init.body)) });
    return respond(url, init);
  };
  return { fn, requests };
}

/** A fetch stub that never answers until its signal aborts (as a hung upstream would). */
export function hangingFetch(_url: string, init: RequestInit): Promise<Response> {
  return new Promise((_, reject) => {
    const signal = init.signal;
    if (!signal) return; // would hang forever: the provider must always pass a signal
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

/** A byte stream delivering `text` in `size`-byte pieces. */
export function chunkedBody(text: string, size = 5): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) {
        controller.close();
        return;
      }
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}
