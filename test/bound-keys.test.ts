/**
 * Keys bound to part of a collection (issue 20 item 1): a key bound to {"key":"team","type":"eq",
 * "value":"red"} never returns, cites or downloads a blue document on any surface, answers 404 (not
 * 403) for a blue document id, and a request's own filter narrows it, never widens it.
 */
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { connectMcp } from "../examples/mcp-client.mjs";
import { BASE, body, call, createCollection, type Json, master, tempKey, uploadTexts, waitForDocument } from "./helpers";
import { sseEvents } from "./sse";

const RED = { type: "eq", key: "team", value: "red" };

// Both teams write about the same thing, so every unfiltered question finds both.
const DOCS = [
  {
    name: "red-parking.md",
    text: "# Parking\n\nThe parking garage opens at 7am. Red team members park on level two.",
    metadata: { team: "red" },
  },
  {
    name: "red-lunch.md",
    text: "# Lunch\n\nLunch in the garage cafe is served from noon. Red team eats on Tuesdays.",
    metadata: { team: "red", floor: 2 },
  },
  {
    name: "blue-parking.md",
    text: "# Parking\n\nThe parking garage opens at 7am. Blue team members park on level five.",
    metadata: { team: "blue" },
  },
  {
    name: "blue-secret.md",
    text: "# Garage\n\nThe garage door code for the blue team is 4471. Parking on level five is reserved.",
    metadata: { team: "blue" },
  },
];

let col: string;
let ids: Record<string, string>;
let red: string; // key bound to team=red, every scope
let wide: string; // unbound key on the same collection
const blueIds = () => [ids["blue-parking.md"], ids["blue-secret.md"]];
const redIds = () => [ids["red-parking.md"], ids["red-lunch.md"]];

const noBlue = (docIds: string[]) => {
  // An empty list would pass vacuously: every surface must return something red.
  expect(docIds.length).toBeGreaterThan(0);
  for (const id of docIds) expect(blueIds()).not.toContain(id);
};

const k = (key: string) => ({ "X-API-Key": key });
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

beforeAll(async () => {
  col = await createCollection("bound-keys");
  const up = await uploadTexts(col, DOCS);
  ids = {};
  for (const d of up.documents) {
    expect((await waitForDocument(col, d.id)).status).toBe("ready");
    ids[d.name] = d.id;
  }
  red = (await tempKey(col, { filter: RED })).temp_api_key;
  wide = (await tempKey(col)).temp_api_key;
});

describe("issuing bound keys", () => {
  it("POST /get_temp_api_key and POST /v1/keys accept filter and document_ids and echo the binding; the listing shows it", async () => {
    const legacy = await tempKey(col, { filter: RED, scopes: ["read"] });
    expect(legacy.binding).toEqual({ filter: RED });

    const res = await call("/v1/keys", {
      method: "POST",
      headers: master(),
      json: { collection_id: col, scopes: ["read"], filter: RED, document_ids: [ids["red-parking.md"]] },
    });
    expect(res.status).toBe(201);
    const issued = await body(res);
    expect(issued.temp_api_key).toMatch(/^dck_/);
    expect(issued.binding).toEqual({ filter: RED, document_ids: [ids["red-parking.md"]] });

    const unbound = await body(await call("/v1/keys", { method: "POST", headers: master(), json: { collection_id: col } }));
    expect(unbound.binding).toBeNull();

    const listed: Json[] = [];
    let cursor = "";
    for (;;) {
      const page = await body(await call(`/v1/keys?limit=100${cursor ? `&cursor=${cursor}` : ""}`, { headers: master() }));
      listed.push(...page.keys);
      if (!page.next_cursor) break;
      cursor = page.next_cursor;
    }
    expect(listed.find((x) => x.id === issued.key_id)?.binding).toEqual(issued.binding);
    expect(listed.find((x) => x.id === unbound.key_id)?.binding).toBeNull();
  });

  it("refuses a malformed filter, malformed or unknown document ids and too many of them (400)", async () => {
    const post = (json: Json) => call("/v1/keys", { method: "POST", headers: master(), json: { collection_id: col, ...json } });
    for (const bad of [
      { filter: { type: "eq", key: "team" } },
      { filter: { type: "regex", key: "team", value: "r.*" } },
      { document_ids: [] },
      { document_ids: ["not-an-id"] },
      { document_ids: ["doc_doesnotexist1"] },
      { document_ids: Array.from({ length: 101 }, (_, i) => `doc_x${i}`) },
    ]) {
      const res = await post(bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect((await body(res)).error.code).toBe("validation_error");
    }
    // The original's endpoint keeps its own error text.
    const legacy = await call("/get_temp_api_key", {
      method: "POST",
      headers: master(),
      json: { collection_id: col, filter: { type: "zz" } },
    });
    expect(legacy.status).toBe(400);
    // Another collection's document is unknown here.
    const other = await createCollection("bound-keys-other");
    const otherDoc = (await uploadTexts(other, [{ name: "x.md", text: "other collection text" }])).documents[0].id;
    expect((await post({ document_ids: [otherDoc] })).status).toBe(400);
  });
});

describe("a key bound to team=red never sees a blue document", () => {
  it("search: only red hits; a request filter narrows (blue asked for → nothing), never widens", async () => {
    const search = async (json: Json) => {
      const res = await call(`/v1/collections/${col}/search`, { method: "POST", headers: k(red), json });
      expect(res.status).toBe(200);
      return ((await body(res)).results as Json[]).map((r) => r.document_id);
    };
    for (const mode of ["hybrid", "keyword", "vector"]) noBlue(await search({ query: "parking garage level", top_k: 10, mode }));
    // The unbound key does see blue on the same question (so the test above means something).
    const wideRes = await body(
      await call(`/v1/collections/${col}/search`, { method: "POST", headers: k(wide), json: { query: "garage door code", top_k: 10 } }),
    );
    expect(wideRes.results.map((r: Json) => r.document_id)).toContain(ids["blue-secret.md"]);

    expect(
      await search({ query: "garage door code", top_k: 10, filter: { metadata: { type: "eq", key: "team", value: "blue" } } }),
    ).toEqual([]);
    expect(await search({ query: "garage door code", top_k: 10, filter: { document_ids: blueIds() } })).toEqual([]);
    // Narrowing within red works.
    expect(await search({ query: "garage", top_k: 10, filter: { metadata: { type: "eq", key: "floor", value: 2 } } })).toEqual([
      ids["red-lunch.md"],
    ]);
  });

  it("vector-store search: only red results; `filters` for blue → empty", async () => {
    const vs = async (json: Json) => {
      const res = await call(`/v1/vector_stores/default/search`, { method: "POST", headers: bearer(red), json });
      expect(res.status).toBe(200);
      return ((await body(res)).data as Json[]).map((r) => r.file_id);
    };
    noBlue(await vs({ query: "garage door code parking", max_num_results: 20 }));
    expect(await vs({ query: "garage door code", filters: { type: "eq", key: "team", value: "blue" } })).toEqual([]);
  });

  it("/v1/chat with the key, JSON and SSE: sources and citations only red", async () => {
    const res = await call("/v1/chat", {
      method: "POST",
      headers: k(red),
      json: { query: "What is the garage door code?", collection_id: col },
    });
    expect(res.status).toBe(200);
    const a = await body(res);
    noBlue(a.sources.map((s: Json) => s.document_id));
    expect(a.answer).not.toContain("4471");

    const sse = await call("/v1/chat", {
      method: "POST",
      headers: k(red),
      json: { query: "Where do teams park?", collection_id: col, stream: true },
    });
    expect(sse.headers.get("Content-Type")).toContain("text/event-stream");
    const events = sseEvents(await sse.text());
    const sources = JSON.parse(events.find((e) => e.event === "sources")?.data ?? "{}").sources as Json[];
    noBlue(sources.map((s) => s.document_id));
    expect(events.map((e) => e.data).join("")).not.toMatch(/level five|4471/);
  });

  it("sessions started from the key stay bound: /api/start_chat → /api/chat and /v1/chat (JSON and SSE), /start_chat, history", async () => {
    const started = await body(await call("/api/start_chat", { method: "POST", headers: k(red) }));
    const jwt = started.jwt_token as string;
    // The token refers to the binding (its digest); the binding itself stays in the session object.
    const claims = JSON.parse(atob(jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    expect(claims.bnd).toMatch(/^[0-9a-f]{32}$/);

    const legacy = await call("/api/chat", {
      method: "POST",
      headers: { Authorization: jwt },
      json: { query: "What is the garage door code?" },
    });
    expect(legacy.status).toBe(200);
    noBlue((await body(legacy)).sources.map((s: Json) => s.document_id));

    const v1 = await call("/v1/chat", { method: "POST", headers: bearer(jwt), json: { query: "Which level do teams park on?" } });
    noBlue((await body(v1)).sources.map((s: Json) => s.document_id));

    const stream = await call("/v1/chat", { method: "POST", headers: bearer(jwt), json: { query: "parking garage", stream: true } });
    const events = sseEvents(await stream.text());
    noBlue((JSON.parse(events.find((e) => e.event === "sources")?.data ?? "{}").sources as Json[]).map((s) => s.document_id));

    const history = await body(await call(`/v1/sessions/${started.session_id}/messages`, { headers: bearer(jwt) }));
    const cited = (history.messages as Json[]).flatMap((m) => (m.sources ?? []).map((s: Json) => s.document_id));
    noBlue(cited);

    const original = await call("/start_chat", { method: "POST", headers: k(red) });
    expect(original.status).toBe(200);
    const jwt2 = (await body(original)).jwt_token;
    const turn = await call("/api/chat", { method: "POST", headers: { Authorization: jwt2 }, json: { query: "garage door code" } });
    noBlue((await body(turn)).sources.map((s: Json) => s.document_id));
  });

  it("/v1/chat/completions, plain and streaming: sources only red; a context_filter naming blue documents finds nothing", async () => {
    const complete = (json: Json) =>
      call("/v1/chat/completions", { method: "POST", headers: bearer(red), json: { model: "default", ...json } });
    const plain = await body(await complete({ messages: [{ role: "user", content: "What is the garage door code?" }] }));
    noBlue(plain.sources.map((s: Json) => s.document_id));
    expect(plain.choices[0].message.content).not.toContain("4471");

    const streamed = await complete({ messages: [{ role: "user", content: "Where do teams park?" }], stream: true });
    const frames = sseEvents(await streamed.text()).filter((e) => e.data !== "[DONE]");
    noBlue((JSON.parse(frames[0].data).sources as Json[]).map((s) => s.document_id));

    const narrowed = await body(
      await complete({ messages: [{ role: "user", content: "garage door code" }], context_filter: { document_ids: blueIds() } }),
    );
    expect(narrowed.sources).toEqual([]);
  });

  it("MCP: search_documents, ask and list_documents are red only; read_document of a blue id is not_found", async () => {
    const workerFetch = (url: string | URL | Request, init?: RequestInit) => exports.default.fetch(new Request(url, init));
    const client = await connectMcp(BASE, red, workerFetch);
    const search = await client.callTool({ name: "search_documents", arguments: { query: "garage door code parking", top_k: 20 } });
    noBlue(((search.structuredContent as Json).results as Json[]).map((r) => r.document_id));
    const wider = await client.callTool({
      name: "search_documents",
      arguments: { query: "garage door code", filter: { type: "eq", key: "team", value: "blue" } },
    });
    expect((wider.structuredContent as Json).results).toEqual([]);

    const ask = await client.callTool({ name: "ask", arguments: { question: "What is the garage door code?" } });
    noBlue(((ask.structuredContent as Json).sources as Json[]).map((s) => s.document_id));
    expect((ask.structuredContent as Json).answer).not.toContain("4471");

    const list = await client.callTool({ name: "list_documents", arguments: {} });
    expect(((list.structuredContent as Json).documents as Json[]).map((d) => d.id).sort()).toEqual(redIds().sort());

    const read = await client.callTool({ name: "read_document", arguments: { document_id: ids["blue-secret.md"] } });
    expect(read.isError).toBe(true);
    expect(JSON.parse((read.content as Json[])[0].text).error.code).toBe("not_found");
    const readRed = await client.callTool({ name: "read_document", arguments: { document_id: ids["red-parking.md"] } });
    expect(readRed.isError).toBeFalsy();
    await client.close();
  });

  it("document listing (and its counts), GET, download, delete and re-index: blue is 404, as if it did not exist", async () => {
    const list = await body(await call(`/v1/collections/${col}/documents`, { headers: k(red) }));
    expect(list.documents.map((d: Json) => d.id).sort()).toEqual(redIds().sort());
    expect(list.counts).toEqual({ ready: 2 });

    for (const id of blueIds()) {
      for (const [method, path] of [
        ["GET", `/v1/collections/${col}/documents/${id}`],
        ["GET", `/v1/collections/${col}/documents/${id}/content`],
        ["POST", `/v1/collections/${col}/documents/${id}/reindex`],
        ["DELETE", `/v1/collections/${col}/documents/${id}`],
      ]) {
        const res = await call(path, { method, headers: k(red) });
        expect(res.status, `${method} ${path}`).toBe(404);
        const e = await body(res);
        expect(e.error.code).toBe("not_found");
        // Exactly what an id that does not exist gets.
        const missing = await call(path.replace(id, "doc_doesnotexist9"), { method, headers: k(red) });
        expect(await body(missing)).toMatchObject({ error: { code: "not_found", message: e.error.message } });
      }
    }
    // The blue documents are still there for everyone else.
    for (const id of blueIds()) expect((await call(`/v1/collections/${col}/documents/${id}`, { headers: master() })).status).toBe(200);

    const download = await call(`/v1/collections/${col}/documents/${ids["red-parking.md"]}/content`, { headers: k(red) });
    expect(download.status).toBe(200);
    expect(await download.text()).toContain("level two");
  });

  it("uploads: a bound key adds only documents its filter matches; a collection re-index and /make_embedding are refused", async () => {
    const blue = await call(`/v1/collections/${col}/documents`, {
      method: "POST",
      headers: k(red),
      json: { documents: [{ name: "blue-new.md", text: "blue upload attempt", metadata: { team: "blue" } }] },
    });
    expect(blue.status).toBe(403);
    expect((await body(blue)).error.code).toBe("forbidden");
    const plain = new FormData();
    plain.append("file", new File(["no metadata at all"], "plain.txt"));
    expect((await call(`/v1/collections/${col}/documents`, { method: "POST", headers: k(red), body: plain })).status).toBe(403);

    const ok = await call(`/v1/collections/${col}/documents`, {
      method: "POST",
      headers: k(red),
      json: { documents: [{ name: "red-new.md", text: "a red upload about bicycles", metadata: { team: "red" } }] },
    });
    expect(ok.status).toBe(202);
    const doc = (await body(ok)).documents[0];
    expect((await waitForDocument(col, doc.id, k(red))).status).toBe("ready");
    // Cleaned up so the other tests' expectations about the collection hold.
    expect((await call(`/v1/collections/${col}/documents/${doc.id}`, { method: "DELETE", headers: k(red) })).status).toBe(200);

    expect((await call(`/v1/collections/${col}/reindex`, { method: "POST", headers: k(red) })).status).toBe(403);
    const form = new FormData();
    form.append("file", new File(["text"], "a.txt"));
    form.append("collection_id", col);
    expect((await call("/make_embedding", { method: "POST", headers: k(red), body: form })).status).toBe(403);
  });
});

describe("keys bound to document ids", () => {
  it("see only those documents; a request for others gets nothing (an empty intersection is not 'everything')", async () => {
    const only = (await tempKey(col, { document_ids: [ids["red-lunch.md"]] })).temp_api_key;
    const search = async (json: Json) =>
      ((await body(await call(`/v1/collections/${col}/search`, { method: "POST", headers: k(only), json }))).results as Json[]).map(
        (r) => r.document_id,
      );
    expect([...new Set(await search({ query: "garage parking lunch", top_k: 20 }))]).toEqual([ids["red-lunch.md"]]);
    expect(await search({ query: "garage parking", top_k: 20, filter: { document_ids: [ids["red-parking.md"]] } })).toEqual([]);
    const list = await body(await call(`/v1/collections/${col}/documents`, { headers: k(only) }));
    expect(list.documents.map((d: Json) => d.id)).toEqual([ids["red-lunch.md"]]);
    expect((await call(`/v1/collections/${col}/documents/${ids["red-parking.md"]}`, { headers: k(only) })).status).toBe(404);
  });

  it("combined with a filter, both must hold", async () => {
    const both = (await tempKey(col, { filter: RED, document_ids: [ids["red-parking.md"], ids["blue-parking.md"]] })).temp_api_key;
    const res = await body(
      await call(`/v1/collections/${col}/search`, { method: "POST", headers: k(both), json: { query: "parking garage", top_k: 20 } }),
    );
    expect([...new Set(res.results.map((r: Json) => r.document_id))]).toEqual([ids["red-parking.md"]]);
  });
});

describe("the answer cache keeps bound keys apart", () => {
  it("a narrower key is never served the wider key's cached answer (two keys on one collection)", async () => {
    const question = "What is the garage door code for the blue team?";
    const ask = (key: string) => call("/v1/chat", { method: "POST", headers: k(key), json: { query: question, collection_id: col } });

    const first = await ask(wide);
    expect(first.headers.get("X-Cache")).toBe("MISS");
    const wideAnswer = await body(first);
    expect(wideAnswer.sources.map((s: Json) => s.document_id)).toContain(ids["blue-secret.md"]);
    expect((await ask(wide)).headers.get("X-Cache")).toMatch(/^HIT/); // the wide answer is cached

    const narrow = await ask(red);
    expect(narrow.headers.get("X-Cache")).toBe("MISS");
    const narrowAnswer = await body(narrow);
    noBlue(narrowAnswer.sources.map((s: Json) => s.document_id));
    expect(narrowAnswer.answer).not.toContain("4471");
    // The narrow key has its own cache entry, which the wide key's never replaces.
    const again = await ask(red);
    expect(again.headers.get("X-Cache")).toMatch(/^HIT/);
    noBlue((await body(again)).sources.map((s: Json) => s.document_id));

    // The same holds through completions (the same cache).
    const completion = (key: string) =>
      call("/v1/chat/completions", {
        method: "POST",
        headers: bearer(key),
        json: { model: col, messages: [{ role: "user", content: question }] },
      });
    expect((await completion(wide)).status).toBe(200);
    const c2 = await completion(red);
    noBlue((await body(c2)).sources.map((s: Json) => s.document_id));
  });
});

describe("session history of a bound session", () => {
  it("leaves out the turns whose sources the binding no longer covers (the master key still sees them)", async () => {
    const c = await createCollection("bound-history");
    const up = await uploadTexts(c, [
      { name: "red-a.md", text: "The red bicycle shed is behind the library.", metadata: { team: "red" } },
      { name: "red-b.md", text: "Red team coffee is brewed at eight in the kitchen.", metadata: { team: "red" } },
    ]);
    for (const d of up.documents) expect((await waitForDocument(c, d.id)).status).toBe("ready");
    const [shed, coffee] = up.documents.map((d: Json) => d.id);
    const key = (await tempKey(c, { filter: RED })).temp_api_key;
    const s = await body(await call("/api/start_chat", { method: "POST", headers: k(key) }));
    const ask = async (query: string) =>
      body(await call("/api/chat", { method: "POST", headers: { Authorization: s.jwt_token }, json: { query } }));
    const first = await ask("Where is the bicycle shed?");
    expect(first.sources.map((x: Json) => x.document_id)).toContain(shed);
    const second = await ask("When is coffee brewed in the kitchen?");
    expect(second.sources.map((x: Json) => x.document_id)).toContain(coffee);

    const history = async (headers: Record<string, string>) =>
      (await body(await call(`/v1/sessions/${s.session_id}/messages`, { headers }))).messages as Json[];
    expect(await history(bearer(s.jwt_token))).toHaveLength(4);
    // The shed document leaves the binding (deleted): the turn that cited it, and its question, go with it.
    expect((await call(`/v1/collections/${c}/documents/${shed}`, { method: "DELETE", headers: master() })).status).toBe(200);
    const visible = await history(bearer(s.jwt_token));
    const turns: [string, Json][] = [
      ["Where is the bicycle shed?", first],
      ["When is coffee brewed in the kitchen?", second],
    ];
    const expected = turns.flatMap(([q, a]) => (a.sources.some((x: Json) => x.document_id === shed) ? [] : [q, a.answer]));
    expect(visible.map((m) => m.content)).toEqual(expected);
    expect(visible.flatMap((m) => m.sources ?? []).every((x: Json) => x.document_id !== shed)).toBe(true);
    expect(await history(master())).toHaveLength(4);
  });
});

describe("OpenAPI", () => {
  it("describes the binding, POST /v1/keys and the expiry fields", async () => {
    const doc = await body(await call("/openapi.json"));
    const schemas = doc.components.schemas;
    expect(doc.paths["/v1/keys"].post).toBeDefined();
    for (const name of ["TempKeyRequest", "NewKeyRequest"]) expect(JSON.stringify(schemas[name]), name).toMatch(/"document_ids"/);
    expect(Object.keys(schemas.NewKeyRequest.properties)).toEqual(expect.arrayContaining(["filter", "document_ids"]));
    expect(Object.keys(schemas.TempKey.properties)).toContain("binding");
    expect(Object.keys(schemas.KeyListing.properties)).toContain("binding");
    expect(Object.keys(schemas.Document.properties)).toContain("expires_at");
    expect(Object.keys(schemas.Collection.properties)).toContain("expires_after");
    expect(Object.keys(schemas.CreateCollection.properties)).toContain("expires_after");
    expect(Object.keys(schemas.TextDocuments.properties.documents.items.properties)).toEqual(
      expect.arrayContaining(["expires_at", "expires_after_seconds"]),
    );
    expect(schemas.ExpiresAfter.properties.anchor.enum).toEqual(["created_at", "last_active_at"]);
  });
});
