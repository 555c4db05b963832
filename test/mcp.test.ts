import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { askOverMcp, connectMcp } from "../examples/mcp-client.mjs";
import { BASE, body, call, createCollection, type Json, master, tempKey, uploadTexts, waitForDocument } from "./helpers";

const DOCS = [
  { name: "hours.md", text: "# Opening hours\n\nThe Lisbon office opens at 9am and closes at 6pm on weekdays.", metadata: { lang: "en" } },
  {
    name: "expenses.md",
    text: "# Expenses\n\nTravel expenses are reimbursed within 30 days. Receipts must be uploaded to the finance portal.",
    metadata: { lang: "en", team: "finance" },
  },
];

const workerFetch = (url: string | URL | Request, init?: RequestInit) => exports.default.fetch(new Request(url, init));

async function seeded(scopes?: string[]) {
  const col = await createCollection("mcp");
  const up = await uploadTexts(col, DOCS);
  const ids: Record<string, string> = {};
  for (const d of up.documents) {
    expect((await waitForDocument(col, d.id)).status).toBe("ready");
    ids[d.name] = d.id;
  }
  const key = (await tempKey(col, scopes ? { scopes } : {})).temp_api_key;
  return { col, ids, key };
}

describe("MCP server at /mcp (the SDK's own client over HTTP)", () => {
  it("initialize, tools/list with schemas, and a call of every tool", async () => {
    const { col, ids, key } = await seeded();
    const client = await connectMcp(BASE, key, workerFetch);
    expect(client.getServerVersion()).toMatchObject({ name: "docchat-edge" });

    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["ask", "list_documents", "read_document", "search_documents"]);
    for (const t of tools) {
      expect(t.inputSchema.type, t.name).toBe("object");
      expect(t.outputSchema?.type, t.name).toBe("object");
    }

    const search = await client.callTool({ name: "search_documents", arguments: { query: "travel expenses reimbursed", top_k: 2 } });
    expect(search.isError).toBeFalsy();
    const results = (search.structuredContent as Json).results;
    expect(results[0]).toMatchObject({ n: 1, document_id: ids["expenses.md"], document_name: "expenses.md" });
    expect(JSON.stringify(search.content)).toContain("30 days");

    const filtered = await client.callTool({
      name: "search_documents",
      arguments: { query: "travel expenses reimbursed", filter: { type: "ne", key: "team", value: "finance" } },
    });
    const kept = (filtered.structuredContent as Json).results as Json[];
    expect(kept.length).toBeGreaterThan(0); // an empty list would pass the next line vacuously
    expect(kept.every((r: Json) => r.document_id === ids["hours.md"])).toBe(true);

    const ask = await client.callTool({ name: "ask", arguments: { question: "How long until travel expenses are reimbursed?" } });
    expect(ask.isError).toBeFalsy();
    const answer = ask.structuredContent as Json;
    expect(answer.answer).toMatch(/30 days/);
    expect(answer.citations.length).toBeGreaterThan(0);
    expect(answer.sources[0].document_id).toBe(ids["expenses.md"]);

    const list = await client.callTool({ name: "list_documents", arguments: {} });
    const docs = (list.structuredContent as Json).documents;
    expect(docs.map((d: Json) => d.name).sort()).toEqual(["expenses.md", "hours.md"]);
    expect(docs.find((d: Json) => d.name === "expenses.md").metadata).toEqual({ lang: "en", team: "finance" });
    expect((list.structuredContent as Json).next_cursor).toBeNull();

    const read = await client.callTool({
      name: "read_document",
      arguments: { document_id: ids["expenses.md"], from_chunk: 0, max_chunks: 5 },
    });
    const doc = read.structuredContent as Json;
    expect(doc).toMatchObject({ document_id: ids["expenses.md"], name: "expenses.md", next_chunk: null });
    expect(doc.chunks[0].chunk).toBe(0);
    expect(doc.chunks.map((c: Json) => c.text).join(" ")).toContain("reimbursed within 30 days");
    expect(doc.chunks).toHaveLength(doc.chunk_count);

    // Another collection's document is not found, never read.
    const other = await createCollection("mcp-other");
    const otherDoc = (await uploadTexts(other, [{ name: "secret.md", text: "Zanzibar quokka secret." }])).documents[0].id;
    const denied = await client.callTool({ name: "read_document", arguments: { document_id: otherDoc } });
    expect(denied.isError).toBe(true);
    expect(JSON.stringify(denied.content)).toContain("not_found");
    expect(JSON.stringify(denied.content)).not.toContain("quokka");
    const otherCol = await client.callTool({ name: "list_documents", arguments: { collection_id: other } });
    expect(otherCol.isError).toBe(true);
    await client.close();

    // The README example does the same in a few lines.
    const out = await askOverMcp(BASE, key, "When does the Lisbon office open?", workerFetch);
    expect(out.tools).toContain("ask");
    expect(out.answer).toMatch(/9am/);
    expect(out.sources[0].document_id).toBe(ids["hours.md"]);
    expect(col).toMatch(/^col_/);
  });

  it("enforces the key's scopes per tool", async () => {
    const { key } = await seeded(["read"]);
    const client = await connectMcp(BASE, key, workerFetch);
    const ask = await client.callTool({ name: "ask", arguments: { question: "When does the office open?" } });
    expect(ask.isError).toBe(true);
    expect(JSON.stringify(ask.content)).toContain("forbidden");
    const search = await client.callTool({ name: "search_documents", arguments: { query: "office" } });
    expect(search.isError).toBeFalsy();
    await client.close();

    const { key: chatOnly } = await seeded(["chat"]);
    const c2 = await connectMcp(BASE, chatOnly, workerFetch);
    expect((await c2.callTool({ name: "list_documents", arguments: {} })).isError).toBe(true);
    expect((await c2.callTool({ name: "ask", arguments: { question: "When does the office open?" } })).isError).toBeFalsy();
    await c2.close();
  });

  it("refuses a missing or wrong key with 401 and WWW-Authenticate, before any tool runs", async () => {
    await expect(connectMcp(BASE, "dck_wrong", workerFetch)).rejects.toThrow();
    const init = {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "0" } },
    };
    for (const headers of [{}, { Authorization: "Bearer dck_wrong" }] as Record<string, string>[]) {
      const res = await call("/mcp", {
        method: "POST",
        headers: { ...headers, Accept: "application/json, text/event-stream" },
        json: init,
      });
      expect(res.status).toBe(401);
      expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
      expect((await body(res)).error.code).toMatch(/unauthorized|invalid_api_key/);
    }
    // Invalid tool arguments are a tool error, not a crash.
    const { key } = await seeded();
    const client = await connectMcp(BASE, key, workerFetch);
    const bad = await client.callTool({ name: "search_documents", arguments: { query: "" } }).catch((e: Error) => e);
    const refused = bad instanceof Error ? bad.message : (bad as Json).isError === true ? JSON.stringify((bad as Json).content) : "";
    expect(refused).toMatch(/query/i);
    await client.close();
    // Stateless: no standalone SSE stream and no session to delete.
    for (const method of ["GET", "DELETE"]) {
      const res = await call("/mcp", { method, headers: { Authorization: `Bearer ${key}`, Accept: "text/event-stream" } });
      expect(res.status, method).toBe(405);
    }
    // The master key may use any collection, naming it.
    const { col } = await seeded();
    const m = await call("/mcp", {
      method: "POST",
      headers: { ...master(), Accept: "application/json, text/event-stream" },
      json: { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "list_documents", arguments: { collection_id: col } } },
    });
    expect(m.status).toBe(200);
    expect((await body(m)).result.structuredContent.documents).toHaveLength(2);
  });
});
