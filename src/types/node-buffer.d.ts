// `nodejs_compat` provides node:buffer at run time, and mammoth's Node build (the one the test pool
// loads) wants a Buffer. src/ deliberately does not see @types/node, so only the one member it uses
// is declared here.
declare module "node:buffer" {
  export const Buffer: { from(data: ArrayBuffer): Uint8Array };
}
