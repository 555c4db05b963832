import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { defineRoute, need } from "../auth/access";
import { afterVerdict } from "../auth/middleware";
import { assertCollectionAccess, requireKeyOrMaster } from "../auth/authenticate";
import type { AppEnv } from "../http/context";
import { errorResponses, json, jsonBody } from "../http/schemas";
import { type SearchTimings, search, serverTiming } from "../retrieval/search";
import { MetadataFilterSchema } from "../retrieval/filter-schema";
import { requireCachedCollection } from "../storage/collection-cache";
import { effectiveScope } from "../retrieval/scope";

export const SearchBody = z
  .object({
    query: z.string().trim().min(1).max(2000),
    // BEIR's Recall@100 needs 100 results; Vectorize caps a query at 100 as well.
    top_k: z.number().int().min(1).max(100).default(10),
    mode: z.enum(["hybrid", "vector", "keyword"]).default("hybrid"),
    filter: z
      .object({ document_ids: z.array(z.string().max(64)).min(1).max(100).optional(), metadata: MetadataFilterSchema.optional() })
      .optional(),
    fusion: z
      .enum(["convex", "rrf"])
      .default("convex")
      .openapi({ description: "Hybrid fusion: min-max normalised convex combination, or reciprocal rank fusion" }),
    rrf_k: z.number().int().min(1).max(1000).optional().openapi({ description: "RRF constant (fusion rrf), default 60" }),
    vector_weight: z.number().min(0).max(1).optional(),
    rerank: z
      .boolean()
      .default(false)
      .openapi({ description: "Re-order with Workers AI bge-reranker-base (ignored when AI is not bound)" }),
  })
  .openapi("SearchRequest", { example: { query: "When does the office open?", top_k: 5, mode: "hybrid" } });

const Hit = z
  .object({
    chunk_id: z.number(),
    document_id: z.string(),
    document_name: z.string(),
    ordinal: z.number(),
    text: z.string(),
    page: z.number().nullable(),
    heading: z.string().nullable(),
    score: z.number(),
    scores: z.object({
      vector: z.number().nullable(),
      vector_rank: z.number().nullable(),
      keyword: z.number().nullable().openapi({ description: "FTS5 bm25(): smaller is better" }),
      keyword_rank: z.number().nullable(),
      fused: z.number(),
      rerank: z.number().nullable(),
    }),
  })
  .openapi("SearchHit");

const route = defineRoute({
  method: "post",
  path: "/v1/collections/{id}/search",
  access: { need: need.key("read"), overlapGuard: true },
  tags: ["Search"],
  summary: "Hybrid, vector or keyword search in a collection",
  request: { params: z.object({ id: z.string().min(1).max(64) }), body: jsonBody(SearchBody) },
  responses: {
    200: json(z.object({ query: z.string(), mode: z.string(), results: z.array(Hit) })),
    ...errorResponses(400, 401, 403, 404, 409, 500, 502),
  },
});

export function mountSearch(app: OpenAPIHono<AppEnv>): void {
  app.openapi(route, async (c) => {
    const p = await requireKeyOrMaster(c, "read");
    const { id } = c.req.valid("param");
    assertCollectionAccess(p, id);
    // The collection's look-up overlaps the key guard's call; nothing costly runs before its verdict.
    const t0 = performance.now();
    const collection = await afterVerdict(c, requireCachedCollection(c.env, id));
    const waited = performance.now() - t0;
    const body = c.req.valid("json");
    const timings: SearchTimings = {};
    const scope = effectiveScope(p, { documentIds: body.filter?.document_ids, filter: body.filter?.metadata });
    const results = await search(
      c.env,
      collection,
      {
        query: body.query,
        topK: body.top_k,
        mode: body.mode,
        ...scope,
        fusion: body.fusion,
        rrfK: body.rrf_k,
        vectorWeight: body.vector_weight,
        rerank: body.rerank,
      },
      timings,
    );
    // `guard`: the collection look-up and the key guard's verdict, whichever came last.
    c.header("Server-Timing", `guard;dur=${waited.toFixed(1)}, ${serverTiming(timings)}`);
    return c.json({ query: body.query, mode: body.mode, results }, 200);
  });
}
