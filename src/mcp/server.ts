import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/cfworker";
import { z } from "zod";
import { toApiError } from "../http/errors";
import { assertCollectionAccess, requireScope } from "../auth/authenticate";
import type { Cost } from "../auth/access";
import type { Principal, Scope } from "../auth/principal";
import { type ChatAnswer, type ChatTurn, numberedSources } from "../chat/service";
import { ClaimSchema, HeadinglessSourceSchema, sourceWithoutHeading } from "../chat/source";
import { ApiError } from "../http/errors";
import { MetadataFilterSchema } from "../retrieval/filter-schema";
import { search } from "../retrieval/search";
import { effectiveScope } from "../retrieval/scope";
import { type Collection, requireCollection } from "../storage/collections";
import { readChunks, listDocuments } from "./documents";

/** What the tools need from the request: the bindings, the caller, and the answerer with its cache. */
export interface ToolContext {
  env: Env;
  principal: Principal;
  requestId: string;
  answer(collection: Collection, query: string, history: ChatTurn[], topK: number): Promise<ChatAnswer>;
  /** Spends a tool call's cost from the caller's rate budget; throws 429 `rate_limited` when it does not fit. */
  charge(cost: Cost): Promise<void>;
}

/** Each tool's scope and rate cost: a tool call is charged like the HTTP route that does the same. */
const TOOLS: Record<string, { scope: Scope; cost: Cost }> = {
  search_documents: { scope: "read", cost: "unit" },
  ask: { scope: "chat", cost: "chat" },
  list_documents: { scope: "read", cost: "unit" },
  read_document: { scope: "read", cost: "unit" },
};

const collectionArg = z
  .string()
  .min(1)
  .max(64)
  .optional()
  .describe("Collection id; defaults to the API key's own collection (required with the master key)");

const Source = HeadinglessSourceSchema;

function structured<T extends Record<string, unknown>>(data: T, text: string): CallToolResult & { structuredContent: T } {
  return { content: [{ type: "text", text }], structuredContent: data };
}

/**
 * One stateless MCP server per request, its tools bound to the caller. Each tool checks the key's
 * scope, and errors come back as tool errors with the API's public code and message only.
 */
export function buildMcpServer(ctx: ToolContext): McpServer {
  const server = new McpServer(
    { name: "docchat-edge", version: "1.0.0" },
    {
      jsonSchemaValidator: new CfWorkerJsonSchemaValidator(),
      instructions:
        "Search and read the documents of a docchat-edge collection. Use `ask` for a grounded answer with numbered sources, " +
        "`search_documents` for passages, `list_documents` and `read_document` to read a document in order.",
    },
  );

  const guard =
    <A, R extends CallToolResult>(tool: string, run: (args: A) => Promise<R>) =>
    async (args: A): Promise<CallToolResult> => {
      try {
        if (ctx.principal.kind === "key") requireScope(ctx.principal.key, TOOLS[tool].scope);
        await ctx.charge(TOOLS[tool].cost);
        return await run(args);
      } catch (err) {
        const e = toApiError(err);
        if (e.status >= 500) console.error(JSON.stringify({ request_id: ctx.requestId, tool, code: e.code, error: String(err) }));
        return { isError: true, content: [{ type: "text", text: JSON.stringify({ error: { code: e.code, message: e.message } }) }] };
      }
    };

  const collectionFor = async (id: string | undefined): Promise<Collection> => {
    const p = ctx.principal;
    const target = id ?? (p.kind === "key" ? p.key.collection_id : null);
    if (!target) throw new ApiError("validation_error", "collection_id is required with this key");
    assertCollectionAccess(p, target);
    return requireCollection(ctx.env.DB, target);
  };

  server.registerTool(
    "search_documents",
    {
      title: "Search documents",
      description: "Hybrid (keyword + vector) search over the collection's documents; returns the best passages with scores.",
      inputSchema: {
        query: z.string().trim().min(1).max(2000).describe("What to look for"),
        top_k: z.number().int().min(1).max(20).default(5).describe("Number of passages (1-20)"),
        filter: MetadataFilterSchema.optional().describe("OpenAI-style metadata filter on the documents"),
        collection_id: collectionArg,
      },
      outputSchema: { results: z.array(Source) },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    guard("search_documents", async ({ query, top_k, filter, collection_id }) => {
      const collection = await collectionFor(collection_id);
      const hits = await search(ctx.env, collection, { query, topK: top_k, mode: "hybrid", ...effectiveScope(ctx.principal, { filter }) });
      const results = numberedSources(hits).map(sourceWithoutHeading);
      const text = results.length
        ? results.map((r) => `[${r.n}] ${r.document_name} (chunk ${r.chunk}, score ${r.score.toFixed(3)})\n${r.text}`).join("\n\n")
        : "No passage matched.";
      return structured({ results }, text);
    }),
  );

  server.registerTool(
    "ask",
    {
      title: "Ask the documents",
      description:
        "A grounded answer to a question, citing the numbered sources it used as [n]; says so when the documents do not answer it.",
      inputSchema: {
        question: z.string().trim().min(1).max(4000),
        top_k: z.number().int().min(1).max(20).default(5).describe("Passages retrieved for grounding"),
        collection_id: collectionArg,
      },
      outputSchema: {
        answer: z.string(),
        sources: z.array(Source),
        citations: z.array(z.number()),
        claims: z.array(ClaimSchema).describe("Each sentence of the answer with the verified source spans (quote, offsets, support)"),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    guard("ask", async ({ question, top_k, collection_id }) => {
      const collection = await collectionFor(collection_id);
      const a = await ctx.answer(collection, question, [], top_k);
      const sources = a.sources.map(sourceWithoutHeading);
      const list = sources.map((s) => `[${s.n}] ${s.document_name} (chunk ${s.chunk})`).join("\n");
      return structured(
        { answer: a.answer, sources, citations: a.citations, claims: a.claims },
        list ? `${a.answer}\n\nSources:\n${list}` : a.answer,
      );
    }),
  );

  server.registerTool(
    "list_documents",
    {
      title: "List documents",
      description: "The collection's documents (id, name, status, chunk count, metadata), by id, 50 at a time.",
      inputSchema: {
        cursor: z.string().max(64).optional().describe("next_cursor of the previous page"),
        limit: z.number().int().min(1).max(100).default(50),
        collection_id: collectionArg,
      },
      outputSchema: {
        documents: z.array(
          z.object({
            id: z.string(),
            name: z.string(),
            status: z.string(),
            chunk_count: z.number(),
            metadata: z.record(z.string(), z.unknown()),
          }),
        ),
        next_cursor: z.string().nullable(),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    guard("list_documents", async ({ cursor, limit, collection_id }) => {
      const collection = await collectionFor(collection_id);
      const page = await listDocuments(ctx.env.DB, ctx.principal, collection.id, cursor, limit);
      const text = page.documents.length
        ? page.documents.map((d) => `${d.id}  ${d.name}  (${d.status}, ${d.chunk_count} chunks)`).join("\n")
        : "No documents.";
      return structured(page, text);
    }),
  );

  server.registerTool(
    "read_document",
    {
      title: "Read a document",
      description: "A document's text, chunk by chunk in order (chunks are numbered from 0; search results give their chunk number).",
      inputSchema: {
        document_id: z.string().min(1).max(64),
        from_chunk: z.number().int().min(0).default(0),
        max_chunks: z.number().int().min(1).max(50).default(10),
        collection_id: collectionArg,
      },
      outputSchema: {
        document_id: z.string(),
        name: z.string(),
        chunk_count: z.number(),
        chunks: z.array(z.object({ chunk: z.number(), text: z.string(), page: z.number().nullable(), heading: z.string().nullable() })),
        next_chunk: z.number().nullable(),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    guard("read_document", async ({ document_id, from_chunk, max_chunks, collection_id }) => {
      const collection = await collectionFor(collection_id);
      const doc = await readChunks(ctx.env, ctx.principal, collection.id, document_id, from_chunk, max_chunks);
      const text = doc.chunks.map((ch) => ch.text).join("\n\n") || "(no chunks in this range)";
      return structured(doc, text);
    }),
  );

  return server;
}
