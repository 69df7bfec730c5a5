/**
 * Serving a relay on Node, what `import ... from "shroud/node"` gives: `startNodeRelay` (HTTP with
 * connection and per-address limits), the file key store of the embedded backend, the SQLite
 * backend and the Redis backend. Importing it switches HPKE to node:crypto for this process.
 *
 * @example
 * import { startNodeRelay } from "shroud/node";
 *
 * const { url, close } = await startNodeRelay({ port: 8787, dataDir: ".shroud" });
 *
 * @module shroud/node
 */
export {
  DEFAULT_MAX_PENDING_BYTES,
  startNodeRelay,
  type NodeRelayOptions,
  type RunningRelay,
  type StoreLimits,
} from "./node.js";
export { DEFAULT_INGRESS_LIMITS, type IngressLimits } from "./adapters/node/ingress-limits.js";
export { FileKeyStore } from "./adapters/node/file-key-store.js";
export { nodeBlindSigner } from "./adapters/node/node-blind-signer.js";
export {
  redisPorts,
  type RedisPorts,
  type RedisPortsOptions,
} from "./adapters/redis/redis-ports.js";
export {
  parseRedisTarget,
  type RedisClient,
  type RedisTarget,
} from "./adapters/redis/redis-connection.js";
export {
  sqlitePorts,
  type SqlitePorts,
  type SqlitePortsOptions,
} from "./adapters/sqlite/sqlite-ports.js";
