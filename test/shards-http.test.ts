/**
 * A sharded collection end to end (offline providers, the real queue consumer): created with
 * `shards`, its documents land in the shard their id hashes to, search answers as a 1-shard
 * collection of the same documents does, and a document's removal and the collection's deletion
 * reach every shard.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { shardOf, shardStub } from "../src/retrieval/shard-routing";
import { body, call, master, uniqueToken, uploadTexts, waitForDocument } from "./helpers";

const SHARDS = 4;
const WORDS = ["harbour", "lantern", "granite", "meadow", "orchard", "beacon", "glacier", "canyon", "willow", "ember", "quarry", "tundra"];

/** Fixed texts: each document mixes a few words (some repeated), so keyword scores differ. */
function documents(token: string) {
  return Array.from({ length: 24 }, (_, i) => ({
    name: `doc-${i}.md`,
    text: `${Array.from({ length: 6 + (i % 5) }, (_, j) => WORDS[(i * 5 + j * j) % WORDS.length]).join(" ")}. ${i === 7 ? token : ""}`,
    metadata: { n: i },
  }));
}

async function created(shards?: number): Promise<{ id: string; json: Record<string, unknown> }> {
  const res = await call("/v1/collections", {
    method: "POST",
    headers: master(),
    json: { name: "sharded", ...(shards ? { shards } : {}) },
  });
  expect(res.status).toBe(201);
  const json = await body(res);
  return { id: json.id, json };
}

const search = async (col: string, query: string, mode: string) => {
  const res = await call(`/v1/collections/${col}/search`, { method: "POST", headers: master(), json: { query, mode, top_k: 50 } });
  expect(res.status).toBe(200);
  // Every match (top_k above the collection's size), equal scores in name order: ties aside.
  return ((await body(res)).results as { document_name: string; score: number }[])
    .map((r) => [r.document_name, Number(r.score.toFixed(9))] as const)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
};

describe("a sharded collection over HTTP", () => {
  it("shards is a creation option within 1..32, shown only when above 1", async () => {
    for (const bad of [0, 33, 1.5]) {
      const res = await call("/v1/collections", { method: "POST", headers: master(), json: { name: "x", shards: bad } });
      expect(res.status, String(bad)).toBe(400);
    }
    const one = await created();
    expect(one.json).not.toHaveProperty("shards");
    const four = await created(SHARDS);
    expect(four.json.shards).toBe(SHARDS);
    expect((await body(await call(`/v1/collections/${four.id}`, { headers: master() }))).shards).toBe(SHARDS);
  });

  it("writes land in the document's shard, search equals the 1-shard collection's, removal and deletion reach every shard", async () => {
    const token = uniqueToken();
    const docs = documents(token);
    const one = await created();
    const four = await created(SHARDS);
    const upOne = await uploadTexts(one.id, docs);
    const upFour = await uploadTexts(four.id, docs);
    for (const d of upOne.documents) expect((await waitForDocument(one.id, d.id)).status).toBe("ready");
    for (const d of upFour.documents) expect((await waitForDocument(four.id, d.id)).status).toBe("ready");

    // Each shard holds exactly the documents whose id hashes to it; together, all of them.
    const ids: string[] = upFour.documents.map((d: { id: string }) => d.id);
    const stats = await Promise.all(Array.from({ length: SHARDS }, (_, s) => shardStub(env, four.id, s).stats()));
    for (let s = 0; s < SHARDS; s++) expect(stats[s].documents, `shard ${s}`).toBe(ids.filter((id) => shardOf(id, SHARDS) === s).length);
    expect(stats.filter((s) => s.documents > 0).length).toBeGreaterThan(1);
    const got = await body(await call(`/v1/collections/${four.id}`, { headers: master() }));
    const want = await body(await call(`/v1/collections/${one.id}`, { headers: master() }));
    expect(got.index.chunks).toBe(want.index.chunks);

    // The same ranking, scores included (to 1e-9), for keyword, hybrid and vector search.
    for (const query of ["harbour lantern", "granite meadow orchard", "beacon", "glacier canyon willow ember", "quarry tundra harbour"])
      for (const mode of ["keyword", "hybrid", "vector"])
        expect(await search(four.id, query, mode), `${mode} ${query}`).toEqual(await search(one.id, query, mode));

    // Chat retrieves through the same fan-out (with the answerer's statements stored at ingest).
    const chat = await call("/v1/chat", {
      method: "POST",
      headers: master(),
      json: { query: `What is ${token}?`, collection_id: four.id },
    });
    expect(chat.status).toBe(200);
    expect(JSON.stringify(await body(chat))).toContain("doc-7.md");

    // Removing a document reaches its shard (and only it).
    const doomed = upFour.documents.find((d: { name: string }) => d.name === "doc-7.md") as { id: string };
    expect((await search(four.id, token, "keyword"))[0]?.[0]).toBe("doc-7.md");
    const s7 = shardOf(doomed.id, SHARDS);
    expect((await call(`/v1/collections/${four.id}/documents/${doomed.id}`, { method: "DELETE", headers: master() })).status).toBe(200);
    expect((await shardStub(env, four.id, s7).stats()).documents).toBe(stats[s7].documents - 1);
    expect(await search(four.id, token, "keyword")).toEqual([]);

    // Deleting the collection seals every shard at once, then drops each.
    expect((await call(`/v1/collections/${four.id}`, { method: "DELETE", headers: master() })).status).toBe(202);
    const deadline = Date.now() + 30_000;
    while (await env.DB.prepare("SELECT 1 FROM collections WHERE id = ?").bind(four.id).first()) {
      if (Date.now() > deadline) throw new Error("collection deletion did not finish");
      await new Promise((r) => setTimeout(r, 100));
    }
    for (let s = 0; s < SHARDS; s++)
      expect(await shardStub(env, four.id, s).stats(), `shard ${s}`).toMatchObject({ documents: 0, chunks: 0, vectors: 0 });
  }, 120_000);

  it("a collection being deleted reads as gone on every shard: each one is sealed", async () => {
    const four = await created(SHARDS);
    const up = await uploadTexts(four.id, documents(uniqueToken()).slice(0, 8));
    for (const d of up.documents) await waitForDocument(four.id, d.id);
    // Seal through the route, then look at each shard directly before the queue drops them.
    expect((await call(`/v1/collections/${four.id}`, { method: "DELETE", headers: master() })).status).toBe(202);
    for (let s = 0; s < SHARDS; s++) {
      const r = await shardStub(env, four.id, s).termStats("harbour");
      // Either sealed (deletion under way) or already dropped and empty.
      expect(r.sealed === true || r.stats.text.rows === 0, `shard ${s}`).toBe(true);
    }
  });
});
