import { z } from "@hono/zod-openapi";
import { ApiError } from "../http/errors";
import type { Collection } from "../storage/collections";

/**
 * Document expiry (issue 20 item 4). A document gets an absolute `expires_at` when it is accepted:
 * from the upload's own `expires_at` / `expires_after_seconds`, else from its collection's default
 * `expires_after: {anchor, days}` (OpenAI's vector-store shape). With the `last_active_at` anchor
 * the expiry slides: activity on the document (a re-upload of the same bytes, a download, an MCP
 * `read_document`) moves it to now + days. The cron sweeper (src/ingest/sweeper.ts) deletes expired
 * documents through the normal delete path.
 */

const DAY = 86_400;
/** Expiry at most ten years ahead; at least a minute (the sweeper runs every five). */
export const EXPIRY_LIMITS = { minSeconds: 60, maxSeconds: 3650 * DAY, maxDays: 3650 } as const;

export const ExpiresAfterSchema = z
  .object({
    anchor: z.enum(["created_at", "last_active_at"]),
    days: z.number().int().min(1).max(EXPIRY_LIMITS.maxDays),
  })
  .strict()
  .openapi("ExpiresAfter", {
    description:
      "Default expiry of the collection's new documents: `days` after the document was created, or after its last activity " +
      "(a re-upload of the same bytes, a download, an MCP read_document)",
    example: { anchor: "last_active_at", days: 30 },
  });
export type ExpiresAfter = z.infer<typeof ExpiresAfterSchema>;

/** `expires_at` / `expires_after_seconds` of an upload (JSON per document, multipart as form fields). */
export const UploadExpiryFields = {
  expires_at: z.iso
    .datetime({ offset: true })
    .optional()
    .openapi({ description: "When the document is deleted (ISO 8601, in the future)", example: "2027-01-31T00:00:00Z" }),
  expires_after_seconds: z
    .number()
    .int()
    .min(EXPIRY_LIMITS.minSeconds)
    .max(EXPIRY_LIMITS.maxSeconds)
    .optional()
    .openapi({ description: "Seconds from now after which the document is deleted" }),
};

/** A document's expiry as stored: when, and (for `last_active_at`) by how much activity moves it. */
export interface DocumentExpiry {
  at: number;
  slide: number | null;
}

/**
 * The expiry of a new document: its upload's own, else its collection's default, else none.
 * Throws 400 `validation_error` for both fields at once or a time not in the future.
 */
export function resolveExpiry(
  now: number,
  upload: { expires_at?: string; expires_after_seconds?: number },
  collection: Pick<Collection, "expires_after">,
): DocumentExpiry | null {
  if (upload.expires_at !== undefined && upload.expires_after_seconds !== undefined) {
    throw new ApiError("validation_error", "Give expires_at or expires_after_seconds, not both");
  }
  if (upload.expires_at !== undefined) {
    const at = Math.floor(Date.parse(upload.expires_at) / 1000);
    if (!Number.isFinite(at) || at <= now) throw new ApiError("validation_error", "expires_at must be a time in the future");
    if (at > now + EXPIRY_LIMITS.maxSeconds) throw new ApiError("validation_error", "expires_at may be at most ten years ahead");
    return { at, slide: null };
  }
  if (upload.expires_after_seconds !== undefined) return { at: now + upload.expires_after_seconds, slide: null };
  const policy = collectionExpiry(collection);
  if (!policy) return null;
  const seconds = policy.days * DAY;
  return { at: now + seconds, slide: policy.anchor === "last_active_at" ? seconds : null };
}

/** A collection's default expiry, parsed from its row. */
export function collectionExpiry(collection: Pick<Collection, "expires_after">): ExpiresAfter | null {
  return collection.expires_after ? (JSON.parse(collection.expires_after) as ExpiresAfter) : null;
}
