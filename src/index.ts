import { createApp } from "./app";
import type { IngestMessage } from "./ingest/queue";
import { mountRoutes } from "./routes";

export { KeyGuard } from "./auth/guard-do";
export { ChatSession } from "./chat/session-do";
export { CollectionIndex } from "./retrieval/collection-index/object";

// Built on the first request, not at start-up: registering the routes (their OpenAPI entries,
// validators and access declarations) is most of the top-level work, and Workers bounds start-up
// time; the first request of an isolate pays it once (docs/performance.md, "Cold start").
let app: ReturnType<typeof createApp> | undefined;

// The queue consumer (indexing, webhook delivery) and the cron sweeper run in their own
// invocations: their modules load there, not in every isolate that serves a search.
const ingestQueue = () => import("./ingest/queue");
const sweeper = () => import("./ingest/sweeper");

export default {
  fetch: (request, env, ctx) => {
    app ??= createApp(mountRoutes);
    return app.fetch(request, env, ctx);
  },
  queue: async (batch, env) => (await ingestQueue()).handleQueue(batch, env),
  scheduled: async (_controller, env, ctx) => {
    const { requeueStuckDocuments, sweepExpiredDocuments } = await sweeper();
    ctx.waitUntil(requeueStuckDocuments(env));
    // Expired documents go through the normal delete path (src/ingest/expiry.ts).
    ctx.waitUntil(sweepExpiredDocuments(env));
  },
} satisfies ExportedHandler<Env, IngestMessage>;
