/**
 * The key ring on Redis, shared by every relay instance so any of them opens any request. At
 * rest it is encrypted under a master key given to each process (for example SHROUD_MASTER_KEY);
 * see key-ring-seal.ts for the format.
 */
import { ConfigError } from "../../protocol/errors.js";
import type { SecretBytes } from "../../protocol/secret-bytes.js";
import { KeyRingSeal } from "../../relay/key-ring-seal.js";
import type { KeyStore, StoredKeyRing } from "../../relay/ports/key-store.js";
import { buf, type RedisClient } from "./redis-connection.js";
import type { RedisKeys } from "./redis-keys.js";

/**
 * @example const keys = new RedisKeyStore(redis, new RedisKeys(), masterKey);
 */
export class RedisKeyStore implements KeyStore {
  readonly #seal: KeyRingSeal;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    masterKey: SecretBytes,
  ) {
    this.#seal = new KeyRingSeal(masterKey, "Redis");
  }

  async #sealed(ring: StoredKeyRing): Promise<Buffer> {
    return buf(await this.#seal.seal(ring));
  }

  async load(): Promise<StoredKeyRing | undefined> {
    const value = await this.redis.getBuffer(this.keys.keyRing);
    return value ? this.#seal.open(value) : undefined;
  }

  async create(ring: StoredKeyRing): Promise<StoredKeyRing> {
    const set = await this.redis.set(this.keys.keyRing, await this.#sealed(ring), "NX");
    if (set === "OK") return ring;
    const stored = await this.load();
    if (!stored) throw new ConfigError("the key ring in Redis vanished while it was created");
    return stored;
  }

  async save(ring: StoredKeyRing): Promise<void> {
    await this.redis.set(this.keys.keyRing, await this.#sealed(ring));
  }
}
