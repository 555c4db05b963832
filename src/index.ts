import type { createApp } from "./app";
import type { IngestMessage } from "./ingest/queue";
import { setChunkAnalyser } from "./retrieval/collection-index/chunk-statements";

// The collection index stores the extractive answerer's statements beside each chunk it commits
// (chunk-statements.ts); the answerer sits above the index's layer, so its encoder is handed down
// here, as a loader: the index imports it on an isolate's first commit, not at start-up.
setChunkAnalyser(async () => (await import("./chat/answer/extractive")).encodeAnalysis);

export { KeyGuard } from "./auth/guard-do";
export { ChatSession } from "./chat/session-do";
export { CollectionIndex } from "./retrieval/collection-index/object";

// Built on the first request, not at start-up: the app, the route modules (their request/response schemas,
// some 600 zod objects) and registering them (OpenAPI entries, validators, access declarations) are
// most of the top-level work, and Workers bounds start-up time. The first request of an isolate
// pays it once (docs/performance.md, "Cold start"); the bench counts these modules as evaluated
// before the first search all the same.
// Each request awaits its own import() (no promise shared between requests, which workerd would
// tie to the request that created it); the first to get there builds the app, once.
let app: ReturnType<typeof createApp> | undefined;
async function getApp(): Promise<ReturnType<typeof createApp>> {
  if (app) return app;
  const [{ createApp }, { mountRoutes }] = await Promise.all([import("./app"), import("./routes")]);
  app ??= createApp(mountRoutes);
  return app;
}

// The queue consumer (indexing, webhook delivery) and the cron sweeper run in their own
// invocations: their modules load there, not in every isolate that serves a search.
const ingestQueue = () => import("./ingest/queue");
const sweeper = () => import("./ingest/sweeper");

export default {
  // Typed as the app's fetch (any Request), which the tests call directly.
  fetch: async (request: Request, env: Env, ctx: ExecutionContext) => {
    return (await getApp()).fetch(request, env, ctx);
  },
  queue: async (batch, env) => (await ingestQueue()).handleQueue(batch, env),
  scheduled: async (_controller, env, ctx) => {
    const { requeueStuckDocuments, sweepExpiredDocuments } = await sweeper();
    ctx.waitUntil(requeueStuckDocuments(env));
    // Expired documents go through the normal delete path (src/ingest/expiry.ts).
    ctx.waitUntil(sweepExpiredDocuments(env));
  },
} satisfies ExportedHandler<Env, IngestMessage>;
