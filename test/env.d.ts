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
