/**
 * Replay set port: records kept per tag until the tag is forgotten. The relay records the
 * encapsulated key (enc) of every request opened under an HPKE key (tag: the key), and the ids
 * of federation batches it accepted (tag: the day). Records are compared whole, whatever their
 * length.
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
