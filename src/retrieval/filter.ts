/**
 * Metadata filters in OpenAI's grammar (vector-store search `filters`, also used by chat):
 * comparisons `eq ne gt gte lt lte in nin` on one top-level metadata key, combined with `and`/`or`.
 *
 * Semantics, identical in SQL (`compileFilter`) and in JavaScript (`matchFilter`):
 * - Values compare only with values of the same kind: string with string, number with number,
 *   boolean with boolean. A key that is missing, null, an object or an array matches no comparison.
 * - `ne` is `not eq` and `nin` is `not in`: a document without the key matches them.
 * - `gt gte lt lte` order numbers numerically and strings by Unicode code point (SQLite's BINARY
 *   collation over UTF-8), so ISO dates compare as dates. Booleans have no order.
 * - `in`/`nin` take a list of strings and numbers.
 */
export type ComparisonFilter =
  | { type: "eq" | "ne"; key: string; value: string | number | boolean }
  | { type: "gt" | "gte" | "lt" | "lte"; key: string; value: string | number }
  | { type: "in" | "nin"; key: string; value: (string | number)[] };

export interface CompoundFilter {
  type: "and" | "or";
  filters: MetadataFilter[];
}

export type MetadataFilter = ComparisonFilter | CompoundFilter;

export function isCompound(f: MetadataFilter): f is CompoundFilter {
  return f.type === "and" || f.type === "or";
}

/** Caps that keep a filter cheap to check and its SQL within D1's 100 bound parameters. */
export const FILTER_LIMITS = { maxDepth: 5, maxComparisons: 32, maxListItems: 100, maxKeyLength: 128, maxStringLength: 1000 } as const;

// ---------------------------------------------------------------------------------------------
// SQL

/** `'$."key"'` as an SQL string literal (the key is already free of `"` and `\`). */
function pathLiteral(key: string): string {
  return `'$."${key.replace(/'/g, "''")}"'`;
}

const SQL_OPS = { eq: "=", ne: "=", gt: ">", gte: ">=", lt: "<", lte: "<=" } as const;

/**
 * A SQLite boolean expression (always 0 or 1, never NULL) over `json_extract(jsonColumn, '$."key"')`,
 * with every value bound. `jsonColumn` is an SQL identifier chosen by the caller, never user input.
 * At most 2 parameters per comparison, so a schema-valid filter uses at most 64 parameters.
 */
export function compileFilter(f: MetadataFilter, jsonColumn: string): { sql: string; params: unknown[] } {
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/.test(jsonColumn)) throw new Error(`Unsafe column name: ${jsonColumn}`);
  const params: unknown[] = [];
  const sql = compileNode(f, jsonColumn, params);
  if (params.length > 100) throw new Error("Filter needs more than 100 bound parameters");
  return { sql, params };
}

function compileNode(f: MetadataFilter, col: string, params: unknown[]): string {
  if (isCompound(f)) {
    const parts = f.filters.map((c) => compileNode(c, col, params));
    return `(${parts.join(f.type === "and" ? " AND " : " OR ")})`;
  }
  const path = pathLiteral(f.key);
  const type = `coalesce(json_type(${col}, ${path}), 'missing')`;
  const value = `json_extract(${col}, ${path})`;
  switch (f.type) {
    case "in":
    case "nin": {
      const strings = f.value.filter((v) => typeof v === "string");
      const numbers = f.value.filter((v) => typeof v === "number");
      const parts: string[] = [];
      // One bound JSON array per kind keeps long lists within the parameter limit.
      if (strings.length) {
        params.push(JSON.stringify(strings));
        parts.push(`(${type} = 'text' AND ${value} IN (SELECT value FROM json_each(?)))`);
      }
      if (numbers.length) {
        params.push(JSON.stringify(numbers));
        parts.push(`(${type} IN ('integer', 'real') AND ${value} IN (SELECT value FROM json_each(?)))`);
      }
      const any = `(${parts.join(" OR ")})`;
      return f.type === "in" ? any : `(NOT ${any})`;
    }
    default: {
      let expr: string;
      if (typeof f.value === "boolean") {
        // Only eq/ne take booleans; JSON true/false have their own json_type.
        expr = `(${type} = '${f.value ? "true" : "false"}')`;
      } else {
        params.push(f.value);
        const kind = typeof f.value === "string" ? "'text'" : "'integer', 'real'";
        expr = `(${type} IN (${kind}) AND ${value} ${SQL_OPS[f.type]} ?)`;
      }
      return f.type === "ne" ? `(NOT ${expr})` : expr;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// JavaScript

type Kind = "text" | "number" | "boolean" | "other";
function kindOf(v: unknown): Kind {
  if (typeof v === "string") return "text";
  if (typeof v === "number" && Number.isFinite(v)) return "number";
  if (typeof v === "boolean") return "boolean";
  return "other";
}

/** Compares by Unicode code point, as SQLite's BINARY collation does over UTF-8 (JS `<` uses UTF-16 units). */
function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const cx = x.value.codePointAt(0) ?? 0;
    const cy = y.value.codePointAt(0) ?? 0;
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

function equal(actual: unknown, expected: string | number | boolean): boolean {
  return kindOf(actual) === kindOf(expected) && actual === expected;
}

/** `f` applied to one document's metadata, with exactly the semantics of `compileFilter`. */
export function matchFilter(f: MetadataFilter, metadata: Record<string, unknown>): boolean {
  if (isCompound(f))
    return f.type === "and" ? f.filters.every((c) => matchFilter(c, metadata)) : f.filters.some((c) => matchFilter(c, metadata));
  switch (f.type) {
    case "eq":
      return equal(Object.hasOwn(metadata, f.key) ? metadata[f.key] : undefined, f.value);
    case "ne":
      return !equal(Object.hasOwn(metadata, f.key) ? metadata[f.key] : undefined, f.value);
    case "in":
    case "nin": {
      const actual = Object.hasOwn(metadata, f.key) ? metadata[f.key] : undefined;
      const found = f.value.some((v) => equal(actual, v));
      return f.type === "in" ? found : !found;
    }
    default: {
      const actual = Object.hasOwn(metadata, f.key) ? metadata[f.key] : undefined;
      const kind = kindOf(actual);
      if (kind !== kindOf(f.value) || (kind !== "text" && kind !== "number")) return false;
      const cmp =
        kind === "text" ? compareCodePoints(actual as string, f.value as string) : Math.sign((actual as number) - (f.value as number));
      if (f.type === "gt") return cmp > 0;
      if (f.type === "gte") return cmp >= 0;
      if (f.type === "lt") return cmp < 0;
      return cmp <= 0;
    }
  }
}
