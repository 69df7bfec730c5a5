/**
 * Delivery timing shared by every federation queue: retry delays with exponential backoff and
 * jitter from the platform CSPRNG.
 */
import { randomBytes } from "../protocol/bytes.js";
import type { DeliveryOptions } from "./ports/federation-queue.js";

/** How many sent claim ids a queue remembers, so a rebuilt batch is not queued twice. */
export const RECENTLY_SENT = 4096;

/**
 * The delay before attempt `failed + 1`, after `failed` (>= 1) failed attempts:
 * min(maxDelayMs, baseDelayMs * 2^(failed - 1)), scaled by a jitter factor drawn uniformly from
 * [0.5, 1.0] with the platform's cryptographic RNG, so peers' retries do not synchronise and the
 * retry times carry no pattern an observer could match.
 *
 * @example retryDelay(3, { maxAttempts: 8, baseDelayMs: 100, maxDelayMs: 60_000 }) // 200..400
 */
export function retryDelay(failed: number, options: DeliveryOptions): number {
  const nominal = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, failed - 1));
  const [a, b, c, d] = randomBytes(4);
  const unit = (((a! << 24) | (b! << 16) | (c! << 8) | d!) >>> 0) / 2 ** 32;
  return Math.round(nominal * (0.5 + unit / 2));
}
