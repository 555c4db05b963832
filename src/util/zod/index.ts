// What "zod" and "zod/v4" resolve to in the Worker bundle and the test pool (the `alias` table in
// wrangler.jsonc, which vitest.config.ts reads): zod's classic API with English messages only.
// zod's own entry re-exports all its locales; ./core.ts explains why they end up evaluated at
// start-up and what this costs. Types still come from the real package (tsc does not see aliases).
import * as z from "./external";

export * from "./external";
export { z, z as default };
