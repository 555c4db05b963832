// zod's classic API (what `import { z } from "zod"` gives) with the English-only core: the same
// exports as node_modules/zod/v4/classic/external.js, `core` and `locales` swapped for ./core.ts,
// without the compiler (see ./core.ts) or fromJSONSchema (JSON Schema -> zod, 26 KiB: nothing here
// builds schemas from JSON Schema, nor does a dependency: checked at zod 4.6.7, MCP SDK 1.32.2).
export * as core from "./core";
export * from "../../../node_modules/zod/v4/classic/schemas.js";
export * from "../../../node_modules/zod/v4/classic/checks.js";
export * from "../../../node_modules/zod/v4/classic/errors.js";
export * from "../../../node_modules/zod/v4/classic/parse.js";
export * from "../../../node_modules/zod/v4/classic/compat.js";
export {
  globalRegistry,
  registry,
  config,
  memoizer,
  $output,
  $input,
  $brand,
  clone,
  regexes,
  treeifyError,
  prettifyError,
  formatError,
  flattenError,
  TimePrecision,
  util,
  NEVER,
  toZod,
  getDiscriminatedOption,
} from "./core";
export { toJSONSchema } from "../../../node_modules/zod/v4/core/json-schema-processors.js";
export { deepPartial } from "../../../node_modules/zod/v4/classic/deep-partial.js";
export { input, output } from "../../../node_modules/zod/v4/classic/in-out.js";
export * as locales from "./locales";
export { ZodISODateTime, ZodISODate, ZodISOTime, ZodISODuration } from "../../../node_modules/zod/v4/classic/iso.js";
export * as iso from "../../../node_modules/zod/v4/classic/iso.js";
export * as coerce from "../../../node_modules/zod/v4/classic/coerce.js";
