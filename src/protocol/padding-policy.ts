/**
 * Padding: the one place that decides bucket sizes. Every /v1/relay body, stored item and
 * sealed payload is padded to one of these sizes.
 *
 * Padded form (checked strictly on removal, so exactly one content maps to each padded value):
 *
 *   struct {
 *     uint32 content_length;
 *     opaque content[content_length];
 *     uint8 zero[bucket - overhead - 4 - content_length];   // all 0x00
 *   } Padded;
 */
import { DecodeError, TooLargeError, ConfigError } from "./errors.js";

const KIB = 1024;

/** Powers of 4 from 1 KiB to 1 MiB. */
export const DEFAULT_BUCKETS: readonly number[] = [
  KIB,
  4 * KIB,
  16 * KIB,
  64 * KIB,
  256 * KIB,
  1024 * KIB,
];

/** Bytes of the content_length prefix every padded content starts with. */
export const LENGTH_PREFIX = 4;

/**
 * Bucket sizes and the pad/unpad rule.
 *
 * @example
 * const policy = new PaddingPolicy();
 * const padded = policy.pad(content, 55); // padded.length + 55 is a bucket size
 * policy.unpad(padded); // content
 */
export class PaddingPolicy {
  readonly buckets: readonly number[];

  constructor(buckets: readonly number[] = DEFAULT_BUCKETS) {
    if (buckets.length === 0) throw new ConfigError("padding needs at least one bucket");
    for (let i = 0; i < buckets.length; i++) {
      const b = buckets[i]!;
      if (!Number.isInteger(b) || b < 256 || b > 16 * 1024 * 1024) {
        throw new ConfigError("padding buckets must be integers from 256 B to 16 MiB");
      }
      if (i > 0 && b <= buckets[i - 1]!) {
        throw new ConfigError("padding buckets must be strictly increasing");
      }
    }
    this.buckets = Object.freeze([...buckets]);
  }

  /** The largest bucket, which is also the largest body the relay accepts. */
  get largest(): number {
    return this.buckets[this.buckets.length - 1]!;
  }

  /** Whether `length` is exactly one of the buckets. */
  isBucket(length: number): boolean {
    return this.buckets.includes(length);
  }

  /** Smallest bucket of at least `length` bytes; TooLargeError past the largest. */
  bucketFor(length: number): number {
    for (const bucket of this.buckets) if (bucket >= length) return bucket;
    throw new TooLargeError("content exceeds the largest padding bucket");
  }

  /** Largest content that pads into `bucket` with `overhead` bytes added around it later. */
  capacity(bucket: number, overhead = 0): number {
    return bucket - overhead - LENGTH_PREFIX;
  }

  /**
   * Pads content so that `overhead` more bytes (added later, e.g. by encryption) make a bucket.
   * `minBucket` lets a caller ask for a larger bucket than the content needs.
   */
  pad(content: Uint8Array, overhead = 0, minBucket = 0): Uint8Array {
    const bucket = this.bucketFor(Math.max(minBucket, content.length + LENGTH_PREFIX + overhead));
    const out = new Uint8Array(bucket - overhead);
    new DataView(out.buffer).setUint32(0, content.length);
    out.set(content, LENGTH_PREFIX);
    return out;
  }

  /** Removes padding, refusing a bad length or any non-zero padding byte. */
  unpad(padded: Uint8Array): Uint8Array {
    if (padded.length < LENGTH_PREFIX) throw new DecodeError("padding truncated");
    const view = new DataView(padded.buffer, padded.byteOffset, padded.byteLength);
    const length = view.getUint32(0);
    if (length > padded.length - LENGTH_PREFIX) throw new DecodeError("padding length invalid");
    let nonZero = 0;
    for (let i = LENGTH_PREFIX + length; i < padded.length; i++) nonZero |= padded[i]!;
    if (nonZero !== 0) throw new DecodeError("padding not zero");
    return padded.slice(LENGTH_PREFIX, LENGTH_PREFIX + length);
  }
}
