import type { Settings } from "../../config";
import { ApiError } from "../../http/errors";
import type { AiBinding } from "../../cloudflare/bindings";
import { ChatUrlAnswerer } from "./chat-url";
import { ExtractiveAnswerer } from "./extractive";
import { OpenAiCompatibleAnswerer } from "./openai";
import type { AnswerProvider } from "./types";
import type { FetchFn } from "./upstream";
import { WorkersAiAnswerer } from "./workers-ai";

export { ChatUrlAnswerer } from "./chat-url";
export { extractCitations } from "./citations";
export { ExtractiveAnswerer } from "./extractive";
export { OpenAiCompatibleAnswerer } from "./openai";
export * from "./types";
export { WorkersAiAnswerer } from "./workers-ai";

type AnswerSettings = Pick<
  Settings,
  | "ANSWER_PROVIDER"
  | "AI_CHAT_MODEL"
  | "ANSWER_MAX_TOKENS"
  | "UPSTREAM_TIMEOUT_MS"
  | "OPENAI_BASE_URL"
  | "OPENAI_API_KEY"
  | "OPENAI_MODEL"
  | "UPSTREAM_CHAT_URL"
>;

function required(value: string | undefined, name: string, provider: string): string {
  if (!value) throw new ApiError("misconfigured", `Server misconfigured: ${name} is not set (needed by ANSWER_PROVIDER=${provider})`);
  return value;
}

/**
 * The answer provider: `ANSWER_PROVIDER` when set (its settings must exist, else 500
 * `misconfigured` naming the variable), otherwise Workers AI when the AI binding exists, otherwise
 * the offline extractive answerer. Cheap to call per request.
 */
export function selectAnswerer(env: { AI?: AiBinding }, settings: AnswerSettings, deps: { fetch?: FetchFn } = {}): AnswerProvider {
  const choice = settings.ANSWER_PROVIDER ?? (env.AI ? "workers-ai" : "extractive");
  switch (choice) {
    case "extractive":
      return new ExtractiveAnswerer();
    case "workers-ai":
      if (!env.AI)
        throw new ApiError("misconfigured", "Server misconfigured: the AI binding is missing (needed by ANSWER_PROVIDER=workers-ai)");
      return new WorkersAiAnswerer(env.AI, settings.AI_CHAT_MODEL, settings.ANSWER_MAX_TOKENS, { timeoutMs: settings.UPSTREAM_TIMEOUT_MS });
    case "openai":
      return new OpenAiCompatibleAnswerer({
        baseUrl: required(settings.OPENAI_BASE_URL, "OPENAI_BASE_URL", choice),
        apiKey: required(settings.OPENAI_API_KEY, "OPENAI_API_KEY", choice),
        model: settings.OPENAI_MODEL,
        timeoutMs: settings.UPSTREAM_TIMEOUT_MS,
        maxTokens: settings.ANSWER_MAX_TOKENS,
        fetch: deps.fetch,
      });
    case "chat-url":
      return new ChatUrlAnswerer({
        url: required(settings.UPSTREAM_CHAT_URL, "UPSTREAM_CHAT_URL", choice),
        timeoutMs: settings.UPSTREAM_TIMEOUT_MS,
        fetch: deps.fetch,
      });
  }
}
