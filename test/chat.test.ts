import { describe, expect, it } from "vitest";
import { NO_ANSWER } from "../src/chat/answer/types";
import { sseEvents } from "./sse";
import {
  BASE,
  body,
  call,
  cloudflareProviders,
  createCollection,
  type Json,
  master,
  startChat,
  tempKey,
  uploadTexts,
  waitForDocument,
} from "./helpers";

const DOCS = [
  {
    name: "hours.md",
    text: "# Opening hours\n\nThe Lisbon office opens at 9am and closes at 6pm on weekdays. It is closed on Sundays and public holidays.",
  },
  {
    name: "expenses.md",
    text: "# Expenses\n\nTravel expenses are reimbursed within 30 days. Receipts must be uploaded to the finance portal before the claim is approved.",
  },
  {
    name: "pets.md",
    text: "# Pets\n\nDogs are allowed in the office on Fridays if they are vaccinated. Cats must stay at home.",
  },
];

async function seeded(docs = DOCS): Promise<{ col: string; ids: Record<string, string> }> {
  const col = await createCollection("chat");
  const up = await uploadTexts(col, docs);
  const ids: Record<string, string> = {};
  for (const d of up.documents) {
    expect((await waitForDocument(col, d.id)).status).toBe("ready");
    ids[d.name] = d.id;
  }
  return { col, ids };
}

function parseSse(text: string): { event: string; data: Json }[] {
  return sseEvents(text).map((e) => ({ event: e.event ?? "message", data: JSON.parse(e.data) }));
}

describe("search", () => {
  it("hybrid, vector and keyword modes find the right chunk with scoring details", async () => {
    const { col, ids } = await seeded();
    for (const mode of ["hybrid", "vector", "keyword"]) {
      const res = await call(`/v1/collections/${col}/search`, {
        method: "POST",
        headers: master(),
        json: { query: "When are expenses reimbursed?", top_k: 3, mode },
      });
      expect(res.status).toBe(200);
      const out = await body(res);
      expect(out.results[0].document_id, mode).toBe(ids["expenses.md"]);
      expect(out.results[0].document_name).toBe("expenses.md");
      expect(out.results[0].scores).toHaveProperty("fused");
      if (mode !== "vector") expect(out.results[0].scores.keyword).toBeLessThan(0); // bm25: smaller is better
      if (mode !== "keyword") expect(out.results[0].scores.vector).toBeGreaterThan(0);
    }
  });

  it("a key for collection A never retrieves anything of collection B, on either path", async () => {
    const a = await seeded([{ name: "a.txt", text: "Collection A talks about apples and orchards in spring." }]);
    const b = await seeded([{ name: "b.txt", text: "Zanzibar quokka xylophone: a secret only collection B holds." }]);
    const keyA = await tempKey(a.col);
    const headers = { "X-API-Key": keyA.temp_api_key };
    for (const mode of ["vector", "keyword", "hybrid"]) {
      const res = await call(`/v1/collections/${a.col}/search`, {
        method: "POST",
        headers,
        json: { query: "Zanzibar quokka xylophone secret", top_k: 50, mode },
      });
      expect(res.status).toBe(200);
      const out = await body(res);
      expect(
        out.results.every((r: Json) => r.document_id !== b.ids["b.txt"]),
        mode,
      ).toBe(true);
      expect(JSON.stringify(out.results)).not.toContain("quokka");
    }
    // Asking for B's collection with A's key is a 404, not a leak.
    const res = await call(`/v1/collections/${b.col}/search`, { method: "POST", headers, json: { query: "quokka" } });
    expect(res.status).toBe(404);
    const chat = await call("/v1/chat", {
      method: "POST",
      headers,
      json: { query: "What is the secret of Zanzibar quokka?", collection_id: b.col },
    });
    expect(chat.status).toBe(404);
  });

  it("validates its input", async () => {
    const { col } = await seeded(DOCS.slice(0, 1));
    const res = await call(`/v1/collections/${col}/search`, { method: "POST", headers: master(), json: { query: "", top_k: 500 } });
    expect(res.status).toBe(400);
    expect((await body(res)).error.code).toBe("validation_error");
  });
});

describe("chat", () => {
  it("answers from and cites the right document through the original's flow", async () => {
    const { col, ids } = await seeded();
    const key = await tempKey(col);
    const session = await startChat(key.temp_api_key);
    const res = await call("/api/chat", {
      method: "POST",
      headers: { Authorization: session.jwt_token },
      json: { query: "Are dogs allowed in the office?", url: session.url },
    });
    expect(res.status).toBe(200);
    const out = await body(res);
    expect(out.answer).toMatch(/Dogs are allowed in the office on Fridays/);
    const cited = [...out.answer.matchAll(/\[(\d+)\]/g)].map((m: RegExpMatchArray) => Number(m[1]));
    expect(cited.length).toBeGreaterThan(0);
    const source = out.sources.find((s: Json) => s.n === cited[0]);
    expect(source.document_id).toBe(ids["pets.md"]);
    expect(source.document_name).toBe("pets.md");

    // The turn is in the session's history, readable with the session's token.
    const hist = await call(`/v1/sessions/${session.session_id}/messages`, { headers: { Authorization: `Bearer ${session.jwt_token}` } });
    const messages = (await body(hist)).messages;
    expect(messages.map((m: Json) => m.role)).toEqual(["user", "assistant"]);
  });

  it("v1 chat with a session keeps history and answers follow-ups", async () => {
    const { col, ids } = await seeded();
    const session = await startChat((await tempKey(col)).temp_api_key);
    const auth = { Authorization: `Bearer ${session.jwt_token}` };
    const first = await body(
      await call("/v1/chat", { method: "POST", headers: auth, json: { query: "When does the Lisbon office open?" } }),
    );
    expect(first.answer).toMatch(/9am/);
    expect(first.session_id).toBe(session.session_id);
    const follow = await body(await call("/v1/chat", { method: "POST", headers: auth, json: { query: "And on Sundays?" } }));
    expect(follow.sources[0].document_id).toBe(ids["hours.md"]);
    const hist = await body(await call(`/v1/sessions/${session.session_id}/messages`, { headers: auth }));
    expect(hist.messages).toHaveLength(4);
    // Another session's token cannot read this history.
    const other = await startChat((await tempKey(col)).temp_api_key);
    const denied = await call(`/v1/sessions/${session.session_id}/messages`, { headers: { Authorization: `Bearer ${other.jwt_token}` } });
    expect(denied.status).toBe(404);
  });

  it("streams server-sent events: sources first, then deltas, then done", async () => {
    const { col, ids } = await seeded();
    const res = await call("/v1/chat", {
      method: "POST",
      headers: master(),
      json: { query: "How long until travel expenses are reimbursed?", collection_id: col, stream: true },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("text/event-stream");
    const events = parseSse(await res.text());
    expect(events[0].event).toBe("sources");
    expect(events[0].data.sources[0].document_id).toBe(ids["expenses.md"]);
    const deltas = events.filter((e) => e.event === "delta");
    expect(deltas.length).toBeGreaterThan(0);
    const done = events[events.length - 1];
    expect(done.event).toBe("done");
    expect(deltas.map((d) => d.data.text).join("")).toBe(done.data.answer);
    expect(done.data.answer).toMatch(/30 days/);
    expect(done.data.citations.length).toBeGreaterThan(0);
  });

  it("caches first-turn answers: MISS, then HIT-ISOLATE, then MISS after an upload", async () => {
    const { col } = await seeded();
    const ask = () =>
      call("/v1/chat", { method: "POST", headers: master(), json: { query: "Are cats allowed in the office?", collection_id: col } });
    const first = await ask();
    expect(first.headers.get("X-Cache")).toBe("MISS");
    const firstBody = await body(first);
    const second = await ask();
    expect(second.headers.get("X-Cache")).toBe("HIT-ISOLATE");
    expect(await body(second)).toEqual(firstBody);
    const up = await uploadTexts(col, [{ name: "cats.md", text: "Update: cats are now welcome on Mondays." }]);
    await waitForDocument(col, up.documents[0].id);
    const third = await ask();
    expect(third.headers.get("X-Cache")).toBe("MISS");
  });

  it("an empty collection answers that it has no information, without error", async () => {
    const col = await createCollection("empty");
    const res = await call("/v1/chat", {
      method: "POST",
      headers: master(),
      json: { query: "What is the refund policy?", collection_id: col },
    });
    expect(res.status).toBe(200);
    const out = await body(res);
    expect(out.answer).toBe(NO_ANSWER);
    expect(out.sources).toEqual([]);
    expect(out.citations).toEqual([]);
  });

  it("an irrelevant question is not answered by guessing", async () => {
    const { col } = await seeded();
    const out = await body(
      await call("/v1/chat", {
        method: "POST",
        headers: master(),
        json: { query: "What is the boiling point of mercury?", collection_id: col },
      }),
    );
    expect(out.answer).toBe(NO_ANSWER);
  });
});

describe("Cloudflare providers (doubles of Workers AI and Vectorize)", () => {
  // Any message these requests queue is recorded, never handed to the pool consumer (local providers).
  const cf = () => cloudflareProviders().env;

  it("health reports the Cloudflare providers when bound", async () => {
    const out = await body(await call("/healthz", { headers: master() }, cf()));
    expect(out.providers.embedder).toMatchObject({ mode: "cloudflare", dimensions: 768 });
    expect(out.providers.vector_index.id).toBe("vectorize");
    expect(out.providers.answerer.id).toBe("workers-ai");
  });

  it("provider failure answers 502 upstream_error, never 200 with an error text", async () => {
    const created = await call("/v1/collections", { method: "POST", headers: master(), json: { name: "cf" } }, cf());
    const collection = await body(created);
    const col = collection.id;
    expect(collection.embedder).toContain("bge-base");
    const res = await call(
      "/v1/chat",
      { method: "POST", headers: master(), json: { query: "__fail__ what now?", collection_id: col } },
      cf(),
    );
    expect(res.status).toBe(502);
    const err = (await body(res)).error;
    expect(err.code).toBe("upstream_error");
    expect(err.message).not.toMatch(/double|3010/);
  });

  it("indexes with Workers AI + Vectorize and reranks with bge-reranker-base when asked", async () => {
    const providers = cloudflareProviders();
    const created = await body(
      await call("/v1/collections", { method: "POST", headers: master(), json: { name: "cf-rerank" } }, providers.env),
    );
    const up = await call(
      `/v1/collections/${created.id}/documents`,
      { method: "POST", headers: master(), json: { documents: DOCS } },
      providers.env,
    );
    expect(up.status).toBe(202);
    // Indexed by the worker's real queue() handler with the same providers; every message acked.
    expect((await providers.ingest()).acked).toHaveLength(DOCS.length);
    for (const d of (await body(up)).documents) expect((await waitForDocument(created.id, d.id)).status).toBe("ready");
    const res = await call(
      `/v1/collections/${created.id}/search`,
      { method: "POST", headers: master(), json: { query: "Are dogs allowed?", top_k: 3, rerank: true } },
      providers.env,
    );
    expect(res.status).toBe(200);
    const out = await body(res);
    expect(out.results[0].document_name).toBe("pets.md");
    expect(out.results.every((r: Json) => typeof r.scores.rerank === "number")).toBe(true);
  });

  it("a collection built with the local embedder refuses the Cloudflare one (no mixed vectors)", async () => {
    const col = await createCollection("local");
    const res = await call(
      `/v1/collections/${col}/search`,
      { method: "POST", headers: master(), json: { query: "x", mode: "vector" } },
      cf(),
    );
    expect(res.status).toBe(409);
    expect((await body(res)).error.code).toBe("embedder_mismatch");
  });
});

describe("chat URL", () => {
  it("start_chat returns this deployment's own chat URL", async () => {
    const col = await createCollection();
    const session = await startChat((await tempKey(col)).temp_api_key);
    expect(session.url).toBe(`${BASE}/api/chat`);
  });
});
