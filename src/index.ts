import { createApp } from "./app";
import { handleQueue, type IngestMessage } from "./ingest/queue";
import { mountRoutes } from "./routes";

export { ChatSession } from "./chat/session-do";
export { LocalVectorIndex } from "./retrieval/local/index-do";

const app = createApp(mountRoutes);

export default {
  fetch: app.fetch,
  queue: handleQueue,
} satisfies ExportedHandler<Env, IngestMessage>;
