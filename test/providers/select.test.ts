import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { selectAnswerer } from "../../src/chat/answer";
import { parseSettings } from "../../src/config";
import { ApiError } from "../../src/http/errors";

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

describe("selectAnswerer", () => {
  it("defaults to Workers AI when the AI binding exists, with the configured model", () => {
    const a = selectAnswerer({ AI: env.TEST_AI }, settings());
    expect(a.id).toBe("workers-ai");
    expect(a.model).toBe("@cf/meta/llama-3.3-70b-instruct-fp8-fast");
    expect(typeof a.rewriteQuery).toBe("function");
    expect(selectAnswerer({ AI: env.TEST_AI }, settings({ AI_CHAT_MODEL: "@cf/zai-org/glm-4.7-flash" })).model).toBe(
      "@cf/zai-org/glm-4.7-flash",
    );
  });

  it("defaults to the extractive answerer without it", () => {
    const a = selectAnswerer({}, settings());
    expect(a).toMatchObject({ id: "extractive", model: "extractive-v5" });
    expect(a.rewriteQuery).toBeUndefined();
  });

  it("follows ANSWER_PROVIDER", () => {
    expect(selectAnswerer({ AI: env.TEST_AI }, settings({ ANSWER_PROVIDER: "extractive" })).id).toBe("extractive");
    const openai = selectAnswerer(
      {},
      settings({ ANSWER_PROVIDER: "openai", OPENAI_BASE_URL: "https://api.openai.com/v1", OPENAI_API_KEY: "k" }),
    );
    expect(openai).toMatchObject({ id: "openai", model: "gpt-4o-mini" });
    expect(selectAnswerer({}, settings({ ANSWER_PROVIDER: "chat-url", UPSTREAM_CHAT_URL: "http://localhost:8000/query" }))).toMatchObject({
      id: "chat-url",
    });
  });

  it("fails closed naming the missing variable", () => {
    expect(misconfigured(() => selectAnswerer({}, settings({ ANSWER_PROVIDER: "workers-ai" }))).message).toMatch(/AI binding/);
    expect(misconfigured(() => selectAnswerer({}, settings({ ANSWER_PROVIDER: "openai", OPENAI_API_KEY: "k" }))).message).toMatch(
      /OPENAI_BASE_URL/,
    );
    expect(
      misconfigured(() => selectAnswerer({}, settings({ ANSWER_PROVIDER: "openai", OPENAI_BASE_URL: "https://x.example/v1" }))).message,
    ).toMatch(/OPENAI_API_KEY/);
    expect(misconfigured(() => selectAnswerer({}, settings({ ANSWER_PROVIDER: "chat-url" }))).message).toMatch(/UPSTREAM_CHAT_URL/);
    expect(
      misconfigured(() => selectAnswerer({}, settings({ ANSWER_PROVIDER: "chat-url", UPSTREAM_CHAT_URL: "ftp://files.example/q" })))
        .message,
    ).toMatch(/UPSTREAM_CHAT_URL/);
  });

  it("never puts a secret's value in the error", () => {
    const e = misconfigured(() => selectAnswerer({}, settings({ ANSWER_PROVIDER: "openai", OPENAI_API_KEY: "sk-very-secret" })));
    expect(e.message).not.toContain("sk-very-secret");
  });
});
