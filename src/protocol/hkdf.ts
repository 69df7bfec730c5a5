/**
 * Plain HKDF (RFC 5869) on the active HPKE primitives' HMAC (hpke-suite.ts). RFC 9458's response keying extracts with a salt
 * (enc || nonce) longer than the hash, and @hpke/core's extract accepts only an empty salt or
 * one of exactly the hash length, so the response layer uses this instead.
 */
import { concat } from "./bytes.js";
import { activeHpkePrimitives, KDF_HASH, type HpkePrimitives, type KdfId } from "./hpke-suite.js";

/** HKDF-Extract(salt, ikm). */
export function hkdfExtract(
  kdfId: KdfId,
  salt: Uint8Array,
  ikm: Uint8Array,
  primitives: HpkePrimitives = activeHpkePrimitives(),
): Promise<Uint8Array> {
  return primitives.hmac(kdfId, salt, ikm);
}

/** HKDF-Expand(prk, info, length). */
export async function hkdfExpand(
  kdfId: KdfId,
  prk: Uint8Array,
  info: Uint8Array,
  length: number,
  primitives: HpkePrimitives = activeHpkePrimitives(),
): Promise<Uint8Array> {
  const hashLength = KDF_HASH[kdfId].length;
  if (length > 255 * hashLength) throw new RangeError("HKDF-Expand length too large");
  const out = new Uint8Array(length);
  let previous: Uint8Array = new Uint8Array(0);
  for (let i = 0, offset = 0; offset < length; i++) {
    previous = await primitives.hmac(kdfId, prk, concat(previous, info, new Uint8Array([i + 1])));
    out.set(previous.subarray(0, Math.min(hashLength, length - offset)), offset);
    offset += hashLength;
  }
  return out;
}
