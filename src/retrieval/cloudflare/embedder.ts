import type { EmbedKind, Embedder } from "../types";
import { type AiBinding, upstreamFailure } from "../../cloudflare/bindings";
import { DEFAULT_EMBEDDING_MODEL, EMBEDDING_MODELS, type EmbeddingModel } from "../models";

export const BGE_BASE_MODEL = "@cf/baai/bge-base-en-v1.5";
/** Workers AI rejects more than 100 texts in one embeddings call (input schema `maxItems: 100`). */
const MAX_BATCH = 100;
/**
 * `cls` pooling is more accurate on longer inputs (Workers AI docs) but its vectors are not
 * comparable with the default `mean` ones, so the pooling is part of the embedder id: a collection
 * indexed with one can never be queried with the other.
 */
const POOLING = "cls" as const;

/**
 * A Workers AI embedding model: `bge-base-en-v1.5` (768 dimensions, the default) or `bge-m3`
 * (1024, multilingual). Queries are embedded as-is: the v1.5 models retrieve well without the
 * query instruction prefix and bge-m3 needs none, and leaving it out keeps `kind` irrelevant.
 */
export class WorkersAiEmbedder implements Embedder {
  readonly id: string;
  readonly dimensions: number;
  readonly maxBatch = MAX_BATCH;

  constructor(
    private readonly ai: AiBinding,
    private readonly model: EmbeddingModel = DEFAULT_EMBEDDING_MODEL,
  ) {
    this.dimensions = EMBEDDING_MODELS[model].dimensions;
    // bge-m3 takes no pooling option; its id is the model's own.
    this.id = model === BGE_BASE_MODEL ? `${BGE_BASE_MODEL}#${POOLING}` : model;
  }

  /** The model's input: bge-base with its pooling; bge-m3 truncating inputs longer than it reads. */
  private inputs(texts: string[]): Record<string, unknown> {
    return this.model === BGE_BASE_MODEL ? { text: texts, pooling: POOLING } : { text: texts, truncate_inputs: true };
  }

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
      // Typed per model by workers-types; the two models' input shapes are chosen in inputs().
      res = await (this.ai as unknown as { run(model: string, inputs: Record<string, unknown>): Promise<unknown> }).run(
        this.model,
        this.inputs(input),
      );
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
      if (!Array.isArray(row) || row.length !== this.dimensions) {
        throw upstreamFailure(
          "embedding",
          new Error(`expected ${this.dimensions} dimensions, got ${Array.isArray(row) ? row.length : typeof row}`),
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
