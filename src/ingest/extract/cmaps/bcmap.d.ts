// wrangler.jsonc's Data rule for *.bcmap (and the vitest pool, which reads the same rules) turns
// `import("./x.bcmap")` into a module whose default export is the file's bytes.
declare module "*.bcmap" {
  const data: ArrayBuffer;
  export default data;
}
