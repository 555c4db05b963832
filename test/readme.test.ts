import { exports } from "cloudflare:workers";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/cfworker";
import { describe, expect, it } from "vitest";
import langchainSource from "../examples/langchain.mjs?raw";
import mcpSource from "../examples/mcp-client.mjs?raw";
import openaiSource from "../examples/openai-sdk.mjs?raw";
import readme from "../README.md?raw";
import { BASE, body, call, createCollection, type Json, tempKey, uploadTexts, waitForDocument } from "./helpers";

const section = (() => {
  const start = readme.indexOf("## Use it from your tools");
  const end = readme.indexOf("\n## ", start + 10);
  return readme.slice(start, end);
})();

function blocks(lang: string): string[] {
  return [...section.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]);
}

const workerFetch = (url: string | URL | Request, init?: RequestInit) => exports.default.fetch(new Request(url, init));

async function seededKey(): Promise<string> {
  const col = await createCollection("readme");
  const up = await uploadTexts(col, [
    { name: "expenses.md", text: "# Expenses\n\nTravel expenses are reimbursed within 30 days.", metadata: { lang: "en" } },
    { name: "frais.md", text: "# Frais\n\nTravel expenses: les frais sont remboursés sous 45 jours.", metadata: { lang: "fr" } },
  ]);
  for (const d of up.documents) await waitForDocument(col, d.id);
  return (await tempKey(col)).temp_api_key;
}

describe("README: Use it from your tools", () => {
  it("every JavaScript snippet is code from an example file the tests run", () => {
    const js = blocks("js");
    expect(js.length).toBeGreaterThanOrEqual(4);
    const sources = [openaiSource, langchainSource, mcpSource];
    for (const snippet of js) {
      for (const line of snippet.split("\n").filter((l) => l.trim())) {
        expect(
          sources.some((s) => s.includes(line)),
          `README line not in examples/: ${line}`,
        ).toBe(true);
      }
      // Whole functions, not just lines: the block from its first line on is contiguous in a file.
      const body = snippet.slice(snippet.indexOf("export async function"));
      if (body.startsWith("export"))
        expect(
          sources.some((s) => s.includes(body.trimEnd())),
          body.slice(0, 80),
        ).toBe(true);
    }
  });

  it("the curl snippet's request works as written", async () => {
    const [curl] = blocks("sh");
    const url = /curl -s (\S+)/.exec(curl)?.[1] ?? "";
    const payload = /-d '(.*)'/.exec(curl)?.[1] ?? "";
    expect(url).toBe(`${BASE}/v1/chat/completions`);
    const key = await seededKey();
    const res = await call("/v1/chat/completions", {
      method: "POST",
      headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
      body: payload,
    });
    expect(res.status).toBe(200);
    const out = await body(res);
    expect(out.choices[0].message.content).toMatch(/30 days/);
    expect(out.sources.length).toBeGreaterThan(0);
    expect(out.sources.every((s: Json) => s.document_name === "expenses.md")).toBe(true);
  });

  it("the MCP client configuration connects as written", async () => {
    const config = JSON.parse(blocks("json")[0]);
    const server = config.mcpServers.docchat;
    expect(server.type).toBe("http");
    const key = await seededKey();
    const headers = { Authorization: server.headers.Authorization.replace("dck_...", key) };
    const transport = new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers }, fetch: workerFetch });
    const client = new Client({ name: "readme", version: "1.0.0" }, { jsonSchemaValidator: new CfWorkerJsonSchemaValidator() });
    await client.connect(transport);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain("read_document");
    await client.close();
  });
});
