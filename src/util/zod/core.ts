// zod's core (zod/v4/core) without its 40-odd locales: the same exports as
// node_modules/zod/v4/core/index.js except that `locales` holds English only (./locales.ts).
// The real index's `export * as locales` puts every locale (~400 KiB) into any bundle that
// materialises the namespace, and @hono/zod-openapi re-exports `z` as a value, which does.
// Also left out: ./compile.js (compile, withParser, compileFn, INVALID and its two errors, 62 KiB):
// zod's ahead-of-time parser compiler builds code with `new Function`, which the Workers runtime
// refuses, and nothing in the app or its dependencies calls it.
// Keep in step with that file when zod is upgraded (test/zod-alias.test.ts checks the export lists).
export * from "../../../node_modules/zod/v4/core/core.js";
export * from "../../../node_modules/zod/v4/core/parse.js";
export * from "../../../node_modules/zod/v4/core/errors.js";
export * from "../../../node_modules/zod/v4/core/schemas.js";
export * from "../../../node_modules/zod/v4/core/memoizer.js";
export * from "../../../node_modules/zod/v4/core/checks.js";
export * from "../../../node_modules/zod/v4/core/versions.js";
export * as util from "../../../node_modules/zod/v4/core/util.js";
export { toZod } from "../../../node_modules/zod/v4/core/util.js";
export * as regexes from "../../../node_modules/zod/v4/core/regexes.js";
export * as locales from "./locales";
export * from "../../../node_modules/zod/v4/core/registries.js";
export * from "../../../node_modules/zod/v4/core/doc.js";
export * from "../../../node_modules/zod/v4/core/api.js";
export * from "../../../node_modules/zod/v4/core/to-json-schema.js";
export { toJSONSchema } from "../../../node_modules/zod/v4/core/json-schema-processors.js";
export { JSONSchemaGenerator } from "../../../node_modules/zod/v4/core/json-schema-generator.js";
export * as JSONSchema from "../../../node_modules/zod/v4/core/json-schema.js";
