// "zod" resolves to src/util/zod (wrangler.jsonc `alias`, read by vitest.config.ts): zod's API
// without its 40-odd locales. These check that the copy is complete (same exports as the package's
// own entry, so nothing that a dependency calls is missing after a zod upgrade), that dependencies
// get it too, and that validation messages are still zod's English ones.
import { z as fromOpenapi } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import * as zv4 from "zod/v4";
import * as core from "zod/v4/core";
// Relative paths are never aliased: these are the package's own modules.
import * as realCore from "../node_modules/zod/v4/core/index.js";
import * as realClassic from "../node_modules/zod/v4/classic/external.js";

const keys = (ns: object) => Object.keys(ns).sort();

describe("zod alias", () => {
  it("is what zod, zod/v4 and zod/v4/core resolve to, for the app and for its dependencies", () => {
    expect(keys(z.locales)).toEqual(["en"]);
    expect(keys(zv4.locales)).toEqual(["en"]);
    expect(keys(core.locales)).toEqual(["en"]);
    expect(keys(fromOpenapi.locales)).toEqual(["en"]);
    expect(fromOpenapi).toBe(z);
    // The real package still has them all; the alias is what removed them.
    expect(keys(realClassic.locales).length).toBeGreaterThan(30);
  });

  it("exports everything zod's classic entry and core export, but locales, the compiler and fromJSONSchema", () => {
    // The deliberate omissions (src/util/zod/core.ts says why); anything else missing is a gap.
    const compiler = ["INVALID", "ZodCompileAsyncError", "ZodCompileUnsupportedError", "compile", "withParser"];
    const without = (names: string[], left: string[]) => names.filter((k) => !left.includes(k));
    expect(without(keys(z), ["locales"])).toEqual(without(keys(realClassic), ["locales", "fromJSONSchema", ...compiler]));
    expect(without(keys(z.core), ["locales"])).toEqual(without(keys(realCore), ["locales", "compileFn", ...compiler]));
    expect(without(keys(core), ["locales"])).toEqual(without(keys(realCore), ["locales", "compileFn", ...compiler]));
    expect(keys(z)).toContain("locales");
    // Same classes as the package (one zod, not two): schemas built either way interoperate.
    expect(z.ZodString).toBe(realClassic.ZodString);
    expect(z.core.$ZodType).toBe(realCore.$ZodType);
  });

  it("validates with zod's English messages", () => {
    const r = z.object({ name: z.string(), n: z.number().int().min(1) }).safeParse({ name: 3, n: 0 });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => [i.path.join("."), i.message])).toEqual([
      ["name", "Invalid input: expected string, received number"],
      ["n", "Too small: expected number to be >=1"],
    ]);
    expect(z.email().safeParse("nope").error?.issues[0].message).toBe("Invalid email address");
  });
});
