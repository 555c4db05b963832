import type { EmbedKind, Embedder } from "../types";
import { type AiBinding, upstreamFailure } from "../../cloudflare/bindings";

export const BGE_BASE_MODEL = "@cf/baai/bge-base-en-v1.5";
const DIMENSIONS = 768;
/** Workers AI rejects more than 100 texts in one embeddings call (input schema `maxItems: 100`). */
const MAX_BATCH = 100;
/**
 * `cls` pooling is more accurate on longer inputs (Workers AI docs) but its vectors are not
 * comparable with the default `mean` ones, so the pooling is part of the embedder id: a collection
 * indexed with one can never be queried with the other.
 */
const POOLING = "cls" as const;

/**
 * Workers AI `bge-base-en-v1.5` (768 dimensions). Queries are embedded as-is: the v1.5 models
 * retrieve well without the query instruction prefix, and leaving it out keeps `kind` irrelevant.
 */
export class WorkersAiEmbedder implements Embedder {
  readonly id = `${BGE_BASE_MODEL}#${POOLING}`;
  readonly dimensions = DIMENSIONS;
  readonly maxBatch = MAX_BATCH;

  constructor(private readonly ai: AiBinding) {}

  async embed(texts: string[], _kind: EmbedKind): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    // Sequential on purpose: ingestion runs in a queue consumer where throughput matters less than
    // staying under the account's Workers AI rate limit.
    for (let i = 0; i < texts.length; i += MAX_BATCH) {
      out.push(...(await this.embedBatch(texts.slice(i, i + MAX_BATCH))));
    }
    return out;
  }

  private async embedBatch(texts: string[]): Promise<Float32Array[]> {
    // The model rejects empty strings (`minLength: 1`); a blank chunk still needs a vector.
    const input = texts.map((t) => (t.length > 0 ? t : " "));
    let res: unknown;
    try {
      res = await this.ai.run(BGE_BASE_MODEL, { text: input, pooling: POOLING });
    } catch (err) {
      throw upstreamFailure("embedding", err);
    }
    const data = (res as { data?: unknown }).data;
    if (!Array.isArray(data) || data.length !== texts.length) {
      throw upstreamFailure(
        "embedding",
        new Error(`expected ${texts.length} embeddings, got ${Array.isArray(data) ? data.length : typeof data}`),
      );
    }
    return data.map((row: unknown) => {
      if (!Array.isArray(row) || row.length !== DIMENSIONS) {
        throw upstreamFailure(
          "embedding",
          new Error(`expected ${DIMENSIONS} dimensions, got ${Array.isArray(row) ? row.length : typeof row}`),
        );
      }
      return normalise(row as number[]);
    });
  }
}

/** L2-normalises into a Float32Array; a zero vector stays zero (it then matches nothing). */
export function normalise(values: ArrayLike<number>): Float32Array {
  const v = Float32Array.from(values);
  let sum = 0;
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) throw upstreamFailure("embedding", new Error("non-finite value in embedding"));
    sum += v[i] * v[i];
  }
  if (sum > 0) {
    const inv = 1 / Math.sqrt(sum);
    for (let i = 0; i < v.length; i++) v[i] *= inv;
  }
  return v;
}
