/**
 * Replay set port: the encapsulated keys (enc) of every request opened under a key, kept for
 * that key's lifetime and forgotten when it is deleted.
 */
export interface ReplaySet {
  /**
   * Whether records survive a restart. A relay on a volatile replay set retires the HPKE keys
   * it finds at start, so no request sealed before the restart can be opened (and replayed).
   */
  readonly durable: boolean;

  /** Records `enc` under the key named by `keyTag`; false if it was already recorded. */
  add(keyTag: string, enc: Uint8Array): Promise<boolean>;

  /** Whether `enc` is recorded under `keyTag` (records nothing). */
  has(keyTag: string, enc: Uint8Array): Promise<boolean>;

  /** Forgets everything recorded under a retired key. */
  forget(keyTag: string): Promise<void>;
}
