import { ConfigError } from "../protocol/errors.js";
import { normalizeOrigin } from "../protocol/descriptor.js";
import { PaddingPolicy } from "../protocol/padding-policy.js";
import type { DeliveryOptions } from "./ports/federation-queue.js";

/** How this relay federates with other providers' relays. */
export interface FederationConfig {
  /** "allowlist": only `peers` (none by default: federation off); "open": any relay. */
  policy: "allowlist" | "open";
  /** Peer origins allowed as next hops and as batch senders (normalised). */
  peers: string[];
  /** Largest envelope a slot carries (default 4 KiB: the 1 KiB and 4 KiB buckets). */
  slotCapacity: number;
  /** Slots in every batch, real or cover (default 16). */
  slotsPerBatch: number;
  /** Most relays an envelope may cross (default 3). */
  maxHops: number;
  /** Delivery retries (default 10 attempts, 500 ms doubling to at most 60 s, with jitter). */
  delivery: DeliveryOptions;
  /** Largest inbound batch accepted (default 8 MiB). */
  maxBatchBytes: number;
  /** Days a received batch id is remembered to drop duplicates (default 7). */
  batchIdDays: number;
}

export const DEFAULT_FEDERATION: FederationConfig = {
  policy: "allowlist",
  peers: [],
  slotCapacity: 4096,
  slotsPerBatch: 16,
  maxHops: 3,
  delivery: { maxAttempts: 10, baseDelayMs: 500, maxDelayMs: 60_000 },
  maxBatchBytes: 8 * 1024 * 1024,
  batchIdDays: 7,
};

/** Everything that shapes a relay's behaviour; built once at the entry point. */
export interface RelayConfig {
  /** Public origin clients use, e.g. "https://relay.example". Named in the descriptor. */
  origin: string;
  /** Bucket sizes for bodies, stored items and payloads. Default: 1 KiB .. 1 MiB, powers of 4. */
  padding: PaddingPolicy;
  /** Round length in ms (default 1000). 0 closes a round after every deposit (development). */
  roundIntervalMs: number;
  /** Per-inbox limits on stored plus pending items (default 10,000 items, 64 MiB). */
  quota: { maxItems: number; maxBytes: number };
  /** Days an item or idle inbox is kept (default 7); expiry is by whole UTC days. */
  retentionDays: number;
  /** Most items one fetch returns (default 256). */
  maxFetchItems: number;
  /** Age at which the relay rotates its HPKE key by itself (default 24 h). */
  keyRotationMs: number;
  /** How long a rotated-out HPKE key keeps opening requests (default 24 h). */
  keyOverlapMs: number;
  /** Descriptor validity in seconds (default 24 h). */
  descriptorLifetimeSeconds: number;
  /** Cache-Control max-age of the descriptor and key list, drawn uniformly from this range (s). */
  descriptorMaxAge: { min: number; max: number };
  /** How often expiry, key reload, rotation and pruning run, in ms (default 60 s). */
  maintenanceIntervalMs: number;
  /** Federation with other relays (default: none). */
  federation: FederationConfig;
}

export const DEFAULT_RELAY_CONFIG: Omit<RelayConfig, "origin"> = {
  padding: new PaddingPolicy(),
  roundIntervalMs: 1000,
  quota: { maxItems: 10_000, maxBytes: 64 * 1024 * 1024 },
  retentionDays: 7,
  maxFetchItems: 256,
  keyRotationMs: 24 * 3600 * 1000,
  keyOverlapMs: 24 * 3600 * 1000,
  descriptorLifetimeSeconds: 24 * 3600,
  descriptorMaxAge: { min: 300, max: 900 },
  maintenanceIntervalMs: 60_000,
  federation: DEFAULT_FEDERATION,
};

function positiveInt(name: string, value: number, allowZero = false): void {
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new ConfigError(`${name} must be a ${allowZero ? "non-negative" : "positive"} integer`);
  }
}

/** What callers give `relayConfig`: any setting, federation settings one by one. */
export type RelayConfigInput = Partial<Omit<RelayConfig, "federation">> &
  Pick<RelayConfig, "origin"> & { federation?: Partial<FederationConfig> };

/**
 * Fills in defaults and validates.
 *
 * @example const config = relayConfig({ origin: "http://127.0.0.1:8787", roundIntervalMs: 0 });
 */
export function relayConfig(options: RelayConfigInput): RelayConfig {
  const { federation, ...rest } = options;
  const config: RelayConfig = {
    ...DEFAULT_RELAY_CONFIG,
    ...rest,
    federation: { ...DEFAULT_FEDERATION, ...federation },
  };
  config.origin = normalizeOrigin(config.origin);
  positiveInt("roundIntervalMs", config.roundIntervalMs, true);
  positiveInt("quota.maxItems", config.quota.maxItems);
  positiveInt("quota.maxBytes", config.quota.maxBytes);
  positiveInt("retentionDays", config.retentionDays);
  positiveInt("maxFetchItems", config.maxFetchItems);
  if (config.maxFetchItems > 0xffff) throw new ConfigError("maxFetchItems must be at most 65535");
  positiveInt("keyRotationMs", config.keyRotationMs);
  positiveInt("keyOverlapMs", config.keyOverlapMs, true);
  positiveInt("descriptorLifetimeSeconds", config.descriptorLifetimeSeconds);
  positiveInt("maintenanceIntervalMs", config.maintenanceIntervalMs);
  // Other instances must reload the key ring well within a retired key's deletion grace.
  if (config.maintenanceIntervalMs > 5 * 60_000) {
    throw new ConfigError("maintenanceIntervalMs must be at most 5 minutes");
  }
  const f = config.federation;
  f.peers = [...new Set(f.peers.map((p) => normalizeOrigin(p)))];
  positiveInt("federation.slotCapacity", f.slotCapacity);
  positiveInt("federation.slotsPerBatch", f.slotsPerBatch);
  positiveInt("federation.maxHops", f.maxHops);
  positiveInt("federation.maxBatchBytes", f.maxBatchBytes);
  positiveInt("federation.batchIdDays", f.batchIdDays);
  positiveInt("federation.delivery.maxAttempts", f.delivery.maxAttempts);
  positiveInt("federation.delivery.baseDelayMs", f.delivery.baseDelayMs);
  positiveInt("federation.delivery.maxDelayMs", f.delivery.maxDelayMs);
  if (f.maxHops > 255) throw new ConfigError("federation.maxHops must be at most 255");
  if (!config.padding.isBucket(f.slotCapacity)) {
    throw new ConfigError("federation.slotCapacity must be one of the padding buckets");
  }
  config.federation = f;
  const { min, max } = config.descriptorMaxAge;
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max < min) {
    throw new ConfigError("descriptorMaxAge needs 0 <= min <= max");
  }
  return config;
}
