import { describe, expect, it } from "vitest";
import { LocalHashEmbedder } from "../../src/retrieval/local/embedder";
import { porterStem } from "../../src/text";

const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);
const norm = (a: Float32Array) => Math.sqrt(cosine(a, a));

describe("LocalHashEmbedder", () => {
  const embedder = new LocalHashEmbedder();

  it("describes itself", () => {
    expect(embedder.id).toBe("local-hash-v1");
    expect(embedder.dimensions).toBe(384);
    expect(embedder.maxBatch).toBe(1000);
  });

  it("is deterministic and L2-normalised, one Float32Array per text in order", async () => {
    const texts = ["Vitamin D deficiency and bone density", "Tumour suppressor genes", "日本語のテキスト"];
    const a = await embedder.embed(texts, "document");
    const b = await new LocalHashEmbedder().embed(texts, "query");
    expect(a).toHaveLength(3);
    a.forEach((v, i) => {
      expect(v).toBeInstanceOf(Float32Array);
      expect(v).toHaveLength(384);
      expect(norm(v)).toBeCloseTo(1, 5);
      expect(Array.from(v)).toEqual(Array.from(b[i]));
    });
  });

  it("returns a zero vector for text without content words", async () => {
    const [v] = await embedder.embed(["the of and"], "query");
    expect(norm(v)).toBe(0);
  });

  it("puts related texts closer than unrelated ones", async () => {
    const [q, near, far] = await embedder.embed(
      [
        "Does vitamin D supplementation reduce fracture risk?",
        "Vitamin D supplements and the risk of fractures in older adults: a randomised trial.",
        "Graphene transistors switch at terahertz frequencies in cryogenic conditions.",
      ],
      "document",
    );
    expect(cosine(q, near)).toBeGreaterThan(cosine(q, far) + 0.2);
  });

  it("matches inflections (stemming, character n-grams) and CJK without spaces", async () => {
    const [a, b, c] = await embedder.embed(["mutations mutated", "mutation", "photosynthesis"], "document");
    expect(cosine(a, b)).toBeGreaterThan(cosine(a, c) + 0.3);
    const [z1, z2, z3] = await embedder.embed(["自然语言处理的研究", "研究自然语言", "股票市场价格"], "document");
    expect(cosine(z1, z2)).toBeGreaterThan(cosine(z1, z3) + 0.3);
  });

  it("rejects batches over maxBatch", async () => {
    await expect(embedder.embed(new Array(1001).fill("x"), "document")).rejects.toThrow(RangeError);
  });
});

describe("porterStem", () => {
  it("follows the reference examples", () => {
    const cases: Record<string, string> = {
      caresses: "caress",
      ponies: "poni",
      agreed: "agre",
      plastered: "plaster",
      motoring: "motor",
      hopping: "hop",
      filing: "file",
      happy: "happi",
      relational: "relat",
      generalizations: "gener",
      adjustment: "adjust",
      adoption: "adopt",
      controll: "control",
      proteins: "protein",
    };
    for (const [word, stem] of Object.entries(cases)) expect(porterStem(word)).toBe(stem);
  });
});
