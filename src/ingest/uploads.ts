import type { Context } from "hono";
import type { Settings } from "../config";
import type { AppEnv } from "../http/context";
import { UploadBudget } from "../auth/quotas";
import { ApiError } from "../http/errors";
import type { Collection } from "../storage/collections";
import { type Accepted, acceptUpload, type UploadInput } from "./pipeline";
import { EXPIRY_LIMITS, UploadExpiryFields } from "./expiry";
import { z } from "@hono/zod-openapi";

export const MAX_FILES_PER_REQUEST = 100;
const encoder = new TextEncoder();

export interface FileOutcome {
  name: string;
  accepted?: Accepted;
  error?: ApiError;
}

/** Reads the `file` (or `files`) parts of a multipart body into upload inputs. */
export async function readMultipartFiles(c: Context<AppEnv>, field = "file"): Promise<UploadInput[]> {
  return (await readMultipartUpload(c, field)).files;
}

/** The files of a multipart body and its text fields (e.g. `chunking_strategy`). */
export async function readMultipartUpload(
  c: Context<AppEnv>,
  field = "file",
): Promise<{ files: UploadInput[]; fields: Map<string, string> }> {
  let form: FormData;
  try {
    form = await c.req.formData();
  } catch (err) {
    throw new ApiError("bad_request", "Body must be multipart/form-data with one or more `file` parts", { cause: err });
  }
  const fields = new Map<string, string>();
  for (const [name, value] of form.entries()) if (typeof value === "string" && name !== field) fields.set(name, value);
  return { files: await filesOf(form, field), fields };
}

async function filesOf(form: FormData, field: string): Promise<UploadInput[]> {
  const parts = [...form.getAll(field), ...(field === "file" ? form.getAll("files") : [])];
  const files = parts.filter((p): p is File => typeof p !== "string");
  if (files.length > MAX_FILES_PER_REQUEST) {
    throw new ApiError("payload_too_large", `At most ${MAX_FILES_PER_REQUEST} files per request`);
  }
  const expiry = formExpiry(form);
  return Promise.all(
    files.map(async (f) => ({
      name: f.name || "",
      bytes: new Uint8Array(await f.arrayBuffer()),
      contentType: f.type || null,
      ...(expiry ? { expiry } : {}),
    })),
  );
}

const FormExpiry = z
  .object({
    expires_at: UploadExpiryFields.expires_at,
    expires_after_seconds: z.coerce.number().int().min(EXPIRY_LIMITS.minSeconds).max(EXPIRY_LIMITS.maxSeconds).optional(),
  })
  .strict();

/** A multipart upload's `expires_at` / `expires_after_seconds` form fields: the expiry of every file in it. */
function formExpiry(form: FormData): UploadInput["expiry"] | undefined {
  const raw: Record<string, string> = {};
  for (const name of ["expires_at", "expires_after_seconds"]) {
    const v = form.get(name);
    if (typeof v === "string" && v.trim() !== "") raw[name] = v.trim();
  }
  if (Object.keys(raw).length === 0) return undefined;
  const parsed = FormExpiry.safeParse(raw);
  if (!parsed.success) {
    throw new ApiError("validation_error", "Invalid expiry fields", {
      details: parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
    });
  }
  return parsed.data;
}

/** Upload metadata is stored with every document and returned by every listing: kept small and flat. */
export const METADATA_LIMITS = { maxBytes: 8 * 1024, maxDepth: 5 };

export function checkMetadata(metadata: Record<string, unknown> | undefined): void {
  if (metadata === undefined) return;
  // Depth by an explicit stack: a deeply nested value cannot overflow anything here.
  const stack: [unknown, number][] = [[metadata, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== "object") continue;
    if (depth > METADATA_LIMITS.maxDepth) {
      throw new ApiError("validation_error", `metadata is nested more than ${METADATA_LIMITS.maxDepth} levels deep`);
    }
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  // Size once depth is known to be small (stringifying a deep value could exhaust the stack).
  const bytes = encoder.encode(JSON.stringify(metadata)).byteLength;
  if (bytes > METADATA_LIMITS.maxBytes) {
    throw new ApiError("validation_error", `metadata is ${bytes} bytes; at most ${METADATA_LIMITS.maxBytes} are allowed`);
  }
}

export function textRecordToUpload(r: {
  name: string;
  text: string;
  metadata?: Record<string, unknown>;
  expires_at?: string;
  expires_after_seconds?: number;
}): UploadInput {
  checkMetadata(r.metadata);
  const name = /\.[a-z0-9]{1,5}$/i.test(r.name) ? r.name : `${r.name}.txt`;
  return {
    name,
    bytes: encoder.encode(r.text),
    contentType: name.endsWith(".md") ? "text/markdown" : "text/plain; charset=utf-8",
    metadata: r.metadata,
    ...(r.expires_at !== undefined || r.expires_after_seconds !== undefined
      ? { expiry: { expires_at: r.expires_at, expires_after_seconds: r.expires_after_seconds } }
      : {}),
  };
}

/** Uploads accepted at once: the steps are I/O (D1, R2), so a few in flight hide the latency. */
const ACCEPT_CONCURRENCY = 8;

/** Accepts each file on its own: one bad file never stops the others. Outcomes keep the input order. */
export async function acceptAll(env: Env, settings: Settings, collection: Collection, inputs: UploadInput[]): Promise<FileOutcome[]> {
  const out: FileOutcome[] = new Array(inputs.length);
  const budget = await UploadBudget.load(env, settings, collection.id);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < inputs.length; i = next++) {
      const input = inputs[i];
      if (!input.name) {
        out[i] = { name: "", error: new ApiError("bad_request", "A file part has no file name") };
        continue;
      }
      const size = input.bytes.byteLength;
      try {
        budget.reserve(size);
      } catch (err) {
        out[i] = { name: input.name, error: err as ApiError };
        continue;
      }
      try {
        const accepted = await acceptUpload(env, settings, collection, input);
        if (accepted.duplicate) budget.release(size);
        out[i] = { name: input.name, accepted };
      } catch (err) {
        budget.release(size);
        // A storage failure is this file's outcome too: the files already accepted must still be
        // queued by the caller, or they would sit in `queued` forever.
        const apiErr = err instanceof ApiError ? err : new ApiError("unavailable", "Could not store the upload; try again", { cause: err });
        if (apiErr.status >= 500) console.error(JSON.stringify({ upload: input.name, error: String(err) }));
        out[i] = { name: input.name, error: apiErr };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(ACCEPT_CONCURRENCY, inputs.length) }, worker));
  return out;
}
