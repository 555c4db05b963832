export type Scope = "read" | "write" | "chat";
export const ALL_SCOPES: readonly Scope[] = ["read", "write", "chat"];

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
