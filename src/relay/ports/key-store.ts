/**
 * Key store port: the relay's long-term Ed25519 signing key and its HPKE keys. Private keys are
 * held as SecretBytes so they cannot leak through logs or JSON by accident.
 */
import type { SecretBytes } from "../../protocol/secret-bytes.js";
import type { SymmetricAlgorithms } from "../../protocol/key-config.js";
import type { KemId } from "../../protocol/hpke-suite.js";
import type { StoredTokenKey } from "../token-keys.js";

/** One HPKE key pair of the relay, with the suites it is offered with. */
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

/** Everything a relay's identity is: its signing key pair and its HPKE keys. */
export interface StoredKeyRing {
  signing: { publicKey: Uint8Array; privateKeyPkcs8: SecretBytes };
  hpke: StoredHpkeKey[];
  /** Privacy Pass issuer keys; absent or empty on a relay that does not issue tokens. */
  tokens?: StoredTokenKey[];
}

/** Key store port: where the relay's key ring is kept (private keys as SecretBytes). */
export interface KeyStore {
  /** The stored ring, or undefined before the first start. */
  load(): Promise<StoredKeyRing | undefined>;
  /** Stores `ring` unless a ring is already stored; returns whichever ring is stored after. */
  create(ring: StoredKeyRing): Promise<StoredKeyRing>;
  /** Replaces the stored ring (after a rotation or pruning). */
  save(ring: StoredKeyRing): Promise<void>;
}
