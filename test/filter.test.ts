import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { compileFilter, FILTER_LIMITS, type MetadataFilter, matchFilter } from "../src/retrieval/filter";
import { MetadataFilterSchema } from "../src/retrieval/filter-schema";

// Metadata of every kind SQLite's JSON functions tell apart: text, integer, real, true/false, null,
// object, array, a missing key, and strings whose code-point order differs from UTF-16 order.
const DOCS: Record<string, unknown>[] = [
  { lang: "en", year: 2020, score: 0.5, public: true, tags: ["a", "b"] },
  { lang: "fr", year: 2021, score: 1, public: false },
  { lang: "en", year: "2022", public: 1 },
  { lang: "de", year: 2019.5, nested: { lang: "en" }, public: null },
  { year: 2023, "it's": "quoted", "a.b": "dotted" },
  { lang: "EN", title: "\uffff" },
  { lang: "", title: "\u{1F600}" },
  {},
];

const CASES: MetadataFilter[] = [
  { type: "eq", key: "lang", value: "en" },
  { type: "ne", key: "lang", value: "en" },
  { type: "eq", key: "year", value: 2020 },
  { type: "eq", key: "year", value: "2022" },
  { type: "eq", key: "score", value: 1 },
  { type: "eq", key: "public", value: true },
  { type: "eq", key: "public", value: false },
  { type: "ne", key: "public", value: true },
  { type: "eq", key: "public", value: 1 },
  { type: "gt", key: "year", value: 2020 },
  { type: "gte", key: "year", value: 2020 },
  { type: "lt", key: "year", value: 2021 },
  { type: "lte", key: "year", value: 2019.5 },
  { type: "gt", key: "lang", value: "de" },
  { type: "lt", key: "lang", value: "en" },
  { type: "gte", key: "year", value: "2000" },
  { type: "gt", key: "title", value: "\uffff" },
  { type: "lt", key: "title", value: "\u{1F600}" },
  { type: "in", key: "lang", value: ["en", "de"] },
  { type: "in", key: "year", value: [2019.5, 2023, "2022"] },
  { type: "nin", key: "lang", value: ["en", "fr"] },
  { type: "nin", key: "year", value: [2020, 2021] },
  { type: "eq", key: "tags", value: "a" },
  { type: "eq", key: "nested", value: "en" },
  { type: "eq", key: "it's", value: "quoted" },
  { type: "eq", key: "a.b", value: "dotted" },
  { type: "eq", key: "missing", value: "x" },
  { type: "ne", key: "missing", value: "x" },
  {
    type: "and",
    filters: [
      { type: "eq", key: "lang", value: "en" },
      { type: "gte", key: "year", value: 2020 },
    ],
  },
  {
    type: "or",
    filters: [
      { type: "eq", key: "lang", value: "fr" },
      { type: "eq", key: "public", value: true },
    ],
  },
  {
    type: "and",
    filters: [
      {
        type: "or",
        filters: [
          { type: "eq", key: "lang", value: "en" },
          { type: "nin", key: "year", value: [2021] },
        ],
      },
      { type: "ne", key: "public", value: false },
    ],
  },
];

beforeAll(async () => {
  await env.DB.batch([
    env.DB.prepare("DROP TABLE IF EXISTS filter_cases"),
    env.DB.prepare("CREATE TABLE filter_cases (id INTEGER PRIMARY KEY, metadata TEXT NOT NULL)"),
    ...DOCS.map((d, i) => env.DB.prepare("INSERT INTO filter_cases (id, metadata) VALUES (?, ?)").bind(i, JSON.stringify(d))),
  ]);
});

async function sqlMatches(f: MetadataFilter): Promise<number[]> {
  const { sql, params } = compileFilter(f, "metadata");
  const rows = await env.DB.prepare(`SELECT id FROM filter_cases WHERE ${sql} ORDER BY id`)
    .bind(...params)
    .all<{ id: number }>();
  return rows.results.map((r) => r.id);
}

describe("metadata filters", () => {
  it.each(CASES.map((f) => [JSON.stringify(f), f] as const))("SQL and JavaScript agree: %s", async (_name, f) => {
    expect(MetadataFilterSchema.safeParse(f).success).toBe(true);
    const js = DOCS.map((d, i) => (matchFilter(f, d) ? i : -1)).filter((i) => i >= 0);
    expect(await sqlMatches(f)).toEqual(js);
  });

  it("has the documented semantics", () => {
    const ids = (f: MetadataFilter) => DOCS.map((d, i) => (matchFilter(f, d) ? i : -1)).filter((i) => i >= 0);
    expect(ids({ type: "eq", key: "lang", value: "en" })).toEqual([0, 2]); // "EN" differs, "nested.lang" is not top-level
    expect(ids({ type: "eq", key: "public", value: true })).toEqual([0]); // 1 is a number, not true
    expect(ids({ type: "ne", key: "lang", value: "en" })).toEqual([1, 3, 4, 5, 6, 7]); // missing key matches ne
    expect(ids({ type: "gt", key: "year", value: 2020 })).toEqual([1, 4]); // the string "2022" is not a number
    expect(ids({ type: "gt", key: "title", value: "\uffff" })).toEqual([6]); // code-point order: U+1F600 > U+FFFF
  });

  it("keeps a large filter within D1's 100 bound parameters", async () => {
    const big: MetadataFilter = {
      type: "or",
      filters: Array.from({ length: FILTER_LIMITS.maxComparisons }, (_, i) => ({
        type: "in" as const,
        key: "year",
        value: [...Array.from({ length: 50 }, (_, j) => 1900 + i * 50 + j), ...Array.from({ length: 50 }, (_, j) => `s${i}-${j}`)],
      })),
    };
    expect(MetadataFilterSchema.safeParse(big).success).toBe(true);
    const { params } = compileFilter(big, "metadata");
    expect(params.length).toBeLessThanOrEqual(100);
    // Integer years only: 2019.5 and the string "2022" are not in the lists.
    expect(await sqlMatches(big)).toEqual([0, 1, 4]);
    expect(DOCS.map((d, i) => (matchFilter(big, d) ? i : -1)).filter((i) => i >= 0)).toEqual([0, 1, 4]);
  });

  it("rejects malformed, too deep or too large filters", () => {
    const bad: unknown[] = [
      { type: "eq", key: "lang" },
      { type: "like", key: "lang", value: "en" },
      { type: "gt", key: "public", value: true },
      { type: "in", key: "lang", value: "en" },
      { type: "in", key: "lang", value: [] },
      { type: "in", key: "lang", value: [{ a: 1 }] },
      { type: "eq", key: 'la"ng', value: "en" },
      { type: "eq", key: "", value: "en" },
      { type: "eq", key: "lang", value: "en", extra: 1 },
      { type: "and", filters: [] },
      { type: "eq", key: "n", value: Number.NaN },
      {
        type: "and",
        filters: [
          {
            type: "or",
            filters: [
              { type: "and", filters: [{ type: "or", filters: [{ type: "and", filters: [{ type: "eq", key: "a", value: 1 }] }] }] },
            ],
          },
        ],
      },
      { type: "or", filters: Array.from({ length: 33 }, () => ({ type: "eq", key: "a", value: 1 })) },
      {
        type: "and",
        filters: Array.from({ length: 20 }, () => ({
          type: "or",
          filters: [
            { type: "eq", key: "a", value: 1 },
            { type: "eq", key: "b", value: 2 },
          ],
        })),
      },
    ];
    for (const f of bad) expect(MetadataFilterSchema.safeParse(f).success, JSON.stringify(f)).toBe(false);
  });

  it("refuses an unsafe column name", () => {
    expect(() => compileFilter({ type: "eq", key: "a", value: 1 }, "metadata; DROP TABLE x")).toThrow();
  });
});
