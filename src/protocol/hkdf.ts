/**
 * Plain HKDF (RFC 5869) on WebCrypto HMAC. RFC 9458's response keying extracts with a salt
 * (enc || nonce) longer than the hash, and @hpke/core's extract accepts only an empty salt or
 * one of exactly the hash length, so the response layer uses this instead.
 */
import { asBytes, concat } from "./bytes.js";
import { KdfId } from "./hpke-suite.js";

const HASH: Record<KdfId, { name: string; length: number }> = {
  [KdfId.HkdfSha256]: { name: "SHA-256", length: 32 },
};

function hmacKey(kdfId: KdfId, key: Uint8Array): Promise<CryptoKey> {
  const hash = HASH[kdfId];
  // HMAC treats an empty key like a block of zeros; WebCrypto refuses empty keys.
  const keyBytes = key.length === 0 ? new Uint8Array(hash.length) : new Uint8Array(key);
  return crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: hash.name }, false, [
    "sign",
  ]);
}

async function hmac(key: CryptoKey, data: Uint8Array): Promise<Uint8Array> {
  return asBytes(await crypto.subtle.sign("HMAC", key, new Uint8Array(data)));
}

/** HKDF-Extract(salt, ikm). */
export async function hkdfExtract(
  kdfId: KdfId,
  salt: Uint8Array,
  ikm: Uint8Array,
): Promise<Uint8Array> {
  return hmac(await hmacKey(kdfId, salt), ikm);
}

/** HKDF-Expand(prk, info, length). */
export async function hkdfExpand(
  kdfId: KdfId,
  prk: Uint8Array,
  info: Uint8Array,
  length: number,
): Promise<Uint8Array> {
  const hashLength = HASH[kdfId].length;
  if (length > 255 * hashLength) throw new RangeError("HKDF-Expand length too large");
  const key = await hmacKey(kdfId, prk);
  const out = new Uint8Array(length);
  let previous: Uint8Array = new Uint8Array(0);
  for (let i = 0, offset = 0; offset < length; i++) {
    previous = await hmac(key, concat(previous, info, new Uint8Array([i + 1])));
    out.set(previous.subarray(0, Math.min(hashLength, length - offset)), offset);
    offset += hashLength;
  }
  return out;
}
