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
}

export interface SessionClaims {
  sid: string;
  sub: string; // key id
  col: string | null; // collection id
  exp: number;
  jti: string;
}

export type Principal = { kind: "master" } | { kind: "key"; key: KeyRecord } | { kind: "session"; claims: SessionClaims };

declare module "hono" {
  interface ContextVariableMap {
    /** Set by the authentication middleware before any body is read. */
    principal: Principal;
  }
}
