import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/context";
import { mountChat } from "./chat";
import { mountCollections } from "./collections";
import { mountDocs } from "./docs";
import { mountDocuments } from "./documents";
import { mountHealth } from "./health";
import { mountKeys } from "./keys";
import { mountMakeEmbedding } from "./make-embedding";
import { mountMcp } from "./mcp";
import { mountOpenAi } from "./openai";
import { mountSearch } from "./search";
import { mountSessions } from "./sessions";
import { mountVectorStores } from "./vector-stores";
import { mountWebhooks } from "./webhooks";

export function mountRoutes(app: OpenAPIHono<AppEnv>): void {
  mountHealth(app);
  mountKeys(app);
  mountSessions(app);
  mountChat(app);
  mountMakeEmbedding(app);
  mountCollections(app);
  mountDocuments(app);
  mountWebhooks(app);
  mountSearch(app);
  mountOpenAi(app);
  mountVectorStores(app);
  mountMcp(app);
  // Last: the OpenAPI document covers every route registered above.
  mountDocs(app);
}
