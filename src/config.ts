import { z } from "zod";
import { ApiError } from "./http/errors";

const int = (def: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(def);
const secret = z.string({ error: "is not set" }).min(32, { error: "must be at least 32 characters" });

/**
 * Settings come from wrangler vars and secrets. Secrets have no default anywhere: a missing or weak
 * one makes every protected endpoint fail closed (see `requireSecrets`).
 */
const settingsSchema = () =>
  z.object({
    CHAT_URL: z.url().optional(),
    KEY_TTL_SECONDS: int(3600, 60, 30 * 86400),
    KEY_TTL_MAX_SECONDS: int(86400, 60, 365 * 86400),
    SESSION_TTL_SECONDS: int(3600, 60, 30 * 86400),
    MAX_UPLOAD_BYTES: int(25 * 1024 * 1024, 1024, 100 * 1024 * 1024),
    MAX_JSON_BYTES: int(10 * 1024 * 1024, 1024, 100 * 1024 * 1024),
    CORS_ORIGINS: z
      .string()
      .default("")
      .transform((s) =>
        s
          .split(",")
          .map((o) => o.trim())
          .filter(Boolean),
      ),
    ANSWER_PROVIDER: z.enum(["extractive", "workers-ai", "openai", "chat-url"]).optional(),
    AI_CHAT_MODEL: z.string().min(1).default("@cf/meta/llama-3.3-70b-instruct-fp8-fast"),
    ANSWER_MAX_TOKENS: int(1024, 64, 8192),
    UPSTREAM_TIMEOUT_MS: int(30000, 1000, 120000),
    OPENAI_BASE_URL: z.url().optional(),
    OPENAI_API_KEY: z.string().min(1).optional(),
    OPENAI_MODEL: z.string().min(1).default("gpt-4o-mini"),
    UPSTREAM_CHAT_URL: z.url().optional(),
    // Default of the chat requests' `strict_grounding`: answers keep only sentences a source supports.
    STRICT_GROUNDING: z
      .enum(["true", "false"])
      .default("false")
      .transform((v) => v === "true"),
    // --- Edge data plane and answer cache (issues 9, 14) ---
    // How long an isolate trusts its copy of a collection's catalogue row (version, status).
    COLLECTION_CACHE_SECONDS: int(5, 0, 60),
    // Global answer tier (KV): entry lifetime, and the largest answer cached (bigger ones are skipped).
    ANSWER_CACHE_TTL_SECONDS: int(3600, 60, 7 * 86400),
    ANSWER_CACHE_MAX_BYTES: int(64 * 1024, 1024, 1024 * 1024),
    // Queue consumer: memory the documents of one batch may use together (see src/ingest/queue.ts).
    INGEST_MEMORY_BUDGET_MB: int(64, 8, 100),

    // --- Abuse resistance: rate limits, quotas, extraction caps, edge auth cache (docs/security.md) ---
    /** Per client IP, before authentication (Workers Rate Limiting binding IP_RATE_LIMITER); 0 = off. */
    RATE_LIMIT_IP_PER_MINUTE: int(600, 0, 1_000_000),
    /** Per API key and per session, in cost units per minute (KeyGuard Durable Object); 0 = off. */
    RATE_LIMIT_KEY_PER_MINUTE: int(300, 0, 1_000_000),
    /** Failed authentications per client IP per minute; never off. */
    RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: int(10, 1, 1_000_000),
    /** Cost units of one request of each kind against the key limit (a read costs 1). */
    RATE_COST_CHAT: int(5, 1, 1000),
    RATE_COST_UPLOAD: int(5, 1, 1000),
    RATE_COST_REINDEX: int(50, 1, 10_000),
    /** How long an isolate may answer a temporary key from memory before asking KV again (seconds). */
    AUTH_CACHE_SECONDS: int(10, 0, 60),
    QUOTA_COLLECTION_DOCUMENTS: int(10_000, 1, 10_000_000),
    QUOTA_COLLECTION_BYTES: int(1024 * 1024 * 1024, 1024, 1024 * 1024 * 1024 * 1024),
    QUOTA_COLLECTION_CHUNKS: int(500_000, 1, 100_000_000),
    QUOTA_KEY_LIVE_SESSIONS: int(100, 1, 1_000_000),
    REINDEX_COOLDOWN_SECONDS: int(300, 0, 86_400),

    // --- Webhooks (issue 20) ---
    /**
     * 1 lets webhook endpoints be http://localhost / 127.0.0.1 / [::1]: for a receiver on the same
     * machine in local development (`npm run smoke -- --local`). Never set it in production.
     */
    WEBHOOK_ALLOW_LOOPBACK: int(0, 0, 1),
  });

// Built when the first env is parsed (a request), not at start-up: ~30 zod schemas.
let SettingsSchema: ReturnType<typeof settingsSchema> | undefined;
export type Settings = z.infer<ReturnType<typeof settingsSchema>>;
export interface Secrets {
  MASTER_API_KEY: string;
  JWT_SECRET_KEY: string;
}

function envRecord(env: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(env as Record<string, unknown>)) {
    // Empty strings count as unset, so `FOO=` in .dev.vars means "use the default".
    if (typeof v === "string" && v.trim() === "") continue;
    out[k] = v;
  }
  return out;
}

// The env object is the same for every request of an isolate: parse it once per env object.
const settingsCache = new WeakMap<object, Settings>();

export function parseSettings(env: unknown): Settings {
  const cached = settingsCache.get(env as object);
  if (cached) return cached;
  const settings = parseSettingsUncached(env);
  settingsCache.set(env as object, settings);
  return settings;
}

function parseSettingsUncached(env: unknown): Settings {
  SettingsSchema ??= settingsSchema();
  const parsed = SettingsSchema.safeParse(envRecord(env));
  if (!parsed.success) {
    const names = [...new Set(parsed.error.issues.map((i) => String(i.path[0])))];
    throw new ApiError("misconfigured", `Server misconfigured: invalid setting ${names.join(", ")}`);
  }
  return parsed.data;
}

/** Parses the two required secrets; names the variable at fault, never its value. */
export function parseSecrets(env: unknown): Secrets {
  const rec = envRecord(env);
  for (const name of ["MASTER_API_KEY", "JWT_SECRET_KEY"] as const) {
    const r = secret.safeParse(rec[name]);
    if (!r.success) {
      throw new ApiError("misconfigured", `Server misconfigured: ${name} ${r.error.issues[0]?.message ?? "is invalid"}`);
    }
  }
  // One secret for both would let anyone holding the master key mint session tokens and vice versa.
  if (rec.MASTER_API_KEY === rec.JWT_SECRET_KEY) {
    throw new ApiError("misconfigured", "Server misconfigured: JWT_SECRET_KEY must differ from MASTER_API_KEY");
  }
  return { MASTER_API_KEY: rec.MASTER_API_KEY as string, JWT_SECRET_KEY: rec.JWT_SECRET_KEY as string };
}

declare module "hono" {
  interface ContextVariableMap {
    /** Parsed once per request by the app's first middleware. */
    settings: Settings;
  }
}
