// The one locale the API speaks: error messages are English (zod's default), and `z.locales.en`
// keeps working for code that sets it explicitly.
export { default as en } from "../../../node_modules/zod/v4/locales/en.js";
