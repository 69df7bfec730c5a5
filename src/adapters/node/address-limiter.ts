/**
 * Per-client-address limits at the Node ingress: a token bucket of requests and a count of open
 * connections for each address key (see client-address.ts). Kept in memory only, in bounded
 * maps: a bucket is dropped once it has refilled (the address sent nothing for burst / rate
 * seconds, so it is as if it had never been seen), a connection count once its last connection
 * closes, and the least recently used address when the map is full.
 */

/** Addresses with a bucket at most; beyond, the least recently used one is forgotten. */
export const DEFAULT_MAX_TRACKED_ADDRESSES = 65_536;

export interface AddressLimiterOptions {
  /** Requests per second an address may keep sending; 0 turns request limiting off. */
  requestsPerSecond: number;
  /** Requests an address may send at once on top of the rate (the bucket's size). */
  requestBurst: number;
  /** Open connections per address; 0 turns connection limiting off. */
  maxConnectionsPerAddress: number;
  /** Bound of the bucket map (default DEFAULT_MAX_TRACKED_ADDRESSES). */
  maxTrackedAddresses?: number;
  /** Milliseconds from a monotonic clock (default performance.now). */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * @example
 * const limiter = new AddressLimiter({ requestsPerSecond: 100, requestBurst: 1000, maxConnectionsPerAddress: 64 });
 * if (!limiter.takeRequest("192.0.2.7")) return tooManyRequests();
 */
export class AddressLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #connections = new Map<string, number>();
  readonly #options: Required<AddressLimiterOptions>;
  readonly #perMs: number;

  constructor(options: AddressLimiterOptions) {
    this.#options = {
      maxTrackedAddresses: DEFAULT_MAX_TRACKED_ADDRESSES,
      now: () => performance.now(),
      ...options,
    };
    this.#perMs = options.requestsPerSecond / 1000;
  }

  /** How long an idle address keeps a bucket (the time a bucket takes to refill), in ms. */
  get windowMs(): number {
    return this.#perMs > 0 ? this.#options.requestBurst / this.#perMs : 0;
  }

  /** Addresses currently held in memory (buckets and connection counts), for tests. */
  get tracked(): number {
    return this.#buckets.size + this.#connections.size;
  }

  #refilled(bucket: Bucket, now: number): number {
    return Math.min(this.#options.requestBurst, bucket.tokens + (now - bucket.at) * this.#perMs);
  }

  /** Takes one request from `key`'s bucket; false when it is empty (answer 429). */
  takeRequest(key: string): boolean {
    if (this.#perMs <= 0) return true;
    const now = this.#options.now();
    const bucket = this.#buckets.get(key);
    const tokens = bucket ? this.#refilled(bucket, now) : this.#options.requestBurst;
    // Re-inserted on every use, so the map's first entries are the least recently used.
    this.#buckets.delete(key);
    this.#buckets.set(key, { tokens: tokens >= 1 ? tokens - 1 : tokens, at: now });
    this.#trim(now);
    return tokens >= 1;
  }

  /** Counts a new connection from `key`; false when the address already has the most allowed. */
  openConnection(key: string): boolean {
    const max = this.#options.maxConnectionsPerAddress;
    if (max <= 0) return true;
    const open = this.#connections.get(key) ?? 0;
    if (open >= max) return false;
    this.#connections.set(key, open + 1);
    return true;
  }

  /** Forgets one connection counted by openConnection. */
  closeConnection(key: string): void {
    const open = this.#connections.get(key);
    if (open === undefined) return;
    if (open <= 1) this.#connections.delete(key);
    else this.#connections.set(key, open - 1);
  }

  /** Drops every bucket that has refilled: those addresses are not remembered any longer. */
  sweep(): void {
    const now = this.#options.now();
    for (const [key, bucket] of this.#buckets) {
      if (this.#refilled(bucket, now) >= this.#options.requestBurst) this.#buckets.delete(key);
    }
  }

  #trim(now: number): void {
    while (this.#buckets.size > this.#options.maxTrackedAddresses) {
      const oldest = this.#buckets.keys().next().value as string;
      this.#buckets.delete(oldest);
    }
    // The least recently used entries are the likeliest to have refilled: drop a couple per call,
    // so idle addresses leave memory even between sweeps.
    for (let i = 0; i < 2; i++) {
      const first = this.#buckets.entries().next().value;
      if (!first || this.#refilled(first[1], now) < this.#options.requestBurst) break;
      this.#buckets.delete(first[0]);
    }
  }
}
