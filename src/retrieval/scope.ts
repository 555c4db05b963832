import { z } from "@hono/zod-openapi";
import type { KeyBinding, Principal } from "../auth/principal";
import { ApiError } from "../http/errors";
import { sha256Hex } from "../util/crypto";
import { compileFilter, type MetadataFilter, matchFilter } from "./filter";
import { MetadataFilterSchema } from "./filter-schema";

/**
 * Which documents a request may see: the one place that turns a principal (its key's binding) and
 * a request's own filters into the filter every surface applies. Search, chat, completions,
 * vector-store search, MCP, document listing, reads and session history all call `effectiveScope`
 * or `assertVisible`; none of them reads a binding itself.
 *
 * - The master key and unbound keys see the whole collection; the request's filters apply as given.
 * - A bound key's filter is AND-combined with the request's, and its document ids intersected with
 *   the request's: a request can narrow what a key sees, never widen it.
 * - A document outside the binding reads as absent (404 `not_found`), never 403, so a bound key
 *   cannot probe which ids exist.
 */

/** Document ids a key may be bound to: at most this many. */
export const MAX_BOUND_DOCUMENT_IDS = 100;

/** A document id as the service issues them (src/util/crypto.ts `newId("doc")`). */
export const DocumentIdSchema = z
  .string()
  .regex(/^doc_[A-Za-z0-9_-]{1,60}$/, { message: "A document id looks like doc_…" })
  .openapi({ example: "doc_AbCdEf123456" });

/** `filter` and/or `document_ids` of POST /get_temp_api_key and POST /v1/keys. */
export const KeyBindingFields = {
  filter: MetadataFilterSchema.optional().openapi({
    description: "Binds the key to the documents whose metadata matches this filter (OpenAI grammar, as search takes)",
  }),
  document_ids: z
    .array(DocumentIdSchema)
    .min(1)
    .max(MAX_BOUND_DOCUMENT_IDS)
    .optional()
    .openapi({ description: `Binds the key to these documents of its collection (at most ${MAX_BOUND_DOCUMENT_IDS})` }),
};

export const KeyBindingSchema = z
  .object({
    filter: MetadataFilterSchema.optional(),
    document_ids: z.array(z.string()).optional(),
  })
  .openapi("KeyBinding", {
    description: "The part of its collection a key sees: documents matching `filter` and (when given) listed in `document_ids`",
  });

/** The binding made of a request's `filter` / `document_ids`, or null when neither was given. */
export function bindingFrom(fields: { filter?: MetadataFilter; document_ids?: string[] }): KeyBinding | null {
  if (fields.filter === undefined && fields.document_ids === undefined) return null;
  return {
    ...(fields.filter !== undefined ? { filter: fields.filter as KeyBinding["filter"] } : {}),
    ...(fields.document_ids !== undefined ? { document_ids: [...new Set(fields.document_ids)] } : {}),
  };
}

/**
 * The binding a principal carries, or null (sees all of its collection). A session's binding is in
 * its session object: a bound token whose session has not been opened yet is refused rather than
 * treated as unbound (fail closed).
 */
export function bindingOf(p: Principal): KeyBinding | null {
  if (p.kind === "master") return null;
  if (p.kind === "key") return p.key.binding ?? null;
  if (p.binding === undefined) {
    if (p.claims.bnd) throw new ApiError("internal_error", "The session's binding was not loaded");
    return null;
  }
  return p.binding;
}

/** What a request may retrieve: pass both fields to `search` (and to the answer cache key). */
export interface DocumentScope {
  documentIds?: string[];
  filter?: MetadataFilter;
}

/**
 * An id no document has: an empty intersection of id lists must match nothing, and the search API
 * reads an empty list as "no restriction".
 */
export const NO_DOCUMENT = "doc_\u0000none";

/** Bound parameters the index object allows a scope (it adds two of its own to the 100 a statement takes). */
const MAX_SCOPE_PARAMS = 98;

/**
 * The effective filter of a request: the principal's binding AND the request's own filters.
 * Throws 400 `validation_error` when the combination is too large to run.
 */
export function effectiveScope(p: Principal, request: DocumentScope = {}): DocumentScope {
  const binding = bindingOf(p);
  const keyFilter = binding?.filter as MetadataFilter | undefined;
  const filter =
    keyFilter && request.filter ? { type: "and" as const, filters: [keyFilter, request.filter] } : (keyFilter ?? request.filter);
  let documentIds = request.documentIds?.length ? request.documentIds : undefined;
  if (binding?.document_ids) {
    const allowed = new Set(binding.document_ids);
    documentIds = documentIds ? documentIds.filter((id) => allowed.has(id)) : [...binding.document_ids];
    if (documentIds.length === 0) documentIds = [NO_DOCUMENT];
  }
  const scope: DocumentScope = {
    ...(documentIds ? { documentIds } : {}),
    ...(filter ? { filter } : {}),
  };
  if (filter) {
    let params: number;
    try {
      params = compileFilter(filter, "metadata").params.length;
    } catch {
      params = Number.POSITIVE_INFINITY;
    }
    if (params + (documentIds ? 1 : 0) > MAX_SCOPE_PARAMS) {
      throw new ApiError("validation_error", "The filter, combined with the API key's own filter, is too large; use a smaller filter");
    }
  }
  return scope;
}

/** Whether a document (its id and metadata) is inside the principal's binding. */
export function canSee(p: Principal, doc: { id: string; metadata: string | Record<string, unknown> }): boolean {
  const binding = bindingOf(p);
  if (!binding) return true;
  if (binding.document_ids && !binding.document_ids.includes(doc.id)) return false;
  if (binding.filter) {
    const metadata = typeof doc.metadata === "string" ? (JSON.parse(doc.metadata) as Record<string, unknown>) : doc.metadata;
    if (!matchFilter(binding.filter as MetadataFilter, metadata)) return false;
  }
  return true;
}

/** 404 for a document outside the binding: the same answer as for one that does not exist. */
export function assertVisible<T extends { id: string; metadata: string | Record<string, unknown> }>(p: Principal, doc: T): T {
  if (!canSee(p, doc)) throw new ApiError("not_found", "Document not found");
  return doc;
}

/**
 * A scope as one SQL condition over a catalogue table with `id` and `metadata` columns (D1 listings),
 * every value bound; null when the scope restricts nothing.
 */
export function scopeSql(scope: DocumentScope, columns: { id: string; metadata: string }): { sql: string; params: unknown[] } | null {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (scope.documentIds) {
    parts.push(`${columns.id} IN (SELECT value FROM json_each(?))`);
    params.push(JSON.stringify(scope.documentIds));
  }
  if (scope.filter) {
    const f = compileFilter(scope.filter, columns.metadata);
    parts.push(f.sql);
    params.push(...f.params);
  }
  return parts.length ? { sql: parts.join(" AND "), params } : null;
}

/** A short digest of a binding: session tokens carry it, so a token refers to its session's binding. */
export async function bindingDigest(binding: KeyBinding | null | undefined): Promise<string | undefined> {
  if (!binding) return undefined;
  return (await sha256Hex(JSON.stringify(binding))).slice(0, 32);
}

/**
 * The binding stored in a session object (JSON), checked against the digest its token carries: a
 * token and a session that disagree (a token of another key's session, or a session object older
 * than its token's binding) is no session at all.
 */
export async function sessionBinding(stored: string | null | undefined, claims: { bnd?: string }): Promise<KeyBinding | null | "mismatch"> {
  const binding = stored ? (JSON.parse(stored) as KeyBinding) : null;
  return (await bindingDigest(binding)) === claims.bnd ? binding : "mismatch";
}
