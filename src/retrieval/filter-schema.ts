import { z } from "@hono/zod-openapi";
import { FILTER_LIMITS, isCompound, type MetadataFilter } from "./filter";

// The filter grammar's zod schema, apart from src/retrieval/filter.ts (the semantics, SQL and
// JavaScript matching) because the collection index compiles filters but never validates one:
// the Durable Objects evaluated at start-up then build none of these ~70 schemas (only the
// routes, MCP and key bindings do, on first use).

// A key becomes a JSON path label inside double quotes: quotes, backslashes and control characters
// cannot be expressed there, so they are refused rather than escaped.
const Key = z
  .string()
  .min(1)
  .max(FILTER_LIMITS.maxKeyLength)
  .regex(/^[^"\\\u0000-\u001f]+$/, { message: 'A key may not contain ", \\ or control characters' });
const Str = z.string().max(FILTER_LIMITS.maxStringLength);
const Num = z.number().finite();

const Comparison = z
  .union([
    z.object({ type: z.enum(["eq", "ne"]), key: Key, value: z.union([Str, Num, z.boolean()]) }).strict(),
    z.object({ type: z.enum(["gt", "gte", "lt", "lte"]), key: Key, value: z.union([Str, Num]) }).strict(),
    z
      .object({
        type: z.enum(["in", "nin"]),
        key: Key,
        value: z
          .array(z.union([Str, Num]))
          .min(1)
          .max(FILTER_LIMITS.maxListItems),
      })
      .strict(),
  ])
  .openapi("MetadataComparison");

/**
 * The grammar unrolled to FILTER_LIMITS.maxDepth levels, the last holding comparisons only: zod
 * never descends deeper than the limit, so a filter nested 10,000 levels is refused at level 6 (its
 * `filters` key is unknown there) instead of being parsed recursively before any depth check.
 */
function level(depth: number): z.ZodType<MetadataFilter> {
  if (depth >= FILTER_LIMITS.maxDepth) return Comparison;
  return z.union([
    Comparison,
    z
      .object({
        type: z.enum(["and", "or"]),
        filters: z
          .array(level(depth + 1))
          .min(1)
          .max(FILTER_LIMITS.maxComparisons),
      })
      .strict(),
  ]) as z.ZodType<MetadataFilter>;
}
const Node = level(1);

function measure(f: MetadataFilter, depth = 1): { depth: number; comparisons: number } {
  if (!isCompound(f)) return { depth, comparisons: 1 };
  let d = depth;
  let n = 0;
  for (const child of f.filters) {
    const m = measure(child, depth + 1);
    d = Math.max(d, m.depth);
    n += m.comparisons;
  }
  return { depth: d, comparisons: n };
}

/** zod schema of a filter, with depth and size caps. Invalid → 400 validation_error through the app's hook. */
export const MetadataFilterSchema = Node.superRefine((f, ctx) => {
  const m = measure(f);
  if (m.depth > FILTER_LIMITS.maxDepth)
    ctx.addIssue({ code: "custom", message: `A filter may nest at most ${FILTER_LIMITS.maxDepth} levels` });
  if (m.comparisons > FILTER_LIMITS.maxComparisons) {
    ctx.addIssue({ code: "custom", message: `A filter may hold at most ${FILTER_LIMITS.maxComparisons} comparisons` });
  }
}).openapi("MetadataFilter", {
  description:
    "OpenAI metadata filter: `{type: eq|ne|gt|gte|lt|lte, key, value}`, `{type: in|nin, key, value: [...]}` or " +
    "`{type: and|or, filters: [...]}` (at most 5 levels and 32 comparisons). Values match only values of the same kind; " +
    "`ne`/`nin` also match documents without the key.",
  example: {
    type: "and",
    filters: [
      { type: "eq", key: "lang", value: "en" },
      { type: "gte", key: "year", value: 2020 },
    ],
  },
});
