/**
 * A key ring encrypted at rest under a master key, for key stores whose storage the operator
 * shares with others (Redis, Durable Objects): a copy of the storage alone does not reveal the
 * relay's private keys.
 *
 *   sealed = version (0x01) || iv[12] || AES-256-GCM(master key, iv,
 *            aad = "shroud/v1 key ring", key ring JSON)
 */
import { concat, fromBase64Url, randomBytes, utf8 } from "../protocol/bytes.js";
import { ConfigError } from "../protocol/errors.js";
import { Labels } from "../protocol/labels.js";
import { SecretBytes } from "../protocol/secret-bytes.js";
import { keyRingFromJson, keyRingToJson } from "./key-ring-json.js";
import type { StoredKeyRing } from "./ports/key-store.js";

const VERSION = 1;
const IV_LENGTH = 12;

/**
 * A master key as operators give it (SHROUD_MASTER_KEY): 32 bytes in base64 or base64url,
 * padding optional, surrounding space ignored. Undefined for anything else.
 *
 * @example decodeMasterKey(process.env.SHROUD_MASTER_KEY ?? "") // SecretBytes or undefined
 */
export function decodeMasterKey(text: string): SecretBytes | undefined {
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(text.trim().replace(/\+/g, "-").replace(/\//g, "_"));
  } catch {
    return undefined;
  }
  return bytes.length === 32 ? new SecretBytes(bytes) : undefined;
}

/**
 * @example
 * const seal = new KeyRingSeal(masterKey, "Redis");
 * const ring = await seal.open(await seal.seal(stored));
 */
export class KeyRingSeal {
  readonly #key: Promise<CryptoKey>;

  /** `where` names the storage in error messages ("the key ring in Redis is corrupt"). */
  constructor(
    masterKey: SecretBytes,
    private readonly where: string,
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

  async seal(ring: StoredKeyRing): Promise<Uint8Array<ArrayBuffer>> {
    const iv = randomBytes(IV_LENGTH);
    const ct = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: utf8(Labels.keyRingAtRest) },
      await this.#key,
      utf8(keyRingToJson(ring)),
    );
    return concat(new Uint8Array([VERSION]), iv, new Uint8Array(ct));
  }

  async open(value: Uint8Array): Promise<StoredKeyRing> {
    if (value.length < 1 + IV_LENGTH + 16 || value[0] !== VERSION) {
      throw new ConfigError(`the key ring in ${this.where} is not in a known format`);
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
      throw new ConfigError(`cannot decrypt the key ring in ${this.where}: wrong master key?`);
    }
    try {
      return keyRingFromJson(new TextDecoder().decode(plaintext));
    } catch {
      throw new ConfigError(`the key ring in ${this.where} is corrupt`);
    }
  }
}
