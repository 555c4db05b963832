import { ApiError } from "../http/errors";
import { WorkersAiEmbedder } from "./cloudflare/embedder";
import { WorkersAiReranker } from "./cloudflare/reranker";
import { VectorizeStore } from "./cloudflare/vectorize";
import { LocalHashEmbedder } from "./local/embedder";
import { DEFAULT_EMBEDDING_MODEL, EMBEDDING_MODELS, type EmbeddingModel, embeddingModelOf } from "./models";
import type { Embedder } from "./types";

/** The bindings provider selection reads: Workers AI and one Vectorize index per model dimension. */
export type ProviderEnv = Pick<Env, "AI" | "VECTORIZE" | "VECTORIZE_M3">;

export interface RetrievalProviders {
  embedder: Embedder;
  /** Vectorize when bound; null means the vectors live in the collection index object. */
  vectorize: VectorizeStore | null;
  /** Query-time idf ("whitening") helps the hashed embedder and would distort a learned one. */
  whitenQueries: boolean;
  reranker: WorkersAiReranker | null;
}

/**
 * Embedder, vector store and reranker for one embedding model, chosen together: Cloudflare's when
 * their bindings exist (env.production), local ones otherwise (wrangler dev and tests; the local
 * embedder then stands in for every model). With Vectorize, each model's vectors go to the index
 * of its dimension (EMBEDDING_MODELS[model].binding), one namespace per collection inside it. A
 * half-configured deployment is refused: VECTORIZE without AI would send 384-dimension local
 * vectors to a 768-dimension index, and a model whose index is not bound has nowhere to go.
 */
export function selectRetrieval(env: ProviderEnv, model: EmbeddingModel = DEFAULT_EMBEDDING_MODEL): RetrievalProviders {
  if (env.VECTORIZE && !env.AI) {
    throw new ApiError(
      "misconfigured",
      "Server misconfigured: VECTORIZE is bound but AI is not (the Vectorize index needs the Workers AI embedder)",
    );
  }
  return {
    embedder: env.AI ? new WorkersAiEmbedder(env.AI, model) : new LocalHashEmbedder(),
    vectorize: env.VECTORIZE ? new VectorizeStore(vectorIndexBinding(env, model)) : null,
    whitenQueries: !env.AI,
    reranker: env.AI ? new WorkersAiReranker(env.AI) : null,
  };
}

/** The Vectorize index holding `model`'s vectors (on Cloudflare, where VECTORIZE is bound). */
function vectorIndexBinding(env: ProviderEnv, model: EmbeddingModel): NonNullable<Env["VECTORIZE"]> {
  const name = EMBEDDING_MODELS[model].binding;
  const binding = env[name];
  if (!binding) {
    throw new ApiError(
      "misconfigured",
      `Server misconfigured: ${model} needs a Vectorize index of ${EMBEDDING_MODELS[model].dimensions} dimensions bound as ${name}`,
    );
  }
  return binding;
}

/** Whether this deployment can serve `model`: offline always (the local embedder), on Cloudflare when its index is bound. */
export function modelAvailable(env: ProviderEnv, model: EmbeddingModel): boolean {
  return !env.VECTORIZE || !!env[EMBEDDING_MODELS[model].binding];
}

export function selectEmbedder(env: ProviderEnv, model: EmbeddingModel = DEFAULT_EMBEDDING_MODEL): Embedder {
  return selectRetrieval(env, model).embedder;
}

/** The collection's embedder, refusing to mix vectors of two models in one collection. */
export function activeEmbedderFor(
  env: ProviderEnv,
  collection: { embedder: string; dimensions: number; embedding_model?: string | null },
): Embedder {
  const embedder = selectEmbedder(env, embeddingModelOf(collection));
  if (embedder.id !== collection.embedder || embedder.dimensions !== collection.dimensions) {
    throw new ApiError(
      "embedder_mismatch",
      `Collection was indexed with ${collection.embedder} (${collection.dimensions} dimensions) but the active embedder is ${embedder.id} (${embedder.dimensions}); re-create the collection to switch models`,
    );
  }
  return embedder;
}
