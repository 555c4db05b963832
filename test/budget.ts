/**
 * Round-trip counting for the budget tests: the bindings of a request (D1, KV, the Durable Object
 * namespaces, R2, the Workers AI and Vectorize doubles) and `caches.default` wrapped in counting
 * proxies inside workerd. Every call that leaves the isolate counts once; a D1 batch counts once.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { BASE } from "./helpers";

export interface Counts {
  d1: number;
  kvReads: number;
  kvWrites: number;
  collectionDO: number;
  sessionDO: number;
  /** KeyGuard Durable Object (per-key rate limit, revocation, live sessions). */
  guardDO: number;
  r2: number;
  cache: number;
  aiEmbed: number;
  aiOther: number;
  vectorizeQuery: number;
  vectorizeOther: number;
}

const zero = (): Counts => ({
  d1: 0,
  kvReads: 0,
  kvWrites: 0,
  collectionDO: 0,
  sessionDO: 0,
  guardDO: 0,
  r2: 0,
  cache: 0,
  aiEmbed: 0,
  aiOther: 0,
  vectorizeQuery: 0,
  vectorizeOther: 0,
});

type Fn = (...args: unknown[]) => unknown;

/** Wraps the methods `names` of `target`, calling `count(name, args)` before each. */
function counting<T extends object>(target: T, names: string[] | "all", count: (name: string, args: unknown[]) => void): T {
  return new Proxy(target, {
    get(t, prop) {
      const value = (t as Record<string | symbol, unknown>)[prop];
      if (typeof prop !== "string" || typeof value !== "function") return value;
      const method = (...args: unknown[]) => (t as unknown as Record<string, Fn>)[prop](...args);
      if (names !== "all" && !names.includes(prop)) return method;
      return (...args: unknown[]) => {
        count(prop, args);
        return method(...args);
      };
    },
  });
}

const UNWRAP = Symbol("unwrap");

function countingD1(db: D1Database, bump: () => void): D1Database {
  const statement = (s: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(s, {
      get(t, prop) {
        if (prop === UNWRAP) return t;
        const value = Reflect.get(t, prop) as unknown;
        if (typeof value !== "function") return value;
        if (prop === "bind") return (...args: unknown[]) => statement((value as Fn).apply(t, args) as D1PreparedStatement);
        if (prop === "first" || prop === "all" || prop === "run" || prop === "raw")
          return (...args: unknown[]) => {
            bump();
            return (value as Fn).apply(t, args);
          };
        return (value as Fn).bind(t);
      },
    });
  return new Proxy(db, {
    get(t, prop) {
      const value = Reflect.get(t, prop) as unknown;
      if (typeof value !== "function") return value;
      if (prop === "prepare") return (sql: string) => statement(t.prepare(sql));
      if (prop === "batch")
        return (stmts: D1PreparedStatement[]) => {
          bump();
          return t.batch(stmts.map((s) => (s as unknown as Record<symbol, D1PreparedStatement>)[UNWRAP] ?? s));
        };
      if (prop === "exec")
        return (sql: string) => {
          bump();
          return t.exec(sql);
        };
      return (value as Fn).bind(t);
    },
  });
}

/** Counts every RPC call on the stubs the namespace hands out. */
function countingNamespace<T extends Rpc.DurableObjectBranded | undefined>(
  ns: DurableObjectNamespace<T>,
  bump: () => void,
): DurableObjectNamespace<T> {
  return new Proxy(ns, {
    get(t, prop) {
      const value = Reflect.get(t, prop) as unknown;
      if (typeof value !== "function") return value;
      if (prop === "get" || prop === "getByName")
        return (...args: unknown[]) => {
          const stub = (value as Fn).apply(t, args) as object;
          return new Proxy(stub, {
            get(s, p) {
              const v = (s as Record<string | symbol, unknown>)[p];
              if (typeof p !== "string" || p === "then" || p === "id" || p === "name" || typeof v !== "function") return v;
              return (...a: unknown[]) => {
                bump();
                return (s as Record<string, Fn>)[p](...a);
              };
            },
          });
        };
      return (value as Fn).bind(t);
    },
  });
}

export interface Counted {
  env: Env;
  counts: Counts;
  reset(): void;
  /** Calls the worker with the counted env and a real execution context (waitUntil work counted too). */
  fetch(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
}

/**
 * An env whose bindings count their round trips. `providers: "cloudflare"` binds the Workers AI
 * and Vectorize doubles as AI / VECTORIZE (the production providers).
 */
export function countedEnv(providers: "local" | "cloudflare" = "cloudflare"): Counted {
  let c = zero();
  const counts = () => c;
  const base = providers === "cloudflare" ? ({ ...env, AI: env.TEST_AI, VECTORIZE: env.TEST_VECTORIZE } as Env) : env;
  const wrapped: Env = {
    ...base,
    DB: countingD1(base.DB, () => counts().d1++),
    API_KEYS: counting(base.API_KEYS, "all", (name) => {
      if (name === "get" || name === "getWithMetadata" || name === "list") counts().kvReads++;
      else counts().kvWrites++;
    }),
    DOCUMENTS: counting(base.DOCUMENTS, "all", () => counts().r2++),
    COLLECTION_INDEX: countingNamespace(base.COLLECTION_INDEX, () => counts().collectionDO++),
    CHAT_SESSION: countingNamespace(base.CHAT_SESSION, () => counts().sessionDO++),
    KEY_GUARD: countingNamespace(base.KEY_GUARD, () => counts().guardDO++),
  };
  if (base.AI) {
    wrapped.AI = counting(base.AI, ["run"], (_name, args) => {
      if (
        String(args[0]).includes("bge-base") ||
        String(args[0]).includes("bge-small") ||
        String(args[0]).includes("bge-m3") ||
        String(args[0]).includes("embedding")
      )
        counts().aiEmbed++;
      else counts().aiOther++;
    });
  }
  if (base.VECTORIZE) {
    wrapped.VECTORIZE = counting(base.VECTORIZE, "all", (name) => {
      if (name === "query") counts().vectorizeQuery++;
      else counts().vectorizeOther++;
    });
  }
  return {
    env: wrapped,
    get counts() {
      return c;
    },
    reset() {
      c = zero();
    },
    async fetch(path, init = {}) {
      const headers = new Headers(init.headers);
      let reqBody = init.body;
      if (init.json !== undefined) {
        headers.set("Content-Type", "application/json");
        reqBody = JSON.stringify(init.json);
      }
      const mod = await import("../src/index");
      const ctx = createExecutionContext();
      const restore = countCacheApi(() => counts().cache++);
      try {
        const res = await mod.default.fetch(new Request(BASE + path, { ...init, headers, body: reqBody }), wrapped, ctx);
        await res.clone().arrayBuffer();
        await waitOnExecutionContext(ctx);
        return res;
      } finally {
        restore();
      }
    },
  } as Counted;
}

/** Counts calls on `caches.default` (a global, so it is patched for the duration of one request). */
function countCacheApi(bump: () => void): () => void {
  const cache = caches.default as unknown as Record<string, Fn>;
  const originals: Record<string, Fn> = {};
  for (const name of ["match", "put", "delete"]) {
    originals[name] = cache[name];
    cache[name] = (...args: unknown[]) => {
      bump();
      return originals[name].apply(caches.default, args);
    };
  }
  return () => {
    for (const name of Object.keys(originals)) cache[name] = originals[name];
  };
}
