import { z } from "@hono/zod-openapi";
import type { Settings } from "../config";
import { ApiError } from "../http/errors";
import { type CollectionUsage, collectionUsage } from "../storage/documents";
import { guardName, guardStub } from "./guard-do";

/**
 * 403 `quota_exceeded`, naming the quota, its limit and the current use (in the message and in
 * `details`, so a client can show or act on it).
 */
export function quotaExceeded(quota: string, limit: number, used: number, what: string, headers?: Record<string, string>): ApiError {
  return new ApiError("quota_exceeded", `Quota exceeded: ${what} (limit ${limit}, in use ${used})`, {
    details: { quota, limit, used },
    headers,
  });
}

const Used = z.object({ used: z.number(), limit: z.number() });
export const UsageSchema = z
  .object({ documents: Used, bytes: Used, chunks: Used })
  .openapi("CollectionUsage", { description: "What the collection holds against its quotas (bytes: originals as uploaded)" });

/** Usage against the quotas, as GET /v1/collections/{id} reports it. */
export async function usageReport(env: Env, settings: Settings, collectionId: string) {
  const u = await collectionUsage(env.DB, collectionId);
  return {
    documents: { used: u.documents, limit: settings.QUOTA_COLLECTION_DOCUMENTS },
    bytes: { used: u.bytes, limit: settings.QUOTA_COLLECTION_BYTES },
    chunks: { used: u.chunks, limit: settings.QUOTA_COLLECTION_CHUNKS },
  };
}

/**
 * The room one upload request has in its collection, read once and spent file by file, so a batch
 * cannot overshoot by the files it carries. Chunks are known only after indexing: a collection at
 * or over its chunk quota takes no new document.
 */
export class UploadBudget {
  private constructor(
    private readonly settings: Settings,
    private usage: CollectionUsage,
  ) {}

  static async load(env: Env, settings: Settings, collectionId: string): Promise<UploadBudget> {
    return new UploadBudget(settings, await collectionUsage(env.DB, collectionId));
  }

  /** Throws `quota_exceeded` when one more document of `bytes` would not fit; else counts it. */
  reserve(bytes: number): void {
    const s = this.settings;
    const u = this.usage;
    if (u.documents + 1 > s.QUOTA_COLLECTION_DOCUMENTS) {
      throw quotaExceeded("collection_documents", s.QUOTA_COLLECTION_DOCUMENTS, u.documents, "documents in this collection");
    }
    if (u.bytes + bytes > s.QUOTA_COLLECTION_BYTES) {
      throw quotaExceeded("collection_bytes", s.QUOTA_COLLECTION_BYTES, u.bytes, "bytes stored in this collection");
    }
    if (u.chunks >= s.QUOTA_COLLECTION_CHUNKS) {
      throw quotaExceeded("collection_chunks", s.QUOTA_COLLECTION_CHUNKS, u.chunks, "chunks indexed in this collection");
    }
    this.usage = { ...u, documents: u.documents + 1, bytes: u.bytes + bytes };
  }

  /** A file that turned out to be a duplicate or was refused gives its room back. */
  release(bytes: number): void {
    this.usage = { ...this.usage, documents: this.usage.documents - 1, bytes: this.usage.bytes - bytes };
  }
}

/**
 * A collection's reindex re-embeds every chunk: at most one per REINDEX_COOLDOWN_SECONDS. The
 * collection's guard object holds the last time, so the cooldown holds across isolates.
 */
export async function claimReindex(env: Env, settings: Settings, collectionId: string): Promise<void> {
  const cooldown = settings.REINDEX_COOLDOWN_SECONDS;
  if (cooldown === 0) return;
  const r = await guardStub(env, guardName.collection(collectionId)).claim("reindex", cooldown);
  if (!r.ok) {
    throw new ApiError("quota_exceeded", `Quota exceeded: one reindex per ${cooldown} s for a collection; retry in ${r.retryAfter} s`, {
      details: { quota: "reindex_cooldown", limit: cooldown, used: cooldown - r.retryAfter, retry_after: r.retryAfter },
      headers: { "Retry-After": String(r.retryAfter) },
    });
  }
}
