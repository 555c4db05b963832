import { createRoute, type OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import type { Settings } from "../config";
import type { AppEnv } from "../http/context";
import type { Scope } from "./principal";

/**
 * One access declaration per operation, written beside its route (`defineRoute`). Everything that
 * used to be a path table is derived from it: the authentication middleware (what credential, which
 * scope), the rate cost, the error shape, the request-body limit, the OpenAPI `security` entries and
 * the endpoint table in docs/api.md. A method and path that match no declaration are answered 404
 * before anything else runs: nothing is public unless a declaration says so.
 */

/** What a request must present, decided from method, path and headers alone (no body is read). */
export type Need =
  /** Anyone. */
  | { kind: "public" }
  /** Anyone; a master key, when presented, is checked (and unlocks details). */
  | { kind: "public-or-master" }
  /** `X-Master-API-Key`. */
  | { kind: "master" }
  /** The master key, or a temporary key (X-API-Key or Bearer) holding at least one of `scopes`. */
  | { kind: "key"; scopes: readonly Scope[] }
  /** The original's /api/start_chat: a temporary key in X-API-Key; the master key there is a 400. */
  | { kind: "temp-key" }
  /** The original's /start_chat: the master key, or a temporary key with `chat` in X-API-Key. */
  | { kind: "start-chat" }
  /** A chat-session token (`Authorization: <jwt>` or `Bearer <jwt>`). */
  | { kind: "session" }
  /** A session token, or what `key` accepts. */
  | { kind: "session-or-key"; scopes: readonly Scope[] }
  /** A session token, or the master key. */
  | { kind: "session-or-master" };

/** Shorthands for declarations: `need.key("read")`, `need.master`, … */
export const need = {
  public: { kind: "public" } as Need,
  publicOrMaster: { kind: "public-or-master" } as Need,
  master: { kind: "master" } as Need,
  key: (...scopes: Scope[]): Need => ({ kind: "key", scopes }),
  tempKey: { kind: "temp-key" } as Need,
  startChat: { kind: "start-chat" } as Need,
  session: { kind: "session" } as Need,
  sessionOrKey: (...scopes: Scope[]): Need => ({ kind: "session-or-key", scopes }),
  sessionOrMaster: { kind: "session-or-master" } as Need,
};

/** Rate units a request spends from its key's (or session's) budget; the amounts are settings. */
export type Cost = "unit" | "chat" | "upload" | "reindex";

/**
 * Error bodies: the API's envelope `{error: {code, message, request_id}}`; the original service's
 * flat `{message|error, code, request_id}` on its compatible paths; OpenAI's `{error: {message, type,
 * param, code}}` on the OpenAI-compatible paths, so its SDKs raise their typed errors.
 */
export type ErrorShape = "envelope" | "legacy" | "openai";

export interface Access {
  need: Need;
  /** Default `unit` (1). */
  cost?: Cost;
  /** Default `envelope`. */
  errors?: ErrorShape;
  /** `upload`: the body may be up to MAX_UPLOAD_BYTES × 2 (multipart files); default: MAX_JSON_BYTES. */
  body?: "json" | "upload";
  /** 401 answers carry `WWW-Authenticate: Bearer …` (MCP clients start their auth flow from it). */
  bearerChallenge?: boolean;
  /**
   * The key guard's call (rate limit, revocation) runs alongside the handler's read-only first steps
   * (collection lookup, answer-cache lookup, opening the chat session) instead of before them. The
   * handler must await `guardVerdict(c)` (or use `afterVerdict`) before any side effect, any costly
   * step and its response; the middleware awaits the verdict again after the handler, so an error
   * the handler found (a 404) never answers before a refusal (429/401) would have.
   */
  overlapGuard?: boolean;
}

/** A route declared with its access: `createRoute` plus the `access` field. */
export function defineRoute<R extends RouteConfig & { access: Access }>(config: R) {
  return createRoute(config);
}

export type Method = "get" | "post" | "put" | "patch" | "delete";

export interface Declared {
  method: Method;
  /** OpenAPI template, `/v1/collections/{id}`. */
  path: string;
  access: Access;
  /** Listed in /openapi.json (false: /openapi.json and /docs themselves). */
  documented: boolean;
}

/** Units of a cost, from the settings (RATE_COST_*). */
export function costUnits(cost: Cost | undefined, s: Settings): number {
  switch (cost) {
    case "chat":
      return s.RATE_COST_CHAT;
    case "upload":
      return s.RATE_COST_UPLOAD;
    case "reindex":
      return s.RATE_COST_REINDEX;
    default:
      return 1;
  }
}

const unlisted = new WeakMap<object, Declared[]>();

/**
 * A plain (non-OpenAPI) route with its declaration, for the few that are not operations of the API
 * themselves (the OpenAPI document and its viewer). Everything else is declared with `defineRoute`.
 */
export function declareUnlisted(app: OpenAPIHono<AppEnv>, method: Method, path: string, access: Access): void {
  const list = unlisted.get(app) ?? [];
  list.push({ method, path, access, documented: false });
  unlisted.set(app, list);
}

interface Compiled extends Declared {
  pattern: RegExp;
  literal: boolean;
}

/** `{id}` and Hono's `:id` both match one non-empty segment, as Hono's router does (strict paths). */
function compile(path: string): RegExp {
  const src = path
    .split("/")
    .map((seg) => (/^\{\w+\}$/.test(seg) || /^:\w+$/.test(seg) ? "[^/]+" : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
  return new RegExp(`^${src}$`);
}

/**
 * Every declaration of one app, matched by method and the path the router routes (`c.req.path`,
 * already percent-decoded by Hono). Built once, after every route is mounted, from the OpenAPI
 * registry (so a route is declared where it is defined) plus the unlisted public routes.
 */
export class AccessTable {
  private routes: Compiled[] = [];

  static fromApp(app: OpenAPIHono<AppEnv>): AccessTable {
    const t = new AccessTable();
    for (const d of app.openAPIRegistry.definitions) {
      if (d.type !== "route") continue;
      const r = d.route as RouteConfig & { access?: Access };
      // An operation registered without a declaration stays out of the table: it answers 404.
      if (!r.access) continue;
      t.add({ method: r.method as Method, path: r.path, access: r.access, documented: true });
    }
    for (const u of unlisted.get(app) ?? []) t.add(u);
    return t;
  }

  private add(d: Declared): void {
    const literal = !/[{:]/.test(d.path);
    this.routes.push({ ...d, pattern: compile(d.path), literal });
    // Literal paths first, so `/v1/chat` is never taken by a parameterised look-alike.
    this.routes.sort((a, b) => Number(b.literal) - Number(a.literal));
  }

  /** The declaration for a request; HEAD is answered by GET routes, as Hono does. */
  match(method: string, path: string): Declared | undefined {
    const m = method.toLowerCase() === "head" ? "get" : method.toLowerCase();
    return this.routes.find((r) => r.method === m && r.pattern.test(path));
  }

  all(): Declared[] {
    return this.routes.map(({ method, path, access, documented }) => ({ method, path, access, documented }));
  }
}

// ------------------------------------------------------------------------------------------------
// Derived descriptions: OpenAPI security requirements and the docs' endpoint table.

type SecurityRequirement = Record<string, string[]>;
const MASTER: SecurityRequirement = { masterKey: [] };
const API_KEY: SecurityRequirement = { apiKey: [] };
const SESSION: SecurityRequirement = { sessionToken: [] };

/** The OpenAPI `security` of an operation; `{}` marks the credential as optional. */
export function securityOf(n: Need): SecurityRequirement[] {
  switch (n.kind) {
    case "public":
      return [];
    case "public-or-master":
      return [{}, MASTER];
    case "master":
      return [MASTER];
    case "key":
    case "start-chat":
      return [MASTER, API_KEY];
    case "temp-key":
      return [API_KEY];
    case "session":
      return [SESSION];
    case "session-or-key":
      return [SESSION, API_KEY, MASTER];
    case "session-or-master":
      return [SESSION, MASTER];
  }
}

/** How the docs name a need. */
export function describeNeed(n: Need): string {
  switch (n.kind) {
    case "public":
      return "none";
    case "public-or-master":
      return "none (master key optional)";
    case "master":
      return "master key";
    case "key":
      return `master key or temporary key (${n.scopes.map((s) => `\`${s}\``).join(" or ")})`;
    case "temp-key":
      return "temporary key (`chat`)";
    case "start-chat":
      return "master key or temporary key (`chat`)";
    case "session":
      return "session token";
    case "session-or-key":
      return `session token, master key or temporary key (${n.scopes.map((s) => `\`${s}\``).join(" or ")})`;
    case "session-or-master":
      return "session token or master key";
  }
}

/** The endpoint table of docs/api.md, generated from the declarations (a test keeps the file equal to it). */
export function endpointTable(routes: Declared[]): string {
  const order = (d: Declared) => `${d.path} ${["get", "post", "put", "patch", "delete"].indexOf(d.method)}`;
  const rows = [...routes].sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
  const lines = ["| method | path | credentials | rate cost | errors |", "|---|---|---|---|---|"];
  const cost = (d: Declared) => (d.access.need.kind === "public" ? "—" : d.access.cost && d.access.cost !== "unit" ? d.access.cost : "1");
  for (const d of rows) {
    lines.push(
      `| ${d.method.toUpperCase()} | \`${d.path}\` | ${describeNeed(d.access.need)} | ${cost(d)} | ${d.access.errors ?? "envelope"} |`,
    );
  }
  return lines.join("\n");
}

declare module "hono" {
  interface ContextVariableMap {
    /** The matched route's declaration, set by the authentication middleware. */
    access: Access;
    /** RateLimit headers for the response (the last charge's). */
    rateLimitHeaders: Record<string, string>;
    /** The key guard's verdict while it is in flight (routes with `overlapGuard`); see `guardVerdict`. */
    guardVerdict: Promise<void>;
  }
}
