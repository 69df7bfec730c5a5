import { corsConfig, DEFAULT_CORS, type CorsConfig } from "./cors.js";
import { ConfigError } from "../protocol/errors.js";
import { normalizeOrigin } from "../protocol/descriptor.js";
import { SLOT_OVERHEAD } from "../protocol/federation-batch.js";
import { PaddingPolicy } from "../protocol/padding-policy.js";
import { MAX_TOKEN_BATCH } from "../protocol/private-token.js";
import { DEFAULT_TOKEN_KEY_LIFETIME_MS } from "./token-keys.js";
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
  /**
   * Batches every link carries each round, idle or busy (default 1): a link forwards at most
   * `batchesPerRound × slotsPerBatch` envelopes a round (16 a second with the defaults); more
   * wait in the queue for later rounds. Raise it for a busier link; its volume stays fixed.
   */
  batchesPerRound: number;
  /** Most relays an envelope may cross (default 3). */
  maxHops: number;
  /** Delivery retries (default 10 attempts, 500 ms doubling to at most 60 s, with jitter). */
  delivery: DeliveryOptions;
  /**
   * Largest inbound batch accepted, checked against the declared length before the body is
   * read (default: the largest batch of this relay's own shape, `batchBytes(slotsPerBatch,
   * slotCapacity)`, about 68 KiB; peers must share the shape or raise this).
   */
  maxBatchBytes: number;
  /** Days a received batch id is remembered to drop duplicates (default 7). */
  batchIdDays: number;
  /**
   * Under "open": most next hops that are not configured peers taking forwards within one
   * round (at least a second); each such link costs a full batch per round (default 64).
   */
  maxDynamicPeers: number;
  /**
   * Under "open": how long a link to a relay that is not a configured peer keeps its
   * `batchesPerRound` batches a round after the last round it had traffic (ms, default 10
   * minutes; 0: batches only in rounds with traffic). At most `maxDynamicPeers` such links are
   * kept, the one idle longest dropped first.
   */
  dynamicLinkMs: number;
  /**
   * When this relay, as an ingress, answers its clients' forward, proxy and peer_descriptor
   * requests. "round" (default): proxied requests are held and sent to their next hops
   * together, in random order, at the next multiple of `roundIntervalMs` on the wall clock; the
   * answers to all of a round's requests for one next hop, forwards and descriptors included,
   * go back together once that hop has answered all of its proxied ones. "immediate": a
   * proxied request leaves at once and every answer goes back as soon as it is known. With
   * `roundIntervalMs` 0 it is always immediate.
   */
  ingressRelease: "round" | "immediate";
  /** Peers' descriptors cached at most, least recently used dropped first (default 1024). */
  peerCacheSize: number;
  /** Deadline of a proxied request: connecting, the answer's headers and its body (default 15 s). */
  proxyTimeoutMs: number;
  /** Dead letters kept at most; beyond it the oldest is dropped (default 1024). */
  maxDeadLetters: number;
}

/**
 * Most bytes a signed batch adds around its slots: the body's length (a varint of at most 4
 * bytes), version, two origins of at most 2048 bytes with their lengths, batch id, slot
 * capacity, the slots' length, the signature.
 */
const BATCH_FRAMING = 4 + 1 + 2 * (2 + 2048) + 16 + 4 + 4 + 64;

/**
 * The largest signed batch of `slotsPerBatch` slots of `slotCapacity` bytes.
 *
 * @example batchBytes(16, 4096) // 69_809: sixteen 4 KiB slots and their framing
 */
export function batchBytes(slotsPerBatch: number, slotCapacity: number): number {
  return slotsPerBatch * (SLOT_OVERHEAD + slotCapacity) + BATCH_FRAMING;
}

/** Most batches a link may carry per round (each is signed and queued on its own). */
export const MAX_BATCHES_PER_ROUND = 1000;

export const DEFAULT_FEDERATION: FederationConfig = {
  policy: "allowlist",
  peers: [],
  slotCapacity: 4096,
  slotsPerBatch: 16,
  batchesPerRound: 1,
  maxHops: 3,
  delivery: { maxAttempts: 10, baseDelayMs: 500, maxDelayMs: 60_000 },
  maxBatchBytes: batchBytes(16, 4096),
  batchIdDays: 7,
  maxDynamicPeers: 64,
  dynamicLinkMs: 600_000,
  ingressRelease: "round",
  peerCacheSize: 1024,
  proxyTimeoutMs: 15_000,
  maxDeadLetters: 1024,
};

/** Privacy Pass: whether the relay issues tokens, whose it takes, and when it wants one. */
export interface TokenConfig {
  /**
   * When deposits and forwards must carry a token: "off" (default: never, tokens are ignored),
   * "always", or "allowance" (the first `freePerMinute` tokenless ones in each minute go
   * through; beyond that, under load, a token is required). The minute's count is kept by each
   * relay process (each isolate on Workers), not shared between them.
   */
  requirement: "off" | "always" | "allowance";
  /** Tokenless deposits and forwards per minute under "allowance" (default 600). */
  freePerMinute: number;
  /** Issuer origins whose tokens this relay takes besides its own (normalised; default none). */
  accept: string[];
  /** Issuing to the clients its attester vouches for; undefined (default): not an issuer. */
  issue?: {
    /** Tokens one attested client gets per period (default 1,000 a day). */
    perPeriod: number;
    periodMs: number;
    /** Most tokens one request asks for (default 100; at most MAX_TOKEN_BATCH). */
    maxBatch: number;
    /** An issuer key issues for the first half of this, then only redeems (default 14 days). */
    keyLifetimeMs: number;
  };
}

export const DEFAULT_TOKENS: TokenConfig = { requirement: "off", freePerMinute: 600, accept: [] };

export const DEFAULT_TOKEN_ISSUE: NonNullable<TokenConfig["issue"]> = {
  perPeriod: 1000,
  periodMs: 24 * 3600_000,
  maxBatch: 100,
  keyLifetimeMs: DEFAULT_TOKEN_KEY_LIFETIME_MS,
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
  /** Web origins that may use the client endpoints from a browser (default: any; cors.ts). */
  cors: CorsConfig;
  /** Privacy Pass tokens (default: none issued, none asked for). */
  tokens: TokenConfig;
}

/** The settings `relayConfig` fills in for any left out. */
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
  cors: DEFAULT_CORS,
  tokens: DEFAULT_TOKENS,
};

function positiveInt(name: string, value: number, allowZero = false): void {
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new ConfigError(`${name} must be a ${allowZero ? "non-negative" : "positive"} integer`);
  }
}

function tokenConfig(tokens: TokenConfig): TokenConfig {
  const t = { ...DEFAULT_TOKENS, ...tokens };
  if (!["off", "always", "allowance"].includes(t.requirement)) {
    throw new ConfigError('tokens.requirement must be "off", "always" or "allowance"');
  }
  positiveInt("tokens.freePerMinute", t.freePerMinute, true);
  t.accept = [...new Set(t.accept.map((o) => normalizeOrigin(o)))];
  if (t.issue) {
    t.issue = { ...DEFAULT_TOKEN_ISSUE, ...t.issue };
    positiveInt("tokens.issue.perPeriod", t.issue.perPeriod);
    positiveInt("tokens.issue.periodMs", t.issue.periodMs);
    positiveInt("tokens.issue.keyLifetimeMs", t.issue.keyLifetimeMs);
    positiveInt("tokens.issue.maxBatch", t.issue.maxBatch);
    if (t.issue.maxBatch > MAX_TOKEN_BATCH) {
      throw new ConfigError(`tokens.issue.maxBatch must be at most ${MAX_TOKEN_BATCH}`);
    }
  }
  return t;
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
    federation: {
      ...DEFAULT_FEDERATION,
      ...federation,
      // A batch limit nobody set follows the shape this relay's batches have.
      maxBatchBytes:
        federation?.maxBatchBytes ??
        batchBytes(
          federation?.slotsPerBatch ?? DEFAULT_FEDERATION.slotsPerBatch,
          federation?.slotCapacity ?? DEFAULT_FEDERATION.slotCapacity,
        ),
    },
  };
  config.origin = normalizeOrigin(config.origin);
  config.cors = corsConfig(config.cors);
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
  positiveInt("federation.batchesPerRound", f.batchesPerRound);
  if (f.batchesPerRound > MAX_BATCHES_PER_ROUND) {
    throw new ConfigError(`federation.batchesPerRound must be at most ${MAX_BATCHES_PER_ROUND}`);
  }
  positiveInt("federation.maxHops", f.maxHops);
  positiveInt("federation.maxBatchBytes", f.maxBatchBytes);
  positiveInt("federation.batchIdDays", f.batchIdDays);
  positiveInt("federation.maxDynamicPeers", f.maxDynamicPeers, true);
  positiveInt("federation.dynamicLinkMs", f.dynamicLinkMs, true);
  if (f.ingressRelease !== "round" && f.ingressRelease !== "immediate") {
    throw new ConfigError('federation.ingressRelease must be "round" or "immediate"');
  }
  positiveInt("federation.peerCacheSize", f.peerCacheSize);
  positiveInt("federation.proxyTimeoutMs", f.proxyTimeoutMs);
  positiveInt("federation.maxDeadLetters", f.maxDeadLetters);
  positiveInt("federation.delivery.maxAttempts", f.delivery.maxAttempts);
  positiveInt("federation.delivery.baseDelayMs", f.delivery.baseDelayMs);
  positiveInt("federation.delivery.maxDelayMs", f.delivery.maxDelayMs);
  if (f.maxHops > 255) throw new ConfigError("federation.maxHops must be at most 255");
  if (!config.padding.isBucket(f.slotCapacity)) {
    throw new ConfigError("federation.slotCapacity must be one of the padding buckets");
  }
  config.federation = f;
  config.tokens = tokenConfig(config.tokens);
  const { min, max } = config.descriptorMaxAge;
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max < min) {
    throw new ConfigError("descriptorMaxAge needs 0 <= min <= max");
  }
  return config;
}
