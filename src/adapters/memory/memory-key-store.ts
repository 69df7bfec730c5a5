import type { KeyStore, StoredKeyRing } from "../../relay/ports/key-store.js";

/**
 * Keeps the key ring in memory only: keys change on every start. Useful for tests and
 * throwaway relays; `shroud serve` uses the file key store instead.
 *
 * @example const keys = new MemoryKeyStore();
 */
export class MemoryKeyStore implements KeyStore {
  #ring: StoredKeyRing | undefined;

  async load(): Promise<StoredKeyRing | undefined> {
    return this.#ring;
  }

  async create(ring: StoredKeyRing): Promise<StoredKeyRing> {
    if (!this.#ring) await this.save(ring);
    return this.#ring!;
  }

  async save(ring: StoredKeyRing): Promise<void> {
    this.#ring = { signing: ring.signing, hpke: ring.hpke.map((k) => ({ ...k })) };
  }
}
