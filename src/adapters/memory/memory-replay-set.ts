import type { ReplaySet } from "../../relay/ports/replay-set.js";

/** A record as a latin1 string: one character per byte, whole (no truncation). */
function recordKey(value: Uint8Array): string {
  let out = "";
  for (let i = 0; i < value.length; i++) out += String.fromCharCode(value[i]!);
  return out;
}

/**
 * The embedded replay set: every record whole, kept per tag until the tag is forgotten (an HPKE
 * key's envelopes until the key is deleted; a day's batch ids until they are too old). Not
 * durable: the relay renews its HPKE keys at start because of it.
 *
 * @example const replay = new MemoryReplaySet();
 */
export class MemoryReplaySet implements ReplaySet {
  readonly durable = false;
  readonly #byKey = new Map<string, Set<string>>();

  async has(keyTag: string, value: Uint8Array): Promise<boolean> {
    return this.#byKey.get(keyTag)?.has(recordKey(value)) ?? false;
  }

  async add(keyTag: string, value: Uint8Array): Promise<boolean> {
    let seen = this.#byKey.get(keyTag);
    if (!seen) {
      seen = new Set();
      this.#byKey.set(keyTag, seen);
    }
    const key = recordKey(value);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  }

  async forget(keyTag: string): Promise<void> {
    this.#byKey.delete(keyTag);
  }

  /** Number of remembered records, for tests. */
  size(): number {
    let n = 0;
    for (const s of this.#byKey.values()) n += s.size;
    return n;
  }
}
