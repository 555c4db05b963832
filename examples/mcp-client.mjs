// The MCP SDK's own client against docchat-edge's /mcp, as in the README ("Use it from your tools").
// The tests run it inside workerd (test/mcp.test.ts); `npm run smoke` runs it against a server.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/cfworker";

export async function connectMcp(origin, apiKey, fetch) {
  const transport = new StreamableHTTPClientTransport(new URL("/mcp", origin), {
    requestInit: { headers: { Authorization: `Bearer ${apiKey}` } },
    fetch,
  });
  // The CfWorker validator also runs where code generation is refused (Workers); Node may use the default.
  const client = new Client({ name: "docchat-example", version: "1.0.0" }, { jsonSchemaValidator: new CfWorkerJsonSchemaValidator() });
  await client.connect(transport);
  return client;
}

export async function askOverMcp(origin, apiKey, question, fetch) {
  const client = await connectMcp(origin, apiKey, fetch);
  try {
    const { tools } = await client.listTools();
    const result = await client.callTool({ name: "ask", arguments: { question } });
    return { tools: tools.map((t) => t.name), answer: result.structuredContent?.answer, sources: result.structuredContent?.sources };
  } finally {
    await client.close();
  }
}
