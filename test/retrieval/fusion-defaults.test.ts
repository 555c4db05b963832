/**
 * The hybrid default rule (src/retrieval/fusion-defaults.ts): the local embedder gets weight 0, so
 * hybrid search keeps the keyword ranking and only appends what the vector side alone found; a
 * learned embedder keeps an equal weight.
 */
import { describe, expect, it } from "vitest";
import { compareFused, fusionDefaults } from "../../src/retrieval/fusion-defaults";
import { body, call, createCollection, type Json, master, uploadTexts, waitForDocument } from "../helpers";

describe("fusion defaults", () => {
  it("weighs the local hash embedder 0 and a learned embedder as much as the keywords", () => {
    expect(fusionDefaults("local-hash-v1").vectorWeight).toBe(0);
    expect(fusionDefaults("@cf/baai/bge-base-en-v1.5").vectorWeight).toBe(0.5);
  });

  it("orders by score, keyword hits before vector-only ones on equal scores", () => {
    const items = [
      { id: "v", score: 0, keyword: false },
      { id: "k", score: 0, keyword: true },
      { id: "top", score: 0.9, keyword: false },
    ];
    expect(items.sort(compareFused).map((i) => i.id)).toEqual(["top", "k", "v"]);
  });

  it("hybrid search with the local embedder ranks the keyword hits exactly as keyword search, then vector-only hits", async () => {
    const col = await createCollection("fusion");
    const texts = [
      "Vitamin D deficiency is linked to lower bone mineral density in older adults.",
      "Bone density scans measure mineral content; vitamin supplements are common.",
      "Calcium and vitamin D together reduce fracture risk in some trials.",
      "Osteoporosis weakens bones and raises the risk of fractures.",
      "Sunlight exposure lets the skin produce cholecalciferol.",
    ];
    const up = await uploadTexts(
      col,
      texts.map((text, i) => ({ name: `t${i}.txt`, text })),
    );
    for (const d of up.documents) await waitForDocument(col, d.id);
    const search = async (mode: string): Promise<Json[]> => {
      const res = await call(`/v1/collections/${col}/search`, {
        method: "POST",
        headers: master(),
        json: { query: "vitamin D bone density", mode, top_k: 10 },
      });
      expect(res.status).toBe(200);
      return (await body(res)).results;
    };
    const keyword = await search("keyword");
    const hybrid = await search("hybrid");
    expect(keyword.length).toBeGreaterThan(1);
    expect(hybrid.slice(0, keyword.length).map((h) => h.document_id)).toEqual(keyword.map((h) => h.document_id));
    // What only the vector side found comes after every keyword hit.
    for (const h of hybrid.slice(keyword.length)) expect(h.scores.keyword).toBeNull();
    expect(hybrid.length).toBeGreaterThan(keyword.length);
  });
});
