// Stand-in for the `cloudflare:workers` module when the Worker bundle's top level runs in Node
// (bench/lib/startup/run.mjs): the bundle only extends these classes at start-up.
export class DurableObject {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
  }
}
export class WorkerEntrypoint {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
  }
}
export class RpcTarget {}
export class WorkflowEntrypoint {}
export const env = {};
