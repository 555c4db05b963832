import { describe, expect, it } from "vitest";
import { body, call, createCollection, master, tempKey, uploadTexts, waitForDocument } from "./helpers";

async function seeded() {
  const col = await createCollection("filters");
  const up = await uploadTexts(col, [
    { name: "a.md", text: "Lighthouse keepers log the weather every hour.", metadata: { team: "ops", year: 2021, public: true } },
    { name: "b.md", text: "Lighthouse lamps were once fuelled by whale oil.", metadata: { team: "history", year: 1850, public: false } },
    { name: "c.md", text: "A lighthouse stands on the northern cape.", metadata: { team: "ops", year: 2024 } },
  ]);
  const ids: Record<string, string> = {};
  for (const d of up.documents) {
    expect((await waitForDocument(col, d.id)).status).toBe("ready");
    ids[d.name] = d.id;
  }
  return { col, ids };
}

const search = (col: string, json: object, headers: Record<string, string> = master()) =>
  call(`/v1/collections/${col}/search`, { method: "POST", headers, json });
const names = async (res: Response) => ((await body(res)).results as { document_name: string }[]).map((r) => r.document_name).sort();

describe("search filters (HTTP)", () => {
  it("metadata filters in OpenAI's grammar, on every mode", async () => {
    const { col } = await seeded();
    for (const mode of ["keyword", "vector", "hybrid"]) {
      expect(
        await names(await search(col, { query: "lighthouse", mode, filter: { metadata: { type: "eq", key: "team", value: "ops" } } })),
        mode,
      ).toEqual(["a.md", "c.md"]);
    }
    const cases: [object, string[]][] = [
      [{ type: "gte", key: "year", value: 2021 }, ["a.md", "c.md"]],
      [{ type: "lt", key: "year", value: 2000 }, ["b.md"]],
      [{ type: "ne", key: "team", value: "ops" }, ["b.md"]],
      [{ type: "in", key: "team", value: ["history", "nobody"] }, ["b.md"]],
      [{ type: "nin", key: "team", value: ["history"] }, ["a.md", "c.md"]],
      [{ type: "eq", key: "public", value: true }, ["a.md"]],
      [
        {
          type: "or",
          filters: [
            { type: "eq", key: "year", value: 1850 },
            {
              type: "and",
              filters: [
                { type: "eq", key: "team", value: "ops" },
                { type: "gt", key: "year", value: 2022 },
              ],
            },
          ],
        },
        ["b.md", "c.md"],
      ],
    ];
    for (const [metadata, expected] of cases) {
      expect(
        await names(await search(col, { query: "lighthouse", mode: "keyword", filter: { metadata } })),
        JSON.stringify(metadata),
      ).toEqual(expected);
    }
  });

  it("document_ids and metadata combine; a bad filter is a 400", async () => {
    const { col, ids } = await seeded();
    const res = await search(col, {
      query: "lighthouse",
      filter: { document_ids: [ids["a.md"], ids["b.md"]], metadata: { type: "eq", key: "team", value: "ops" } },
    });
    expect(await names(res)).toEqual(["a.md"]);
    const bad = await search(col, { query: "lighthouse", filter: { metadata: { type: "like", key: "team", value: "o%" } } });
    expect(bad.status).toBe(400);
    expect((await body(bad)).error.code).toBe("validation_error");
  });

  it("a key never sees another collection's documents, even when it names their ids", async () => {
    const mine = await seeded();
    const other = await seeded();
    const key = (await tempKey(mine.col)).temp_api_key;
    const res = await search(mine.col, { query: "lighthouse", filter: { document_ids: Object.values(other.ids) } }, { "X-API-Key": key });
    expect((await body(res)).results).toEqual([]);
    expect((await search(other.col, { query: "lighthouse" }, { "X-API-Key": key })).status).toBe(404);
  });
});
