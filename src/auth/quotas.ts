import { ApiError } from "../http/errors";

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
