import { type AiBinding, upstreamFailure } from "../../cloudflare/bindings";

export const BGE_RERANKER_MODEL = "@cf/baai/bge-reranker-base";

/**
 * Cross-encoder reranking with Workers AI `bge-reranker-base`: one relevance score per text, in the
 * order given (higher is more relevant). The model answers `{response: [{id, score}]}` where `id`
 * indexes the request's `contexts`; a text it leaves out scores -Infinity so it sorts last.
 */
export class WorkersAiReranker {
  readonly id = BGE_RERANKER_MODEL;

  constructor(private readonly ai: AiBinding) {}

  async rerank(query: string, texts: string[]): Promise<number[]> {
    if (texts.length === 0) return [];
    let res: unknown;
    try {
      // workers-types 5.20261117 lost the model's required `query` field from its generated input type
      // (the doc comment is still there); the model's schema still requires it, so it is added back here.
      const input: Ai_Cf_Baai_Bge_Reranker_Base_Input & { query: string } = {
        query: query.trim() || " ",
        contexts: texts.map((text) => ({ text: text.length > 0 ? text : " " })),
      };
      res = await this.ai.run(BGE_RERANKER_MODEL, input);
    } catch (err) {
      throw upstreamFailure("reranking", err);
    }
    const response = (res as { response?: unknown }).response;
    if (!Array.isArray(response)) throw upstreamFailure("reranking", new Error("response is not an array"));
    const scores = new Array<number>(texts.length).fill(Number.NEGATIVE_INFINITY);
    for (const item of response as { id?: unknown; score?: unknown }[]) {
      const { id, score } = item ?? {};
      if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id >= texts.length || typeof score !== "number") {
        throw upstreamFailure("reranking", new Error("malformed rerank item"));
      }
      scores[id] = score;
    }
    return scores;
  }
}
