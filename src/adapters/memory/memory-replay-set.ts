import { CapacityError } from "../../relay/errors.js";
import type { ReplaySet } from "../../relay/ports/replay-set.js";

/**
 * Records the embedded replay set holds at most by default: about 90 MB of heap at the measured
 * ~83 B per 32-byte record, well inside Node's default heap.
 */
export const DEFAULT_MAX_REPLAY_RECORDS = 1_000_000;

/** Bytes turned into characters per String.fromCharCode call (well under the argument limit). */
const CHUNK = 4096;

/**
 * A record as one flat latin1 string (one character per byte, whole). Built with fromCharCode
 * over whole chunks and joined: a string appended to a byte at a time stays a chain of ~32-byte
 * pieces inside a Set, ~700 B per 32-byte record instead of ~83 B.
 */
function recordKey(value: Uint8Array): string {
  if (value.length <= CHUNK) return String.fromCharCode.apply(null, value as unknown as number[]);
  const parts: string[] = [];
  for (let i = 0; i < value.length; i += CHUNK) {
    parts.push(
      String.fromCharCode.apply(null, value.subarray(i, i + CHUNK) as unknown as number[]),
    );
  }
  return parts.join("");
}

/**
 * The embedded replay set: every record whole, kept per tag until the tag is forgotten (an HPKE
 * key's envelopes until the key is deleted; a day's batch ids until they are too old). Not
 * durable: the relay renews its HPKE keys at start because of it.
 *
 * Bounded: once `maxRecords` are held, `add` of a new record throws CapacityError (the request
 * is refused, HTTP 503) until a tag is forgotten. Forgetting records early instead would let
 * their requests be replayed; growing without bound would end in an out-of-memory crash.
 *
 * @example const replay = new MemoryReplaySet({ maxRecords: 100_000 });
 */
export class MemoryReplaySet implements ReplaySet {
  readonly durable = false;
  readonly #byKey = new Map<string, Set<string>>();
  readonly #maxRecords: number;
  #count = 0;

  constructor(options: { maxRecords?: number } = {}) {
    const max = options.maxRecords ?? DEFAULT_MAX_REPLAY_RECORDS;
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError("maxRecords must be >= 1");
    this.#maxRecords = max;
  }

  async has(keyTag: string, value: Uint8Array): Promise<boolean> {
    return this.#byKey.get(keyTag)?.has(recordKey(value)) ?? false;
  }

  async add(keyTag: string, value: Uint8Array): Promise<boolean> {
    const key = recordKey(value);
    const seen = this.#byKey.get(keyTag);
    if (seen?.has(key)) return false;
    if (this.#count >= this.#maxRecords) throw new CapacityError();
    if (seen) seen.add(key);
    else this.#byKey.set(keyTag, new Set([key]));
    this.#count++;
    return true;
  }

  async forget(keyTag: string): Promise<void> {
    this.#count -= this.#byKey.get(keyTag)?.size ?? 0;
    this.#byKey.delete(keyTag);
  }

  /** Number of remembered records, for tests. */
  size(): number {
    return this.#count;
  }
}
