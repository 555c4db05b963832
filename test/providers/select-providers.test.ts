import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { selectProviders } from "../../src/chat/providers";
import { parseSettings } from "../../src/config";
import { ApiError } from "../../src/http/errors";
import { body, call, createCollection, master } from "../helpers";

const settings = (vars: Record<string, string> = {}) => parseSettings(vars);

function misconfigured(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe("misconfigured");
    expect((err as ApiError).status).toBe(500);
    return err as ApiError;
  }
  throw new Error("expected a misconfigured error");
}

describe("selectProviders", () => {
  it("local: hashed embedder, vectors in the collection index, no reranker, extractive answerer", () => {
    const p = selectProviders({ ...env, AI: undefined, VECTORIZE: undefined } as Env, settings());
    expect(p.embedder.id).toBe("local-hash-v1");
    expect(p.vectorize).toBeNull();
    expect(p.whitenQueries).toBe(true);
    expect(p.reranker).toBeNull();
    expect(p.answerer.id).toBe("extractive");
  });

  it("Cloudflare: bge embedder, Vectorize, reranker and Workers AI answerer together", () => {
    const p = selectProviders({ ...env, AI: env.TEST_AI, VECTORIZE: env.TEST_VECTORIZE } as Env, settings());
    expect(p.embedder.id).toMatch(/^@cf\/baai\/bge-base-en-v1.5/);
    expect(p.vectorize?.id).toBe("vectorize");
    expect(p.whitenQueries).toBe(false);
    expect(p.reranker).not.toBeNull();
    expect(p.answerer.id).toBe("workers-ai");
  });

  it("refuses half-configured bindings, naming what is missing", () => {
    const vectorizeOnly = { ...env, AI: undefined, VECTORIZE: env.TEST_VECTORIZE } as Env;
    expect(misconfigured(() => selectProviders(vectorizeOnly, settings())).message).toMatch(/VECTORIZE is bound but AI is not/);
    expect(misconfigured(() => selectProviders(env, settings({ ANSWER_PROVIDER: "workers-ai" }))).message).toMatch(/AI binding/);
  });

  it("a half-configured deployment answers 500 misconfigured on search and chat, without leaking details", async () => {
    const col = await createCollection("misconfigured");
    const broken = { VECTORIZE: env.TEST_VECTORIZE } as Partial<Env>;
    for (const [path, json] of [
      [`/v1/collections/${col}/search`, { query: "anything" }],
      ["/v1/chat", { query: "anything", collection_id: col }],
    ] as const) {
      const res = await call(path, { method: "POST", headers: master(), json }, broken);
      expect(res.status, path).toBe(500);
      const err = (await body(res)).error;
      expect(err.code).toBe("misconfigured");
      expect(err.message).toMatch(/AI/);
    }
  });
});
