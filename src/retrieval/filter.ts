/**
 * Metadata filters in OpenAI's grammar (vector-store search `filters`): a comparison
 * `{type: eq|ne|gt|gte|lt|lte|in|nin, key, value}` or a compound `{type: and|or, filters}`.
 *
 * Minimal implementation owned by the data-plane branch so that it compiles and is testable; the
 * filter engineer's version (same exported API) replaces it at merge.
 */
import { z } from "zod";

type Scalar = string | number | boolean;
export type ComparisonFilter = {
  type: "eq" | "ne" | "gt" | "gte" | "lt" | "lte" | "in" | "nin";
  key: string;
  value: Scalar | Scalar[];
};
export type CompoundFilter = { type: "and" | "or"; filters: MetadataFilter[] };
export type MetadataFilter = ComparisonFilter | CompoundFilter;

const ScalarSchema = z.union([z.string().max(512), z.number(), z.boolean()]);
const Comparison = z.object({
  type: z.enum(["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"]),
  key: z.string().min(1).max(128),
  value: z.union([ScalarSchema, z.array(ScalarSchema).max(50)]),
});
export const MetadataFilterSchema: z.ZodType<MetadataFilter> = z.lazy(() =>
  z.union([Comparison, z.object({ type: z.enum(["and", "or"]), filters: z.array(MetadataFilterSchema).min(1).max(20) })]),
) as z.ZodType<MetadataFilter>;

const OPS = { eq: "=", ne: "!=", gt: ">", gte: ">=", lt: "<", lte: "<=" } as const;

/** JSON path of a key: quoted so that dots or quotes in a key cannot change the path. */
function jsonPath(key: string): string {
  return `$."${key.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** SQLite's json_extract gives true/false as 1/0. */
const sqlValue = (v: Scalar): unknown => (typeof v === "boolean" ? (v ? 1 : 0) : v);

/** A SQL boolean expression over json_extract(jsonColumn, ...), every value bound. */
export function compileFilter(filter: MetadataFilter, jsonColumn: string): { sql: string; params: unknown[] } {
  if (filter.type === "and" || filter.type === "or") {
    const f = filter as CompoundFilter;
    const parts = f.filters.map((x) => compileFilter(x, jsonColumn));
    if (parts.length === 0) return { sql: f.type === "and" ? "1" : "0", params: [] };
    return { sql: `(${parts.map((p) => p.sql).join(f.type === "and" ? " AND " : " OR ")})`, params: parts.flatMap((p) => p.params) };
  }
  const f = filter as ComparisonFilter;
  const col = `json_extract(${jsonColumn}, ?)`;
  if (f.type === "in" || f.type === "nin") {
    const values = Array.isArray(f.value) ? f.value : [f.value];
    if (values.length === 0) return { sql: f.type === "in" ? "0" : "1", params: [] };
    const list = values.map(() => "?").join(", ");
    const sql = f.type === "in" ? `(${col} IN (${list}))` : `(${col} IS NULL OR ${col} NOT IN (${list}))`;
    const params =
      f.type === "in" ? [jsonPath(f.key), ...values.map(sqlValue)] : [jsonPath(f.key), jsonPath(f.key), ...values.map(sqlValue)];
    return { sql, params };
  }
  const value = Array.isArray(f.value) ? f.value[0] : f.value;
  if (f.type === "ne") return { sql: `(${col} IS NULL OR ${col} != ?)`, params: [jsonPath(f.key), jsonPath(f.key), sqlValue(value)] };
  return { sql: `(${col} ${OPS[f.type]} ?)`, params: [jsonPath(f.key), sqlValue(value)] };
}

/** The same filter evaluated in JavaScript. */
export function matchFilter(filter: MetadataFilter, metadata: Record<string, unknown>): boolean {
  if (filter.type === "and") return (filter as CompoundFilter).filters.every((x) => matchFilter(x, metadata));
  if (filter.type === "or") return (filter as CompoundFilter).filters.some((x) => matchFilter(x, metadata));
  const f = filter as ComparisonFilter;
  const actual = metadata[f.key];
  const values = Array.isArray(f.value) ? f.value : [f.value];
  switch (f.type) {
    case "in":
      return values.some((v) => v === actual);
    case "nin":
      return !values.some((v) => v === actual);
    case "eq":
      return actual === values[0];
    case "ne":
      return actual !== values[0];
    default: {
      const v = values[0];
      if (typeof actual !== typeof v || (typeof v !== "number" && typeof v !== "string")) return false;
      const a = actual as number | string;
      return f.type === "gt" ? a > v : f.type === "gte" ? a >= v : f.type === "lt" ? a < v : a <= v;
    }
  }
}
