import { ApiError } from "../http/errors";
import { WorkersAiEmbedder } from "./cloudflare/embedder";
import { WorkersAiReranker } from "./cloudflare/reranker";
import { VectorizeStore } from "./cloudflare/vectorize";
import { LocalHashEmbedder } from "./local/embedder";
import type { Embedder } from "./types";

export interface RetrievalProviders {
  embedder: Embedder;
  /** Vectorize when bound; null means the vectors live in the collection index object. */
  vectorize: VectorizeStore | null;
  /** Query-time idf ("whitening") helps the hashed embedder and would distort a learned one. */
  whitenQueries: boolean;
  reranker: WorkersAiReranker | null;
}

/**
 * Embedder, vector store and reranker, chosen together: Cloudflare's when their bindings exist
 * (env.production), local ones otherwise (wrangler dev and tests). A half-configured deployment is
 * refused: VECTORIZE without AI would send 384-dimension local vectors to a 768-dimension index.
 */
export function selectRetrieval(env: Pick<Env, "AI" | "VECTORIZE">): RetrievalProviders {
  if (env.VECTORIZE && !env.AI) {
    throw new ApiError(
      "misconfigured",
      "Server misconfigured: VECTORIZE is bound but AI is not (the Vectorize index needs the Workers AI embedder)",
    );
  }
  return {
    embedder: env.AI ? new WorkersAiEmbedder(env.AI) : new LocalHashEmbedder(),
    vectorize: env.VECTORIZE ? new VectorizeStore(env.VECTORIZE) : null,
    whitenQueries: !env.AI,
    reranker: env.AI ? new WorkersAiReranker(env.AI) : null,
  };
}

export function selectEmbedder(env: Pick<Env, "AI" | "VECTORIZE">): Embedder {
  return selectRetrieval(env).embedder;
}

/** The collection's embedder, refusing to mix vectors of two models in one collection. */
export function activeEmbedderFor(env: Pick<Env, "AI" | "VECTORIZE">, collection: { embedder: string; dimensions: number }): Embedder {
  const embedder = selectEmbedder(env);
  if (embedder.id !== collection.embedder || embedder.dimensions !== collection.dimensions) {
    throw new ApiError(
      "embedder_mismatch",
      `Collection was indexed with ${collection.embedder} (${collection.dimensions} dimensions) but the active embedder is ${embedder.id} (${embedder.dimensions}); re-create the collection to switch models`,
    );
  }
  return embedder;
}
