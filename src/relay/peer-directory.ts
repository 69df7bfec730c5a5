/**
 * Peers' descriptors: fetched from their /.well-known/shroud, verified (signature, origin,
 * freshness), cached until they go stale and refreshed on demand. The relay uses them to seal
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

export interface PeerDescriptor {
  bytes: Uint8Array;
  descriptor: Descriptor;
}

/**
 * @example const peer = await directory.get("https://b.example");
 */
export class PeerDirectory {
  readonly #cache = new Map<string, { value: PeerDescriptor; until: number }>();
  readonly #inFlight = new Map<string, Promise<PeerDescriptor>>();

  constructor(
    private readonly federation: FederationConfig,
    private readonly clock: Clock,
    private readonly http: typeof fetch,
  ) {}

  /** Whether federation policy lets this relay talk to `origin` (as next hop or sender). */
  allows(origin: string): boolean {
    if (this.federation.policy === "open") return true;
    try {
      return this.federation.peers.includes(normalizeOrigin(origin));
    } catch {
      return false;
    }
  }

  /** Peers named in the configuration: the links that carry a batch every round. */
  get configuredPeers(): readonly string[] {
    return this.federation.peers;
  }

  /** The cached descriptor of a peer, if any (even a stale one), without fetching. */
  cached(origin: string): PeerDescriptor | undefined {
    return this.#cache.get(origin)?.value;
  }

  /** A verified, fresh descriptor of `origin`; fetched when not cached or stale. */
  get(origin: string, refresh = false): Promise<PeerDescriptor> {
    const key = normalizeOrigin(origin);
    const hit = this.#cache.get(key);
    if (!refresh && hit && hit.until > this.clock.now()) return Promise.resolve(hit.value);
    let pending = this.#inFlight.get(key);
    if (!pending) {
      pending = this.#fetch(key).finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, pending);
    }
    return pending;
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
    this.#cache.set(origin, { value, until });
    return value;
  }
}
