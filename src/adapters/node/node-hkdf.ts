/**
 * HKDF-SHA256 for HPKE (RFC 9180 §4) on synchronous node:crypto HMAC. @hpke/core's own KDF
 * runs every HMAC through WebCrypto (an importKey and a sign, each a thread-pool round trip);
 * the key schedule of one open is eight of them, which is most of an open's cost on Node.
 */
import { createHmac } from "node:crypto";
import type { KdfInterface } from "@hpke/core";
import { bytesOf, ownArrayBuffer } from "./byte-views.js";

const HASH_SIZE = 32;
const HPKE_V1 = new TextEncoder().encode("HPKE-v1");

/** HMAC-SHA256; an empty key is what HMAC pads it to anyway (a block of zeros). */
export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return createHmac("sha256", key).update(data).digest();
}

/** HKDF-Expand (RFC 5869 §2.3) over a PRK of one hash length. */
function expand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (length > 255 * HASH_SIZE) throw new RangeError("HKDF-Expand length too large");
  const out = new Uint8Array(length);
  let previous: Uint8Array = new Uint8Array(0);
  for (let i = 1, offset = 0; offset < length; i++) {
    previous = createHmac("sha256", prk)
      .update(previous)
      .update(info)
      .update(new Uint8Array([i]))
      .digest();
    out.set(previous.subarray(0, Math.min(HASH_SIZE, length - offset)), offset);
    offset += HASH_SIZE;
  }
  return out;
}

/**
 * The HKDF-SHA256 KDF of RFC 9180 (id 0x0001) as @hpke/core's `KdfInterface`.
 *
 * @example
 * const suite = new CipherSuite({ kem, kdf: new NodeHkdfSha256(), aead });
 */
export class NodeHkdfSha256 implements KdfInterface {
  readonly id = 0x0001;
  readonly hashSize = HASH_SIZE;
  #suiteId: Uint8Array = new Uint8Array(0);

  init(suiteId: Uint8Array): void {
    this.#suiteId = suiteId;
  }

  buildLabeledIkm(label: Uint8Array, ikm: Uint8Array): Uint8Array {
    const out = new Uint8Array(HPKE_V1.length + this.#suiteId.length + label.length + ikm.length);
    out.set(HPKE_V1, 0);
    out.set(this.#suiteId, HPKE_V1.length);
    out.set(label, HPKE_V1.length + this.#suiteId.length);
    out.set(ikm, HPKE_V1.length + this.#suiteId.length + label.length);
    return out;
  }

  buildLabeledInfo(label: Uint8Array, info: Uint8Array, len: number): Uint8Array {
    const prefix = 2 + HPKE_V1.length + this.#suiteId.length;
    const out = new Uint8Array(prefix + label.length + info.length);
    out[0] = len >> 8;
    out[1] = len & 0xff;
    out.set(HPKE_V1, 2);
    out.set(this.#suiteId, 2 + HPKE_V1.length);
    out.set(label, prefix);
    out.set(info, prefix + label.length);
    return out;
  }

  extract(
    salt: ArrayBufferLike | ArrayBufferView,
    ikm: ArrayBufferLike | ArrayBufferView,
  ): Promise<ArrayBuffer> {
    return Promise.resolve(ownArrayBuffer(hmacSha256(bytesOf(salt), bytesOf(ikm))));
  }

  expand(
    prk: ArrayBufferLike | ArrayBufferView,
    info: ArrayBufferLike | ArrayBufferView,
    len: number,
  ): Promise<ArrayBuffer> {
    return Promise.resolve(ownArrayBuffer(expand(bytesOf(prk), bytesOf(info), len)));
  }

  extractAndExpand(
    salt: ArrayBufferLike | ArrayBufferView,
    ikm: ArrayBufferLike | ArrayBufferView,
    info: ArrayBufferLike | ArrayBufferView,
    len: number,
  ): Promise<ArrayBuffer> {
    const prk = hmacSha256(bytesOf(salt), bytesOf(ikm));
    return Promise.resolve(ownArrayBuffer(expand(prk, bytesOf(info), len)));
  }

  labeledExtract(
    salt: ArrayBufferLike | ArrayBufferView,
    label: Uint8Array,
    ikm: Uint8Array,
  ): Promise<ArrayBuffer> {
    return this.extract(salt, this.buildLabeledIkm(label, ikm));
  }

  labeledExpand(
    prk: ArrayBufferLike | ArrayBufferView,
    label: Uint8Array,
    info: Uint8Array,
    len: number,
  ): Promise<ArrayBuffer> {
    return this.expand(prk, this.buildLabeledInfo(label, info, len), len);
  }
}
