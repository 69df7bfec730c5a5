import type { SecretBytes } from "../../../protocol/secret-bytes.js";
import { KeyRingSeal } from "../../../relay/key-ring-seal.js";
import type { KeyStore, StoredKeyRing } from "../../../relay/ports/key-store.js";
import type { KeyRingObject } from "../objects/key-ring-object.js";

/**
 * The key store on Workers: the ring sealed under the master key (a Worker secret) in the
 * relay's key ring object. Every isolate and the round object read the same ring.
 *
 * @example const keys = new DurableKeyStore(() => keyRingStub, config.masterKey);
 */
export class DurableKeyStore implements KeyStore {
  readonly #seal: KeyRingSeal;

  constructor(
    private readonly object: () => DurableObjectStub<KeyRingObject>,
    masterKey: SecretBytes,
  ) {
    this.#seal = new KeyRingSeal(masterKey, "the key ring object");
  }

  async load(): Promise<StoredKeyRing | undefined> {
    const sealed = await this.object().get();
    return sealed ? this.#seal.open(sealed) : undefined;
  }

  async create(ring: StoredKeyRing): Promise<StoredKeyRing> {
    return this.#seal.open(await this.object().create(await this.#seal.seal(ring)));
  }

  async save(ring: StoredKeyRing): Promise<void> {
    await this.object().put(await this.#seal.seal(ring));
  }
}
