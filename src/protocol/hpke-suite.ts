/**
 * The one factory for HPKE cipher suites. Everything that seals or opens goes through
 * `hpkeSuite`, so a runtime with faster primitives (e.g. synchronous node:crypto) can plug its
 * own KEM/KDF/AEAD implementations in through `HpkePrimitives` without touching callers; any
 * replacement must pass the RFC 9180 known-answer tests in test/.
 */
import {
  Aes128Gcm,
  CipherSuite,
  DhkemX25519HkdfSha256,
  HkdfSha256,
  type AeadInterface,
  type KdfInterface,
  type KemInterface,
} from "@hpke/core";
import { Chacha20Poly1305 } from "@hpke/chacha20poly1305";
import { DecodeError } from "./errors.js";

/** HPKE KEM identifiers (RFC 9180 §7.1) that Shroud supports. */
export const KemId = { DhkemX25519HkdfSha256: 0x0020 } as const;
export type KemId = (typeof KemId)[keyof typeof KemId];

/** HPKE KDF identifiers (RFC 9180 §7.2) that Shroud supports. */
export const KdfId = { HkdfSha256: 0x0001 } as const;
export type KdfId = (typeof KdfId)[keyof typeof KdfId];

/** HPKE AEAD identifiers (RFC 9180 §7.3) that Shroud supports. */
export const AeadId = { Aes128Gcm: 0x0001, ChaCha20Poly1305: 0x0003 } as const;
export type AeadId = (typeof AeadId)[keyof typeof AeadId];

/** One KEM/KDF/AEAD choice. */
export interface SuiteIds {
  kemId: KemId;
  kdfId: KdfId;
  aeadId: AeadId;
}

/** Constructors for the primitives behind each identifier. */
export interface HpkePrimitives {
  kem(id: KemId): KemInterface;
  kdf(id: KdfId): KdfInterface;
  aead(id: AeadId): AeadInterface;
  /** HMAC with the KDF's hash, for the plain HKDF of hkdf.ts. */
  hmac(kdfId: KdfId, key: Uint8Array, data: Uint8Array): Promise<Uint8Array>;
  /**
   * SHA-256, for the capability derivations of inbox-id.ts (three per deposit at the relay,
   * where WebCrypto's thread-pool round trip costs more than the hash).
   */
  sha256(data: Uint8Array): Promise<Uint8Array>;
}

/** The hash behind each KDF: its WebCrypto name and output length in bytes. */
export const KDF_HASH: Record<KdfId, { name: string; length: number }> = {
  [KdfId.HkdfSha256]: { name: "SHA-256", length: 32 },
};

async function webCryptoHmac(kdfId: KdfId, key: Uint8Array, data: Uint8Array) {
  const hash = KDF_HASH[kdfId];
  // HMAC treats an empty key like a block of zeros; WebCrypto refuses empty keys.
  const keyBytes = key.length === 0 ? new Uint8Array(hash.length) : new Uint8Array(key);
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    keyBytes,
    { name: "HMAC", hash: hash.name },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, new Uint8Array(data)));
}

/** WebCrypto-backed primitives from @hpke/core (ChaCha20-Poly1305 from @hpke/chacha20poly1305). */
export const webCryptoPrimitives: HpkePrimitives = {
  kem: () => new DhkemX25519HkdfSha256(),
  kdf: () => new HkdfSha256(),
  aead: (id) => (id === AeadId.Aes128Gcm ? new Aes128Gcm() : new Chacha20Poly1305()),
  hmac: webCryptoHmac,
  sha256: async (data) =>
    new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(data))),
};

let active: HpkePrimitives = webCryptoPrimitives;

/**
 * Sets the primitives every later `hpkeSuite` call uses by default: an entry point for a runtime
 * with faster ones calls this once at start (src/node.ts does, with node:crypto). Keys made under
 * one set of primitives do not work under another, so call it before any key exists.
 */
export function useHpkePrimitives(primitives: HpkePrimitives): void {
  active = primitives;
}

/** The primitives `hpkeSuite` uses by default. */
export function activeHpkePrimitives(): HpkePrimitives {
  return active;
}

/** Public key length (Npk) per KEM, needed to parse key configs. */
export function publicKeyLength(kemId: number): number {
  if (kemId === KemId.DhkemX25519HkdfSha256) return 32;
  throw new DecodeError("unsupported KEM");
}

export function isKemId(id: number): id is KemId {
  return id === KemId.DhkemX25519HkdfSha256;
}

export function isKdfId(id: number): id is KdfId {
  return id === KdfId.HkdfSha256;
}

export function isAeadId(id: number): id is AeadId {
  return id === AeadId.Aes128Gcm || id === AeadId.ChaCha20Poly1305;
}

const cache = new WeakMap<HpkePrimitives, Map<string, CipherSuite>>();

/**
 * Returns the (cached) cipher suite for the given identifiers.
 *
 * @example
 * const suite = hpkeSuite({ kemId: 0x20, kdfId: 1, aeadId: 1 });
 * const { enc, ct } = await suite.seal({ recipientPublicKey }, plaintext);
 */
export function hpkeSuite(ids: SuiteIds, primitives = active): CipherSuite {
  let byIds = cache.get(primitives);
  if (!byIds) {
    byIds = new Map();
    cache.set(primitives, byIds);
  }
  const key = `${ids.kemId}/${ids.kdfId}/${ids.aeadId}`;
  let suite = byIds.get(key);
  if (!suite) {
    suite = new CipherSuite({
      kem: primitives.kem(ids.kemId),
      kdf: primitives.kdf(ids.kdfId),
      aead: primitives.aead(ids.aeadId),
    });
    byIds.set(key, suite);
  }
  return suite;
}
