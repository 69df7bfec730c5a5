import type { ReplaySet } from "../../relay/ports/replay-set.js";

/**
 * The embedded replay set: 16 bytes of each opened request's enc, kept per key until the key is deleted
 * (after its overlap). Not durable: the relay renews its HPKE keys at start because of it.
 *
 * @example const replay = new MemoryReplaySet();
 */
export class MemoryReplaySet implements ReplaySet {
  readonly durable = false;
  readonly #byKey = new Map<string, Set<string>>();

  async has(keyTag: string, enc: Uint8Array): Promise<boolean> {
    return this.#byKey.get(keyTag)?.has(String.fromCharCode(...enc.subarray(0, 16))) ?? false;
  }

  async add(keyTag: string, enc: Uint8Array): Promise<boolean> {
    let seen = this.#byKey.get(keyTag);
    if (!seen) {
      seen = new Set();
      this.#byKey.set(keyTag, seen);
    }
    // 16 bytes as a latin1 string: a collision needs ~2^64 envelopes under one key.
    const value = String.fromCharCode(...enc.subarray(0, 16));
    if (seen.has(value)) return false;
    seen.add(value);
    return true;
  }

  async forget(keyTag: string): Promise<void> {
    this.#byKey.delete(keyTag);
  }

  /** Number of remembered envelopes, for tests. */
  size(): number {
    let n = 0;
    for (const s of this.#byKey.values()) n += s.size;
    return n;
  }
}
