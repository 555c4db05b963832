import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);

// The server must never reach the network in a test: any outbound fetch that a test did not stub
// (vi.spyOn(globalThis, "fetch") or an injected fetch) fails loudly here instead of hanging or
// silently reaching a real host. Bindings (service bindings, DOs, R2, ...) do not go through it.
const unstubbed: typeof fetch = async (input) => {
  const url = input instanceof Request ? input.url : String(input);
  throw new Error(`unstubbed outbound fetch in a test: ${url}`);
};
globalThis.fetch = unstubbed;
