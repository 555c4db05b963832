// Wrangler's default CompiledWasm rule (and the vitest pool) turn `import x from "./k.wasm"` into a
// precompiled module: workerd forbids compiling wasm from bytes at run time.
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
