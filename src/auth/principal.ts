/**
 * `admin`: manage its collection's settings and webhook endpoints. Never granted by default: a key
 * gets it only when asked for by name.
 */
export const SCOPES = ["read", "write", "chat", "admin"] as const;
export type Scope = (typeof SCOPES)[number];
/** The scopes of a key issued without `scopes`. */
export const DEFAULT_SCOPES: readonly Scope[] = ["read", "write", "chat"];
/** The default scopes under their older name (before `admin`, they were all of them). */
export const ALL_SCOPES: readonly Scope[] = DEFAULT_SCOPES;

export interface KeyRecord {
  id: string;
  collection_id: string | null;
  model: string | null;
  scopes: Scope[];
  created_at: number; // epoch seconds
  expires_at: number; // epoch seconds
  /** The part of the collection the key may see (absent: all of it). See src/auth/binding.ts. */
  binding?: KeyBinding | null;
}

/**
 * A key bound to part of its collection: documents whose metadata matches `filter` and/or whose id
 * is in `document_ids` (both given: both must hold). Every surface derives what a request may see
 * from it through `effectiveScope` (src/retrieval/scope.ts).
 */
export interface KeyBinding {
  /**
   * A metadata filter in OpenAI's grammar. Typed loosely here because auth sits below retrieval,
   * which owns the grammar: it is validated with retrieval's `MetadataFilterSchema` when the key is
   * issued and interpreted only by src/retrieval/scope.ts.
   */
  filter?: BoundFilter;
  document_ids?: string[];
}

/** A validated metadata filter, as stored with a key (see KeyBinding). */
export type BoundFilter = { readonly type: string } & Readonly<Record<string, unknown>>;

export interface SessionClaims {
  sid: string;
  sub: string; // key id
  col: string | null; // collection id
  exp: number;
  jti: string;
  /** Digest of the session's key binding (absent: unbound); the binding itself is in the session object. */
  bnd?: string;
}

/**
 * Who is calling. A session's binding lives in its session object: `binding` is filled in once the
 * route has opened it (undefined = not loaded yet; `bindingOf` refuses to guess for a bound token).
 */
export type Principal =
  | { kind: "master" }
  | { kind: "key"; key: KeyRecord }
  | { kind: "session"; claims: SessionClaims; binding?: KeyBinding | null };

declare module "hono" {
  interface ContextVariableMap {
    /** Set by the authentication middleware before any body is read. */
    principal: Principal;
  }
}
