import { createApp } from "./app";
import { handleQueue, type IngestMessage } from "./ingest/queue";
import { requeueStuckDocuments, sweepExpiredDocuments } from "./ingest/sweeper";
import { mountRoutes } from "./routes";
import { encodeAnalysis } from "./chat/answer/extractive";
import { setChunkAnalyser } from "./retrieval/collection-index/chunk-statements";

// The collection index stores the extractive answerer's statements beside each chunk it commits
// (chunk-statements.ts); the answerer sits above the index's layer, so its encoder is handed down here.
setChunkAnalyser(encodeAnalysis);

export { KeyGuard } from "./auth/guard-do";
export { ChatSession } from "./chat/session-do";
export { CollectionIndex } from "./retrieval/collection-index/object";

const app = createApp(mountRoutes);

export default {
  fetch: app.fetch,
  queue: handleQueue,
  scheduled: async (_controller, env, ctx) => {
    ctx.waitUntil(requeueStuckDocuments(env));
    // Expired documents go through the normal delete path (src/ingest/expiry.ts).
    ctx.waitUntil(sweepExpiredDocuments(env));
  },
} satisfies ExportedHandler<Env, IngestMessage>;
