/**
 * The relay without a runtime, what `import ... from "shroud/relay"` gives: the relay and its
 * settings, its HTTP app (Hono, on any runtime with fetch), the ports a backend implements, and
 * the embedded in-memory backend. Nothing here imports Node; serving on Node and the Redis
 * backend are in `shroud/node`, the Cloudflare Workers entry in `shroud/worker`.
 *
 * @example
 * import { createRelayApp, memoryPorts, Relay, relayConfig } from "shroud/relay";
 *
 * const relay = await Relay.open(relayConfig({ origin: "https://relay.example" }), memoryPorts());
 * await relay.start(); // rounds close every second
 * export default { fetch: createRelayApp(relay).fetch };
 *
 * @module shroud/relay
 */
export { Relay, type RelayPorts } from "./relay/relay.js";
export {
  DEFAULT_RELAY_CONFIG,
  relayConfig,
  type FederationConfig,
  type RelayConfig,
  type RelayConfigInput,
  type TokenConfig,
} from "./relay/relay-config.js";
export type { CorsConfig } from "./relay/cors.js";
export { createRelayApp, type RelayAppOptions } from "./relay/app.js";
export { readRequestBody, type BodyReader } from "./relay/read-limited.js";
export {
  AttestationError,
  CapacityError,
  MediaTypeError,
  PolicyError,
  RateLimitError,
} from "./relay/errors.js";
export {
  addressAttester,
  headerAttester,
  inviteAttester,
  type Attester,
} from "./relay/attester.js";
export type { BlindSigner } from "./relay/blind-signer.js";
export type { StoredTokenKey, TokenKeyPrivate, RsaPrivateJwk } from "./relay/token-keys.js";
export type { TokenIssuer } from "./relay/token-issuer.js";
export type { Clock } from "./relay/ports/clock.js";
export type {
  Deposit,
  DepositIntake,
  DepositOutcome,
  DepositParts,
  ReplayRecord,
} from "./relay/ports/deposit-intake.js";
export type {
  DeadLetter,
  Deliver,
  DeliveryOptions,
  FederationQueue,
  OnDeadLetter,
  OnDeadLetterDropped,
  OutboundClaim,
} from "./relay/ports/federation-queue.js";
export type {
  Admission,
  InboxStore,
  InboxUsage,
  RoundEntry,
  StoredItem,
} from "./relay/ports/inbox-store.js";
export type { KeyStore, StoredHpkeKey, StoredKeyRing } from "./relay/ports/key-store.js";
export { MetricName, type MetricLabels, type Metrics } from "./relay/ports/metrics.js";
export {
  consoleLogger,
  LogLevel,
  textLogLine,
  type LogFields,
  type Logger,
} from "./relay/ports/logger.js";
export type { ReplaySet } from "./relay/ports/replay-set.js";
export type {
  AddResult,
  EntryKey,
  PageLimit,
  QuotaCheck,
  RoundPool,
} from "./relay/ports/round-pool.js";
export type { RoundScheduler } from "./relay/ports/round-scheduler.js";
export { memoryPorts, type MemoryPorts } from "./adapters/memory/memory-ports.js";
export { MemoryKeyStore } from "./adapters/memory/memory-key-store.js";
export type { MemoryInboxLimits } from "./adapters/memory/memory-inbox-store.js";
export type { MemoryRoundPoolOptions } from "./adapters/memory/memory-round-pool.js";
export {
  ConfigError,
  CryptoError,
  DecodeError,
  ReplayError,
  ShroudError,
  TooLargeError,
  UnknownKeyError,
} from "./protocol/errors.js";
export { PaddingPolicy } from "./protocol/padding-policy.js";
