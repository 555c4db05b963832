import type { D1Migration } from "@cloudflare/vitest-pool-workers";

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      MASTER_API_KEY: string;
      JWT_SECRET_KEY: string;
      SHARED_DIR: string;
      /** "1" when CI requires the real corpus (see vitest.config.ts). */
      REQUIRE_CORPUS: string;
      SHARED_FILES: Fetcher;
      TEST_AI: Ai;
      TEST_VECTORIZE: VectorizeIndex;
      /** The 1024-dimension index of bge-m3 collections. */
      TEST_VECTORIZE_M3: VectorizeIndex;
      TEST_IP_RATE_LIMITER: RateLimit;
    }
    interface GlobalProps {
      mainModule: typeof import("../src/index");
    }
  }
}

// @cloudflare/vitest-pool-workers 0.23 declares `runInDurableObject<O extends DurableObject |
// Rpc.DurableObject>`, which cannot infer O from the stubs of workers-types 5 (whose stubs are
// `DurableObjectStub<T extends Rpc.DurableObjectBranded>`): the callback's instance type fell back to
// the constraint. This overload (same runtime function) infers it again, so tests keep writing
// `runInDurableObject(stub, async (index: CollectionIndex) => ...)`.
declare module "cloudflare:test" {
  export function runInDurableObject<O extends Rpc.DurableObjectBranded, R>(
    stub: DurableObjectStub<O>,
    callback: (instance: O, state: DurableObjectState) => R | Promise<R>,
  ): Promise<R>;
}
