import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { defineRoute, need } from "../auth/access";
import { requireKeyOrMaster } from "../auth/authenticate";
import type { AppEnv } from "../http/context";
import { openAiErrorResponses } from "../http/openai-errors";
import { jsonBody } from "../http/schemas";
import { MetadataFilterSchema } from "../retrieval/filter-schema";
import { search } from "../retrieval/search";
import { effectiveScope } from "../retrieval/scope";
import { documentMetadata } from "../storage/documents";
import { collectionForModel } from "./shared/model";

const Body = z
  .object({
    query: z.union([z.string().trim().min(1).max(2000), z.array(z.string().trim().min(1).max(2000)).min(1).max(10)]),
    max_num_results: z.number().int().min(1).max(50).default(10),
    filters: MetadataFilterSchema.nullable().optional(),
    ranking_options: z
      .object({
        ranker: z.string().max(64).optional().openapi({ description: "Accepted; the hybrid ranker is always used" }),
        score_threshold: z.number().min(0).max(1).optional(),
      })
      .nullable()
      .optional(),
    rewrite_query: z.boolean().nullable().optional().openapi({ description: "Accepted; the query is used as given" }),
  })
  .openapi("VectorStoreSearchRequest", {
    example: { query: "When does the office open?", max_num_results: 5, filters: { type: "eq", key: "lang", value: "en" } },
  });

const Result = z
  .object({
    file_id: z.string().openapi({ description: "The document id" }),
    filename: z.string(),
    score: z.number().openapi({ description: "Hybrid score in [0, 1] (min-max normalised over the candidates)" }),
    attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).nullable(),
    content: z.array(z.object({ type: z.literal("text"), text: z.string() })),
  })
  .openapi("VectorStoreSearchResult");

const Page = z
  .object({
    object: z.literal("vector_store.search_results.page"),
    search_query: z.array(z.string()),
    data: z.array(Result),
    has_more: z.boolean(),
    next_page: z.string().nullable(),
  })
  .openapi("VectorStoreSearchResultsPage");

const route = defineRoute({
  method: "post",
  path: "/v1/vector_stores/{id}/search",
  access: { need: need.key("read"), errors: "openai" },
  tags: ["OpenAI-compatible"],
  summary: "OpenAI vector-store search over a collection's hybrid search",
  description:
    "`{id}` is a collection id (or `default`, the key's own collection); `Authorization: Bearer <temporary key>` with scope `read`. " +
    "One result per passage: `file_id` is the document id, `attributes` the document's scalar metadata. `filters` is OpenAI's " +
    "metadata filter grammar, applied before top-k. Errors use OpenAI's shape. `client.vectorStores.search(id, {...})` works.",
  request: { params: z.object({ id: z.string().min(1).max(64) }), body: jsonBody(Body) },
  responses: {
    200: { description: "A page of results", content: { "application/json": { schema: Page } } },
    ...openAiErrorResponses(400, 401, 403, 404, 500, 502),
  },
});

function scalarAttributes(metadata: string): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(JSON.parse(metadata) as Record<string, unknown>)) {
    if (typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v))) out[k] = v;
  }
  return out;
}

export function mountVectorStores(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const p = await requireKeyOrMaster(c, "read");
    const collection = await collectionForModel(c, p, c.req.valid("param").id);
    const body = c.req.valid("json");
    const queries = typeof body.query === "string" ? [body.query] : body.query;
    const hits = await search(c.env, collection, {
      query: queries.join(" "),
      topK: body.max_num_results,
      mode: "hybrid",
      ...effectiveScope(p, { filter: body.filters ?? undefined }),
    });
    const threshold = body.ranking_options?.score_threshold ?? 0;
    const kept = hits.filter((h) => h.score >= threshold);
    const ids = [...new Set(kept.map((h) => h.document_id))];
    const metadata = await documentMetadata(c.env.DB, collection.id, ids);
    const attributes = new Map([...metadata].map(([id, json]) => [id, scalarAttributes(json)]));
    return c.json(
      {
        object: "vector_store.search_results.page" as const,
        search_query: queries,
        data: kept.map((h) => ({
          file_id: h.document_id,
          filename: h.document_name,
          score: h.score,
          attributes: attributes.get(h.document_id) ?? null,
          content: [{ type: "text" as const, text: h.text }],
        })),
        has_more: false,
        next_page: null,
      },
      200,
    );
  });
}
