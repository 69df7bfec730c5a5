/**
 * Peers' descriptors: fetched from their /.well-known/shroud, verified (signature, origin,
 * freshness), cached (a bounded number, each until it goes stale) and refreshed on demand. The relay uses them to seal
 * cover, verify batches and answer clients that ask for a peer's descriptor through it.
 */
import { normalizeOrigin, verifyDescriptor, type Descriptor } from "../protocol/descriptor.js";
import { DescriptorError, TransportError } from "../protocol/errors.js";
import { readLimited } from "./read-limited.js";
import type { Clock } from "./ports/clock.js";
import type { FederationConfig } from "./relay-config.js";

/** Longest a verified descriptor is used before it is fetched again. */
const MAX_CACHE_MS = 10 * 60_000;
const FETCH_TIMEOUT_MS = 10_000;
/** A descriptor with many keys is a few KiB; anything near this is not one. */
const MAX_DESCRIPTOR_BYTES = 64 * 1024;
/** Least time between two refreshes of one peer's descriptor asked for by `refresh`. */
export const REFRESH_INTERVAL_MS = 10_000;
/**
 * Descriptor fetches of peers other than configured ones running at once; more are refused at
 * once, so hosts that never answer cannot pile up requests (configured peers always go ahead).
 */
export const MAX_FETCHES_IN_FLIGHT = 32;

export interface PeerDescriptor {
  bytes: Uint8Array;
  descriptor: Descriptor;
}

interface Entry {
  value: PeerDescriptor;
  /** Used without fetching again until then (ms). */
  until: number;
  /** When `refresh` last fetched it (ms), to space refreshes. */
  refreshedAt: number;
}

/**
 * Whether federation policy lets a relay talk to `origin` (as next hop or sender): any relay
 * under "open", only the configured peers under "allowlist".
 *
 * @example federationAllows(config.federation, "https://b.example") // true if b is a peer
 */
export function federationAllows(federation: FederationConfig, origin: string): boolean {
  if (federation.policy === "open") return true;
  try {
    return federation.peers.includes(normalizeOrigin(origin));
  } catch {
    return false;
  }
}

/**
 * The cache holds at most `peerCacheSize` descriptors: the least recently used is dropped first,
 * but never a configured peer's (there are few, and theirs pin the peers' signing keys), and a
 * descriptor past its expiry is dropped when next looked at. A dropped descriptor's signing key
 * is no longer pinned: the next one fetched for that origin is trusted on first use again.
 *
 * @example const peer = await directory.get("https://b.example");
 */
export class PeerDirectory {
  /** origin -> entry, least recently used first. */
  readonly #cache = new Map<string, Entry>();
  readonly #inFlight = new Map<string, Promise<PeerDescriptor>>();

  constructor(
    private readonly federation: FederationConfig,
    private readonly clock: Clock,
    private readonly http: typeof fetch,
  ) {}

  /** Whether federation policy lets this relay talk to `origin` (as next hop or sender). */
  allows(origin: string): boolean {
    return federationAllows(this.federation, origin);
  }

  /** Peers named in the configuration: the links that carry a batch every round. */
  get configuredPeers(): readonly string[] {
    return this.federation.peers;
  }

  /** Whether `origin` (normalised) is a configured peer. */
  isConfigured(origin: string): boolean {
    return this.federation.peers.includes(origin);
  }

  /** Descriptors cached now. */
  get size(): number {
    return this.#cache.size;
  }

  /** The cached descriptor of a peer, if any (even a stale one), without fetching. */
  cached(origin: string): PeerDescriptor | undefined {
    return this.#entry(origin)?.value;
  }

  /** A verified, fresh descriptor of `origin`; fetched when not cached or stale. */
  get(origin: string, refresh = false): Promise<PeerDescriptor> {
    const key = normalizeOrigin(origin);
    const hit = this.#entry(key);
    if (!refresh && hit && hit.until > this.clock.now()) return Promise.resolve(hit.value);
    let pending = this.#inFlight.get(key);
    if (!pending) {
      const others = [...this.#inFlight.keys()].filter((k) => !this.isConfigured(k)).length;
      if (!this.isConfigured(key) && others >= MAX_FETCHES_IN_FLIGHT) {
        return Promise.reject(new TransportError("too many peer descriptor fetches"));
      }
      pending = this.#fetch(key).finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, pending);
    }
    return pending;
  }

  /**
   * Fetches `origin`'s descriptor again, e.g. after it refused a key this relay handed out, but
   * at most once per REFRESH_INTERVAL_MS per peer (otherwise the cached one is returned).
   */
  refresh(origin: string): Promise<PeerDescriptor> {
    const key = normalizeOrigin(origin);
    const hit = this.#entry(key);
    const now = this.clock.now();
    if (hit && now - hit.refreshedAt < REFRESH_INTERVAL_MS) return Promise.resolve(hit.value);
    if (hit) hit.refreshedAt = now;
    return this.get(key, true);
  }

  /** The entry of `origin`, marked as just used; an expired one is dropped instead. */
  #entry(origin: string): Entry | undefined {
    const entry = this.#cache.get(origin);
    if (!entry) return undefined;
    this.#cache.delete(origin);
    const expired = entry.value.descriptor.expiresAt * 1000 <= this.clock.now();
    if (expired && !this.isConfigured(origin)) return undefined;
    this.#cache.set(origin, entry);
    return entry;
  }

  #store(origin: string, entry: Entry): void {
    entry.refreshedAt = this.#cache.get(origin)?.refreshedAt ?? entry.refreshedAt;
    this.#cache.delete(origin);
    this.#cache.set(origin, entry);
    if (this.#cache.size <= this.federation.peerCacheSize) return;
    for (const key of this.#cache.keys()) {
      if (this.#cache.size <= this.federation.peerCacheSize) break;
      if (!this.isConfigured(key)) this.#cache.delete(key);
    }
  }

  async #fetch(origin: string): Promise<PeerDescriptor> {
    let response: Response;
    try {
      response = await this.http(new URL("/.well-known/shroud", origin), {
        redirect: "manual",
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      });
    } catch (cause) {
      throw new TransportError("peer unreachable", { cause });
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      throw new TransportError(`peer descriptor answered HTTP ${response.status}`);
    }
    const bytes = await readLimited(response, MAX_DESCRIPTOR_BYTES);
    if (!bytes) throw new DescriptorError("peer descriptor too large");
    const now = this.clock.now();
    // The first verified signing key is pinned: a later descriptor must be signed by it too.
    const pinned = this.#cache.get(origin)?.value.descriptor.signingKey;
    let descriptor: Descriptor;
    try {
      descriptor = await verifyDescriptor(bytes, {
        origin,
        now,
        ...(pinned ? { pinnedSigningKey: pinned } : {}),
      });
    } catch (error) {
      if (error instanceof DescriptorError) throw error;
      throw new DescriptorError("peer descriptor is malformed");
    }
    const value = { bytes, descriptor };
    const until = Math.min(descriptor.expiresAt * 1000, now + MAX_CACHE_MS);
    this.#store(origin, { value, until, refreshedAt: -Infinity });
    return value;
  }
}
