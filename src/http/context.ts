/**
 * The app's Hono environment. Request variables are declared where they are owned, by augmenting
 * Hono's ContextVariableMap (`settings` in config.ts, `principal` in auth/principal.ts, `requestId`
 * by hono/request-id), so this bottom layer imports nothing from above it.
 */
export type AppEnv = {
  Bindings: Env;
};
