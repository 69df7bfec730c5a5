/**
 * The AEADs of RFC 9180 (AES-128-GCM, ChaCha20-Poly1305) on synchronous node:crypto ciphers, as
 * @hpke/core's `AeadInterface`: one call per seal or open instead of WebCrypto's key import and
 * thread-pool hop, and no pure-JS ChaCha20.
 */
import {
  createCipheriv,
  createDecipheriv,
  type CipherChaCha20Poly1305Types,
  type CipherGCMTypes,
} from "node:crypto";
import type { AeadEncryptionContext, AeadInterface } from "@hpke/core";
import { bytesOf, ownArrayBuffer } from "./byte-views.js";

const TAG_SIZE = 16;

type Cipher = Extract<CipherGCMTypes, "aes-128-gcm"> | CipherChaCha20Poly1305Types;

function cipherFor(name: Cipher, key: Uint8Array, iv: Uint8Array) {
  const options = { authTagLength: TAG_SIZE };
  return name === "aes-128-gcm"
    ? createCipheriv(name, key, iv, options)
    : createCipheriv(name, key, iv, options);
}

function decipherFor(name: Cipher, key: Uint8Array, iv: Uint8Array) {
  const options = { authTagLength: TAG_SIZE };
  return name === "aes-128-gcm"
    ? createDecipheriv(name, key, iv, options)
    : createDecipheriv(name, key, iv, options);
}

class NodeAeadContext implements AeadEncryptionContext {
  readonly #cipher: Cipher;
  readonly #key: Uint8Array;

  constructor(cipher: Cipher, key: Uint8Array) {
    this.#cipher = cipher;
    this.#key = Uint8Array.from(key);
  }

  seal(
    iv: ArrayBufferLike | ArrayBufferView,
    data: ArrayBufferLike | ArrayBufferView,
    aad: ArrayBufferLike | ArrayBufferView,
  ): Promise<ArrayBuffer> {
    const cipher = cipherFor(this.#cipher, this.#key, bytesOf(iv));
    cipher.setAAD(bytesOf(aad), { plaintextLength: bytesOf(data).length });
    const body = cipher.update(bytesOf(data));
    const final = cipher.final();
    return Promise.resolve(ownArrayBuffer(body, final, cipher.getAuthTag()));
  }

  open(
    iv: ArrayBufferLike | ArrayBufferView,
    data: ArrayBufferLike | ArrayBufferView,
    aad: ArrayBufferLike | ArrayBufferView,
  ): Promise<ArrayBuffer> {
    const sealed = bytesOf(data);
    if (sealed.length < TAG_SIZE) return Promise.reject(new Error("ciphertext too short"));
    const body = sealed.subarray(0, sealed.length - TAG_SIZE);
    try {
      const decipher = decipherFor(this.#cipher, this.#key, bytesOf(iv));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_SIZE));
      decipher.setAAD(bytesOf(aad), { plaintextLength: body.length });
      const plain = decipher.update(body);
      return Promise.resolve(ownArrayBuffer(plain, decipher.final()));
    } catch (cause) {
      // node:crypto says "Unsupported state or unable to authenticate data": keep it opaque.
      return Promise.reject(new Error("open failed", { cause }));
    }
  }
}

/**
 * AES-128-GCM (RFC 9180 AEAD id 0x0001).
 *
 * @example
 * const suite = new CipherSuite({ kem, kdf, aead: new NodeAes128Gcm() });
 */
export class NodeAes128Gcm implements AeadInterface {
  readonly id = 0x0001;
  readonly keySize = 16;
  readonly nonceSize = 12;
  readonly tagSize = TAG_SIZE;

  createEncryptionContext(key: ArrayBufferLike | ArrayBufferView): AeadEncryptionContext {
    return new NodeAeadContext("aes-128-gcm", bytesOf(key));
  }
}

/** ChaCha20-Poly1305 (RFC 9180 AEAD id 0x0003). */
export class NodeChacha20Poly1305 implements AeadInterface {
  readonly id = 0x0003;
  readonly keySize = 32;
  readonly nonceSize = 12;
  readonly tagSize = TAG_SIZE;

  createEncryptionContext(key: ArrayBufferLike | ArrayBufferView): AeadEncryptionContext {
    return new NodeAeadContext("chacha20-poly1305", bytesOf(key));
  }
}
