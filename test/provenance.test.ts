/**
 * The original's flow keeps provenance: a `/make_embedding` response handed back unchanged to
 * `/get_temp_api_key` binds the key to the collection that already holds the documents (nothing is
 * ingested again), and chat sources show the uploaded files' own names. Texts from elsewhere are
 * still ingested, under the names they came with.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { body, call, type Json, master } from "./helpers";

const collections = async () => (await env.DB.prepare("SELECT COUNT(*) AS n FROM collections").first<{ n: number }>())?.n ?? 0;
const documentsIn = async (collectionId: string) =>
  (await env.DB.prepare("SELECT COUNT(*) AS n FROM documents WHERE collection_id = ?").bind(collectionId).first<{ n: number }>())?.n ?? 0;

async function makeEmbedding(files: { name: string; text: string }[]): Promise<Json> {
  const form = new FormData();
  for (const f of files) form.append("file", new File([f.text], f.name, { type: "text/plain" }));
  const res = await call("/make_embedding", { method: "POST", headers: master(), body: form });
  expect(res.status).toBe(200);
  return body(res);
}

async function tempKeyFor(payload: Json): Promise<Json> {
  const res = await call("/get_temp_api_key", { method: "POST", headers: master(), json: payload });
  expect(res.status, JSON.stringify(await res.clone().json())).toBe(200);
  return body(res);
}

async function ask(key: Json, query: string): Promise<Json> {
  const res = await call("/v1/chat", { method: "POST", headers: { "X-API-Key": key.temp_api_key }, json: { query } });
  expect(res.status).toBe(200);
  return body(res);
}

describe("the original's flow keeps provenance", () => {
  it("a /make_embedding response handed to /get_temp_api_key binds the key to its collection, without ingesting again", async () => {
    const made = await makeEmbedding([
      { name: "unstructured__norwich-city.txt", text: "Iwan Roberts\nPlace of birth Bangor, Wales\nPosition(s) Forward\n" },
      { name: "crazyones.txt", text: "The Crazy Ones\nOctober 14, 1998\nHeres to the crazy ones. The misfits. The rebels.\n" },
    ]);
    expect(made.collection_id).toMatch(/^col_/);
    expect(made.document.map((d: Json) => d.name)).toEqual(["unstructured__norwich-city.txt", "crazyones.txt"]);
    for (const d of made.document) {
      expect(d.id).toMatch(/^doc_/);
      expect(d.collection_id).toBe(made.collection_id);
    }
    const before = await collections();
    const docsBefore = await documentsIn(made.collection_id);

    // The original client sends back exactly what it got, plus its model name.
    const key = await tempKeyFor({ model: "sentence-transformers/all-MiniLM-L6-v2", embeddings: made.embeddings, document: made.document });
    expect(key.collection_id).toBe(made.collection_id);
    expect(await collections()).toBe(before);
    expect(await documentsIn(made.collection_id)).toBe(docsBefore);

    const answer = await ask(key, "Where was Iwan Roberts born?");
    expect(answer.sources[0].document_name).toBe("unstructured__norwich-city.txt");
    expect(answer.answer).toContain("Bangor");
    expect(answer.citations).toContain(1);
  });

  it("texts from elsewhere are ingested into a new collection under the names they came with", async () => {
    const before = await collections();
    const key = await tempKeyFor({
      model: "m",
      embeddings: [],
      document: [
        { id: "handbook-7", name: "employee-handbook.md", text: "Employees accrue 25 days of paid leave per year." },
        { id: "faq-2", text: "The office opens at 8am on weekdays." },
      ],
    });
    expect(await collections()).toBe(before + 1);
    const names = await env.DB.prepare("SELECT name FROM documents WHERE collection_id = ? ORDER BY name")
      .bind(key.collection_id)
      .all<{ name: string }>();
    expect(names.results.map((r) => r.name)).toEqual(["employee-handbook.md", "faq-2.txt"]);
    const answer = await ask(key, "How many days of paid leave do employees accrue?");
    expect(answer.sources[0].document_name).toBe("employee-handbook.md");
  });

  it("ids that only look like this deployment's, or span collections, are ingested as new texts", async () => {
    const a = await makeEmbedding([{ name: "a.txt", text: "Alpha document about river barges." }]);
    const b = await makeEmbedding([{ name: "b.txt", text: "Beta document about canal locks." }]);
    expect(a.collection_id).not.toBe(b.collection_id);

    const mixed = await tempKeyFor({ model: "m", embeddings: [], document: [...a.document, ...b.document] });
    expect([a.collection_id, b.collection_id]).not.toContain(mixed.collection_id);
    const names = await env.DB.prepare("SELECT name FROM documents WHERE collection_id = ? ORDER BY name")
      .bind(mixed.collection_id)
      .all<{ name: string }>();
    expect(names.results.map((r) => r.name)).toEqual(["a.txt", "b.txt"]);

    const unknown = await tempKeyFor({ model: "m", embeddings: [], document: [{ id: "doc_doesNotExist12", text: "Gamma text." }] });
    expect([a.collection_id, b.collection_id]).not.toContain(unknown.collection_id);
    expect(await documentsIn(unknown.collection_id)).toBe(1);
  });
});
