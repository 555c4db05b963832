import { WorkersAiEmbedder } from "./cloudflare/embedder";
import { VectorizeStore } from "./cloudflare/vectorize";
import { LocalHashEmbedder } from "./local/embedder";
import { LocalVectorStore } from "./local/store";
import type { Embedder, VectorIndex } from "./types";

/**
 * Cloudflare providers when their bindings exist (env.production), local ones otherwise
 * (wrangler dev and tests): the pipeline above them is the same.
 */
export function selectEmbedder(env: Env): Embedder {
  return env.AI ? new WorkersAiEmbedder(env.AI) : new LocalHashEmbedder();
}

export function selectVectorIndex(env: Env): VectorIndex {
  return env.VECTORIZE ? new VectorizeStore(env.VECTORIZE) : new LocalVectorStore(env);
}
