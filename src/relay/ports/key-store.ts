/**
 * Key store port: the relay's long-term Ed25519 signing key and its HPKE keys. Private keys are
 * held as SecretBytes so they cannot leak through logs or JSON by accident.
 */
import type { SecretBytes } from "../../protocol/secret-bytes.js";
import type { SymmetricAlgorithms } from "../../protocol/key-config.js";
import type { KemId } from "../../protocol/hpke-suite.js";

export interface StoredHpkeKey {
  keyId: number;
  kemId: KemId;
  suites: SymmetricAlgorithms[];
  publicKey: Uint8Array;
  privateKey: SecretBytes;
  /** Milliseconds since the epoch; relay key metadata, never about clients. */
  createdAt: number;
  /** When set, the key is being retired: still opens requests until then, then is deleted. */
  retireAt?: number;
}

export interface StoredKeyRing {
  signing: { publicKey: Uint8Array; privateKeyPkcs8: SecretBytes };
  hpke: StoredHpkeKey[];
}

export interface KeyStore {
  load(): Promise<StoredKeyRing | undefined>;
  /** Stores `ring` unless a ring is already stored; returns whichever ring is stored after. */
  create(ring: StoredKeyRing): Promise<StoredKeyRing>;
  save(ring: StoredKeyRing): Promise<void>;
}
