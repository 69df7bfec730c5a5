/**
 * The key ring on Redis, shared by every relay instance so any of them opens any request. At
 * rest it is encrypted with AES-256-GCM under a master key given to each process (for example
 * SHROUD_MASTER_KEY), so a copy of Redis alone does not reveal the relay's private keys.
 *
 *   stored value = version (0x01) || iv[12] || AES-256-GCM(master key, iv,
 *                  aad = "shroud/v1 key ring", key ring JSON)
 */
import type { Redis } from "ioredis";
import { concat, randomBytes, utf8 } from "../../protocol/bytes.js";
import { ConfigError } from "../../protocol/errors.js";
import { Labels } from "../../protocol/labels.js";
import type { SecretBytes } from "../../protocol/secret-bytes.js";
import { keyRingFromJson, keyRingToJson } from "../../relay/key-ring-json.js";
import type { KeyStore, StoredKeyRing } from "../../relay/ports/key-store.js";
import { buf } from "./redis-connection.js";
import type { RedisKeys } from "./redis-keys.js";

const VERSION = 1;
const IV_LENGTH = 12;

/**
 * @example const keys = new RedisKeyStore(redis, new RedisKeys(), masterKey);
 */
export class RedisKeyStore implements KeyStore {
  #key: Promise<CryptoKey>;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    masterKey: SecretBytes,
  ) {
    if (masterKey.length !== 32) throw new ConfigError("the master key must be 32 bytes");
    this.#key = crypto.subtle.importKey(
      "raw",
      new Uint8Array(masterKey.expose()),
      "AES-GCM",
      false,
      ["encrypt", "decrypt"],
    );
  }

  async #seal(ring: StoredKeyRing): Promise<Buffer> {
    const iv = randomBytes(IV_LENGTH);
    const ct = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: utf8(Labels.keyRingAtRest) },
      await this.#key,
      utf8(keyRingToJson(ring)),
    );
    return buf(concat(new Uint8Array([VERSION]), iv, new Uint8Array(ct)));
  }

  async #open(value: Buffer): Promise<StoredKeyRing> {
    if (value.length < 1 + IV_LENGTH + 16 || value[0] !== VERSION) {
      throw new ConfigError("the key ring in Redis is not in a known format");
    }
    let plaintext: ArrayBuffer;
    try {
      plaintext = await crypto.subtle.decrypt(
        {
          name: "AES-GCM",
          iv: new Uint8Array(value.subarray(1, 1 + IV_LENGTH)),
          additionalData: utf8(Labels.keyRingAtRest),
        },
        await this.#key,
        new Uint8Array(value.subarray(1 + IV_LENGTH)),
      );
    } catch {
      throw new ConfigError("cannot decrypt the key ring in Redis: wrong master key?");
    }
    try {
      return keyRingFromJson(new TextDecoder().decode(plaintext));
    } catch {
      throw new ConfigError("the key ring in Redis is corrupt");
    }
  }

  async load(): Promise<StoredKeyRing | undefined> {
    const value = await this.redis.getBuffer(this.keys.keyRing);
    return value ? this.#open(value) : undefined;
  }

  async create(ring: StoredKeyRing): Promise<StoredKeyRing> {
    const set = await this.redis.set(this.keys.keyRing, await this.#seal(ring), "NX");
    if (set === "OK") return ring;
    const stored = await this.load();
    if (!stored) throw new ConfigError("the key ring in Redis vanished while it was created");
    return stored;
  }

  async save(ring: StoredKeyRing): Promise<void> {
    await this.redis.set(this.keys.keyRing, await this.#seal(ring));
  }
}
