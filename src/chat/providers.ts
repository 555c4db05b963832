import type { Settings } from "../config";
import { type RetrievalProviders, selectRetrieval } from "../retrieval/providers";
import { selectAnswerer } from "./answer";
import type { AnswerProvider } from "./answer/types";

export interface Providers extends RetrievalProviders {
  answerer: AnswerProvider;
}

/**
 * Every provider of a request, chosen together from the environment: embedder, vector store,
 * reranker (src/retrieval/providers.ts) and answerer (src/chat/answer). A half-configured
 * deployment is refused with 500 `misconfigured` naming what is missing: VECTORIZE without AI, or
 * an ANSWER_PROVIDER whose binding or settings are absent.
 */
export function selectProviders(env: Env, settings: Settings): Providers {
  return { ...selectRetrieval(env), answerer: selectAnswerer(env, settings) };
}
