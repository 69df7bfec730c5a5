/**
 * Replay set port: the encapsulated keys (enc) of every request opened under a key, kept for
 * that key's lifetime and forgotten when it is deleted.
 */
export interface ReplaySet {
  /** Records `enc` under the key named by `keyTag`; false if it was already recorded. */
  add(keyTag: string, enc: Uint8Array): Promise<boolean>;

  /** Forgets everything recorded under a retired key. */
  forget(keyTag: string): Promise<void>;
}
