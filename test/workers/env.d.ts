// The bindings `env` from cloudflare:test has: the Worker's own (wrangler.toml).
import type { WorkerEnv } from "../../src/adapters/workers/worker-env.js";

declare global {
  namespace Cloudflare {
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface Env extends WorkerEnv {}
  }
}
