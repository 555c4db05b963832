/**
 * Per-collection embedding model and chunking strategy (issue 20 item 3): static chunking within
 * its bounds by the chunker's own token estimate, per-upload strategies, bge-m3 collections in the
 * 1024-dimension index (Workers AI and Vectorize doubles), and a model fixed at creation.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { countTokens } from "../src/retrieval/chunker/tokens";
import {
  body,
  call,
  cloudflareProviders,
  indexStub,
  type Json,
  master,
  tempKey,
  uploadFiles,
  uploadTexts,
  waitForDocument,
} from "./helpers";

/** A long document of varied paragraphs (several thousand tokens), so chunks fill up to the maximum. */
function longText(seed: string): string {
  const topics = ["budget", "travel", "security", "hiring", "offices", "training", "equipment", "holidays"];
  const paras: string[] = [`# Handbook ${seed}`];
  for (let p = 0; p < 40; p++) {
    const t = topics[p % topics.length];
    const sentences = Array.from(
      { length: 6 },
      (_, s) => `Rule ${p}.${s} about ${t} says that every team member reviews the ${t} policy with their manager before quarter ${s + 1}.`,
    );
    paras.push(sentences.join(" "));
  }
  return paras.join("\n\n");
}

interface ChunkRow {
  ordinal: number;
  text: string;
  char_start: number;
  char_end: number;
  token_count: number;
}

async function chunksOf(col: string, documentId: string): Promise<ChunkRow[]> {
  return runInDurableObject(indexStub(col), async (_obj, state) =>
    state.storage.sql
      .exec<{ ordinal: number; text: string; char_start: number; char_end: number; token_count: number }>(
        "SELECT ordinal, text, char_start, char_end, token_count FROM chunks WHERE document_id = ? ORDER BY ordinal",
        documentId,
      )
      .toArray()
      .map((r) => ({ ...r })),
  );
}

/** Every chunk within `max` tokens, every overlap with the previous chunk within `overlap`, by the chunker's estimate. */
function expectWithin(source: string, chunks: ChunkRow[], max: number, overlap: number): { overlaps: number[]; sizes: number[] } {
  const sizes = chunks.map((c) => countTokens(c.text));
  const overlaps: number[] = [];
  for (let i = 0; i < chunks.length; i++) {
    expect(chunks[i].text).toBe(source.slice(chunks[i].char_start, chunks[i].char_end));
    expect(sizes[i]).toBe(chunks[i].token_count);
    expect(sizes[i]).toBeLessThanOrEqual(max);
    if (i > 0 && chunks[i].char_start < chunks[i - 1].char_end) {
      overlaps.push(countTokens(source.slice(chunks[i].char_start, chunks[i - 1].char_end)));
    } else if (i > 0) overlaps.push(0);
  }
  for (const o of overlaps) expect(o).toBeLessThanOrEqual(overlap);
  return { overlaps, sizes };
}

async function create(json: Json, override?: Partial<Env>): Promise<Response> {
  return call("/v1/collections", { method: "POST", headers: master(), json }, override);
}

describe("chunking_strategy", () => {
  it("a collection with static 200/50 produces chunks of at most 200 tokens overlapping by at most 50", async () => {
    const res = await create({
      name: "static-200-50",
      chunking_strategy: { type: "static", static: { max_chunk_size_tokens: 200, chunk_overlap_tokens: 50 } },
    });
    expect(res.status).toBe(201);
    const col = await body(res);
    expect(col).toMatchObject({
      chunking_strategy: { type: "static", static: { max_chunk_size_tokens: 200, chunk_overlap_tokens: 50 } },
      chunk_tokens: 200,
      chunk_overlap: 50,
      embedding_model: "@cf/baai/bge-base-en-v1.5",
    });
    const text = longText("static");
    const up = await uploadTexts(col.id, [{ name: "long.md", text }]);
    const doc = await waitForDocument(col.id, up.documents[0].id);
    expect(doc.status).toBe("ready");
    expect(doc.chunking_strategy).toBeNull(); // the collection's applies
    const chunks = await chunksOf(col.id, doc.id);
    expect(chunks.length).toBe(doc.chunk_count);
    expect(countTokens(text)).toBeGreaterThan(10 * 200);
    const { overlaps, sizes } = expectWithin(text, chunks, 200, 50);
    // The bounds are used, not undershot: chunks fill most of 200 tokens and carry an overlap.
    expect(sizes.filter((s) => s > 150).length).toBeGreaterThan(chunks.length / 2);
    expect(overlaps.filter((o) => o > 0).length).toBeGreaterThan(chunks.length / 2);
    // The `auto` default (400 tokens) would have made about half as many chunks.
    const auto = await body(await create({ name: "auto" }));
    expect(auto.chunking_strategy).toEqual({ type: "auto" });
    const up2 = await uploadTexts(auto.id, [{ name: "long.md", text }]);
    const autoDoc = await waitForDocument(auto.id, up2.documents[0].id);
    expect(autoDoc.chunk_count).toBeLessThan(doc.chunk_count);
    expectWithin(text, await chunksOf(auto.id, autoDoc.id), 400, 60);
  });

  it("an upload's own strategy (JSON body or multipart field) overrides the collection's, and is shown on the document", async () => {
    const col = (await body(await create({ name: "per-upload" }))).id;
    const strategy = { type: "static", static: { max_chunk_size_tokens: 120, chunk_overlap_tokens: 0 } };
    const text = longText("json");
    const up = await uploadTexts(col, [{ name: "a.md", text }], master());
    const plain = await waitForDocument(col, up.documents[0].id);

    const res = await call(`/v1/collections/${col}/documents`, {
      method: "POST",
      headers: master(),
      json: { documents: [{ name: "b.md", text: `${text}\n\nSecond copy.` }], chunking_strategy: strategy },
    });
    expect(res.status).toBe(202);
    const own = await waitForDocument(col, (await body(res)).documents[0].id);
    expect(own.chunking_strategy).toEqual(strategy);
    expect(own.chunk_count).toBeGreaterThan(plain.chunk_count);
    const ownChunks = await chunksOf(col, own.id);
    const { overlaps } = expectWithin(`${text}\n\nSecond copy.`, ownChunks, 120, 0);
    expect(overlaps.every((o) => o === 0)).toBe(true);

    const form = await uploadFiles(col, [{ name: "c.md", bytes: `${text}\n\nThird copy.`, type: "text/markdown" }], master());
    expect(form.status).toBe(202);
    // A multipart body carries the strategy as a JSON text field.
    const fd = new FormData();
    fd.append("file", new File([`${text}\n\nFourth copy.`], "d.md", { type: "text/markdown" }));
    fd.append("chunking_strategy", JSON.stringify({ type: "static", static: { max_chunk_size_tokens: 100, chunk_overlap_tokens: 50 } }));
    const multi = await call(`/v1/collections/${col}/documents`, { method: "POST", headers: master(), body: fd });
    expect(multi.status).toBe(202);
    const d = await waitForDocument(col, (await body(multi)).documents[0].id);
    expect(d.chunking_strategy).toEqual({ type: "static", static: { max_chunk_size_tokens: 100, chunk_overlap_tokens: 50 } });
    expectWithin(`${text}\n\nFourth copy.`, await chunksOf(col, d.id), 100, 50);
  });

  it("refuses strategies outside OpenAI's limits with 400 validation_error, storing nothing", async () => {
    const bad = [
      { type: "static", static: { max_chunk_size_tokens: 99, chunk_overlap_tokens: 0 } },
      { type: "static", static: { max_chunk_size_tokens: 4097, chunk_overlap_tokens: 0 } },
      { type: "static", static: { max_chunk_size_tokens: 200, chunk_overlap_tokens: 101 } },
      { type: "static", static: { max_chunk_size_tokens: 200.5, chunk_overlap_tokens: 10 } },
      { type: "static" },
      { type: "semantic" },
    ];
    for (const chunking_strategy of bad) {
      const res = await create({ name: "bad", chunking_strategy });
      expect(res.status, JSON.stringify(chunking_strategy)).toBe(400);
      expect((await body(res)).error.code).toBe("validation_error");
    }
    const both = await create({
      name: "both",
      chunk_tokens: 300,
      chunking_strategy: { type: "static", static: { max_chunk_size_tokens: 200, chunk_overlap_tokens: 50 } },
    });
    expect(both.status).toBe(400);
    // The edges are accepted.
    for (const [max, overlap] of [
      [100, 50],
      [4096, 2048],
    ]) {
      const ok = await create({
        name: "edge",
        chunking_strategy: { type: "static", static: { max_chunk_size_tokens: max, chunk_overlap_tokens: overlap } },
      });
      expect(ok.status).toBe(201);
    }

    const col = (await body(await create({ name: "bad-upload" }))).id;
    const res = await call(`/v1/collections/${col}/documents`, {
      method: "POST",
      headers: master(),
      json: {
        documents: [{ name: "x.md", text: "hello" }],
        chunking_strategy: { type: "static", static: { max_chunk_size_tokens: 50, chunk_overlap_tokens: 0 } },
      },
    });
    expect(res.status).toBe(400);
    const fd = new FormData();
    fd.append("file", new File(["hello"], "y.txt", { type: "text/plain" }));
    fd.append("chunking_strategy", "{not json");
    const multi = await call(`/v1/collections/${col}/documents`, { method: "POST", headers: master(), body: fd });
    expect(multi.status).toBe(400);
    expect((await body(multi)).error.code).toBe("validation_error");
    const list = await body(await call(`/v1/collections/${col}/documents`, { headers: master() }));
    expect(list.documents).toHaveLength(0);
  });
});

describe("embedding_model", () => {
  it("a bge-m3 collection's vectors have 1,024 dimensions, in the bge-m3 index only (Workers AI and Vectorize doubles)", async () => {
    const cf = cloudflareProviders();
    const res = await create({ name: "m3", embedding_model: "@cf/baai/bge-m3" }, cf.env);
    expect(res.status).toBe(201);
    const col = await body(res);
    expect(col).toMatchObject({ embedding_model: "@cf/baai/bge-m3", embedder: "@cf/baai/bge-m3", dimensions: 1024 });
    const up = await call(
      `/v1/collections/${col.id}/documents`,
      {
        method: "POST",
        headers: master(),
        json: { documents: [{ name: "de.md", text: "# Öffnungszeiten\n\nDas Büro in Lissabon öffnet um 9 Uhr und schließt um 18 Uhr." }] },
      },
      cf.env,
    );
    expect(up.status).toBe(202);
    const docId = (await body(up)).documents[0].id;
    await cf.ingest();
    const doc = await body(await call(`/v1/collections/${col.id}/documents/${docId}`, { headers: master() }, cf.env));
    expect(doc.status).toBe("ready");
    const ids = Array.from({ length: doc.chunk_count }, (_, i) => `${docId}:${i}`);
    const inM3 = await env.TEST_VECTORIZE_M3.getByIds(ids);
    expect(inM3).toHaveLength(doc.chunk_count);
    for (const v of inM3) {
      expect(v.values).toHaveLength(1024);
      expect(v.namespace).toBe(col.id);
    }
    expect(await env.TEST_VECTORIZE.getByIds(ids)).toHaveLength(0);
    const calls = (env.TEST_AI as unknown as { recorded(m: string): Promise<{ model: string; inputs: Json }[]> }).recorded("Lissabon");
    const models = new Set((await calls).map((c) => c.model));
    expect(models).toEqual(new Set(["@cf/baai/bge-m3"]));

    // Search embeds the query with bge-m3 and asks the bge-m3 index.
    const search = await call(
      `/v1/collections/${col.id}/search`,
      { method: "POST", headers: master(), json: { query: "Wann öffnet das Büro?", mode: "vector", top_k: 1 } },
      cf.env,
    );
    expect(search.status).toBe(200);
    expect((await body(search)).results[0].document_id).toBe(docId);

    // Deleting the document removes its vectors from the bge-m3 index.
    const del = await call(`/v1/collections/${col.id}/documents/${docId}`, { method: "DELETE", headers: master() }, cf.env);
    expect(del.status).toBe(200);
    expect(await env.TEST_VECTORIZE_M3.getByIds(ids)).toHaveLength(0);
  });

  it("the Vectorize doubles refuse vectors of the other dimension, as real indexes do", async () => {
    // Awaited inside try (an RPC promise handed to expect().rejects is reported as unhandled as well).
    const failure = async (p: () => Promise<unknown>) => {
      try {
        await p();
        return "accepted";
      } catch (err) {
        return String(err);
      }
    };
    expect(await failure(() => env.TEST_VECTORIZE_M3.upsert([{ id: "dim-check:0", values: new Array(768).fill(0.1) }]))).toMatch(
      /expects 1024/,
    );
    expect(await failure(() => env.TEST_VECTORIZE.upsert([{ id: "dim-check:1", values: new Array(1024).fill(0.1) }]))).toMatch(
      /expects 768/,
    );
  });

  it("on Cloudflare without the bge-m3 index bound, creating a bge-m3 collection is 400 unsupported_model", async () => {
    const res = await create(
      { name: "m3-missing", embedding_model: "@cf/baai/bge-m3" },
      { AI: env.TEST_AI, VECTORIZE: env.TEST_VECTORIZE, VECTORIZE_M3: undefined },
    );
    expect(res.status).toBe(400);
    const err = (await body(res)).error;
    expect(err.code).toBe("unsupported_model");
    expect(err.message).toMatch(/VECTORIZE_M3/);
    const unknown = await create({ name: "x", embedding_model: "@cf/baai/bge-large-en-v1.5" });
    expect(unknown.status).toBe(400);
  });

  it("offline, the requested model is recorded and the local embedder serves it", async () => {
    const col = await body(await create({ name: "m3-offline", embedding_model: "@cf/baai/bge-m3" }));
    expect(col.embedding_model).toBe("@cf/baai/bge-m3");
    expect(col.embedder).toMatch(/^local-/);
    const up = await uploadTexts(col.id, [{ name: "pt.md", text: "O escritório abre às 9 horas." }]);
    expect((await waitForDocument(col.id, up.documents[0].id)).status).toBe("ready");
  });

  it("is fixed at creation: a PATCH to another model is 409 and says to re-index into a new collection; chunking may change", async () => {
    const col = (await body(await create({ name: "fixed" }))).id;
    const res = await call(`/v1/collections/${col}`, { method: "PATCH", headers: master(), json: { embedding_model: "@cf/baai/bge-m3" } });
    expect(res.status).toBe(409);
    const err = (await body(res)).error;
    expect(err.code).toBe("conflict");
    expect(err.message).toMatch(/new collection/);
    expect(err.message).toMatch(/re-index/);
    const same = await call(`/v1/collections/${col}`, {
      method: "PATCH",
      headers: master(),
      json: { embedding_model: "@cf/baai/bge-base-en-v1.5" },
    });
    expect(same.status).toBe(200);
    const dims = await call(`/v1/collections/${col}`, { method: "PATCH", headers: master(), json: { dimensions: 1024 } });
    expect(dims.status).toBe(400);

    // Chunking may change (later uploads and re-indexes), by the master key or an `admin` key.
    const admin = (await tempKey(col, { scopes: ["admin"] })).temp_api_key;
    const writer = (await tempKey(col, { scopes: ["read", "write"] })).temp_api_key;
    const strategy = { type: "static", static: { max_chunk_size_tokens: 300, chunk_overlap_tokens: 30 } };
    const denied = await call(`/v1/collections/${col}`, {
      method: "PATCH",
      headers: { "X-API-Key": writer },
      json: { chunking_strategy: strategy },
    });
    expect(denied.status).toBe(403);
    const ok = await call(`/v1/collections/${col}`, {
      method: "PATCH",
      headers: { "X-API-Key": admin },
      json: { chunking_strategy: strategy },
    });
    expect(ok.status).toBe(200);
    expect(await body(ok)).toMatchObject({ chunking_strategy: strategy, chunk_tokens: 300, chunk_overlap: 30 });
    const other = (await body(await create({ name: "other" }))).id;
    const foreign = await call(`/v1/collections/${other}`, { method: "PATCH", headers: { "X-API-Key": admin }, json: { name: "mine" } });
    expect(foreign.status).toBe(404);
  });

  it("a key issued without scopes does not get `admin`", async () => {
    const col = (await body(await create({ name: "scopes" }))).id;
    const key = await tempKey(col);
    expect(key.scopes ?? ["read", "write", "chat"]).not.toContain("admin");
  });
});
