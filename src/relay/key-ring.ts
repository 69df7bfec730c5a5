/**
 * The relay's keys in usable form, and the pure steps that change them: generate, rotate and
 * prune. A rotated-out key keeps opening requests for an overlap, then is deleted (forward
 * secrecy for the envelope layer) and its replay records are forgotten.
 */
import { asBytes, toHex } from "../protocol/bytes.js";
import type { OpeningKey } from "../protocol/envelope.js";
import { AeadId, hpkeSuite, KdfId, KemId, type SuiteIds } from "../protocol/hpke-suite.js";
import type { KeyConfig, SymmetricAlgorithms } from "../protocol/key-config.js";
import type { PublishedKey } from "../protocol/descriptor.js";
import { SecretBytes } from "../protocol/secret-bytes.js";
import type { StoredHpkeKey, StoredKeyRing } from "./ports/key-store.js";
import { tokenKeyTag } from "./token-keys.js";

const ED25519 = { name: "Ed25519" } as const;

/** Suites every Shroud key offers, in order of preference. */
export const OFFERED_SUITES: SymmetricAlgorithms[] = [
  { kdfId: KdfId.HkdfSha256, aeadId: AeadId.Aes128Gcm },
  { kdfId: KdfId.HkdfSha256, aeadId: AeadId.ChaCha20Poly1305 },
];

const BASE_SUITE: SuiteIds = {
  kemId: KemId.DhkemX25519HkdfSha256,
  kdfId: KdfId.HkdfSha256,
  aeadId: AeadId.Aes128Gcm,
};

async function newHpkeKey(keyId: number, now: number): Promise<StoredHpkeKey> {
  const suite = hpkeSuite(BASE_SUITE);
  const pair = await suite.kem.generateKeyPair();
  return {
    keyId,
    kemId: KemId.DhkemX25519HkdfSha256,
    suites: OFFERED_SUITES,
    publicKey: asBytes(await suite.kem.serializePublicKey(pair.publicKey)),
    privateKey: new SecretBytes(asBytes(await suite.kem.serializePrivateKey(pair.privateKey))),
    createdAt: now,
  };
}

/** A fresh key ring: a new Ed25519 signing key and one HPKE key. */
export async function generateKeyRing(now: number): Promise<StoredKeyRing> {
  const pair = (await crypto.subtle.generateKey(ED25519, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  return {
    signing: {
      publicKey: asBytes((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer),
      privateKeyPkcs8: new SecretBytes(
        asBytes((await crypto.subtle.exportKey("pkcs8", pair.privateKey)) as ArrayBuffer),
      ),
    },
    hpke: [await newHpkeKey(randomKeyId(new Set()), now)],
  };
}

function randomKeyId(taken: Set<number>): number {
  const byte = new Uint8Array(1);
  for (;;) {
    crypto.getRandomValues(byte);
    if (!taken.has(byte[0]!)) return byte[0]!;
  }
}

/** Tag naming one HPKE key across processes (replay records are kept per tag). */
export function keyTag(key: Pick<StoredHpkeKey, "publicKey">): string {
  return toHex(key.publicKey);
}

/**
 * How long a retired key is kept (refusing requests) before it and its replay records are
 * deleted. Every instance refuses a key from its retirement time on, but one that has not yet
 * reloaded the ring (maintenance runs at most every 5 minutes) still opens requests under it;
 * its replay records must outlive that.
 */
export const KEY_DELETE_GRACE_MS = 10 * 60_000;

/** Whether a key has reached its retirement time and must no longer open requests. */
export function isRetired(key: Pick<StoredHpkeKey, "retireAt">, now: number): boolean {
  return key.retireAt !== undefined && key.retireAt <= now;
}

/**
 * Drops keys retired for longer than KEY_DELETE_GRACE_MS.
 * Returns the new ring and the tags of removed keys (so their replay records can be forgotten).
 */
export function pruneKeyRing(
  ring: StoredKeyRing,
  now: number,
): { ring: StoredKeyRing; removed: string[] } {
  const kept = ring.hpke.filter((k) => !isRetired(k, now - KEY_DELETE_GRACE_MS));
  const removed = ring.hpke.filter((k) => !kept.includes(k)).map(keyTag);
  return { ring: { ...ring, hpke: kept }, removed };
}

/**
 * Adds a new current HPKE key; every older key retires after `overlapMs`. Expired keys are
 * pruned in the same step.
 */
export async function rotateKeyRing(
  ring: StoredKeyRing,
  now: number,
  overlapMs: number,
): Promise<{ ring: StoredKeyRing; removed: string[] }> {
  const retiring = ring.hpke.map((k) => ({
    ...k,
    retireAt: Math.min(k.retireAt ?? Infinity, now + overlapMs),
  }));
  const pruned = pruneKeyRing({ ...ring, hpke: retiring }, now);
  const taken = new Set(pruned.ring.hpke.map((k) => k.keyId));
  if (taken.size >= 256) throw new RangeError("all 256 key ids are in use");
  const fresh = await newHpkeKey(randomKeyId(taken), now);
  return {
    ring: { ...pruned.ring, hpke: [...pruned.ring.hpke, fresh] },
    removed: pruned.removed,
  };
}

/** Identifies the HPKE keys, their retirement times and the issuer keys (not their secrets). */
export function keyRingFingerprint(ring: StoredKeyRing): string {
  const tokens = (ring.tokens ?? []).map((k) => `t${tokenKeyTag(k)}`);
  return [...ring.hpke.map((k) => `${keyTag(k)}:${k.retireAt ?? ""}`), ...tokens].join(",");
}

export interface LoadedKey extends OpeningKey {
  tag: string;
  stored: StoredHpkeKey;
}

/** A key ring with private keys imported, ready to open requests and sign descriptors. */
export class KeyRing {
  private constructor(
    readonly stored: StoredKeyRing,
    readonly signingKey: CryptoKey,
    private readonly byId: Map<number, LoadedKey>,
  ) {}

  static async load(stored: StoredKeyRing): Promise<KeyRing> {
    const signingKey = await crypto.subtle.importKey(
      "pkcs8",
      new Uint8Array(stored.signing.privateKeyPkcs8.expose()),
      ED25519,
      false,
      ["sign"],
    );
    const suite = hpkeSuite(BASE_SUITE);
    const byId = new Map<number, LoadedKey>();
    for (const key of stored.hpke) {
      const config: KeyConfig = {
        keyId: key.keyId,
        kemId: key.kemId,
        publicKey: key.publicKey,
        suites: key.suites,
      };
      const privateKey = await suite.kem.deserializePrivateKey(key.privateKey.expose());
      byId.set(key.keyId, { config, privateKey, tag: keyTag(key), stored: key });
    }
    return new KeyRing(stored, signingKey, byId);
  }

  /** The key with this id, unless it is retired at `now`. */
  lookup(keyId: number, now: number): LoadedKey | undefined {
    const key = this.byId.get(keyId);
    return key && !isRetired(key.stored, now) ? key : undefined;
  }

  /** The unretired keys as published in the descriptor: the newest is valid until `until`. */
  published(now: number, untilSeconds: number): PublishedKey[] {
    return [...this.byId.values()]
      .filter((k) => !isRetired(k.stored, now))
      .map((k) => ({
        config: k.config,
        notBefore: Math.floor(k.stored.createdAt / 1000),
        notAfter:
          k.stored.retireAt === undefined ? untilSeconds : Math.floor(k.stored.retireAt / 1000),
      }));
  }

  /** Changes whenever a key is added, retired or removed: the descriptor must be re-signed. */
  get fingerprint(): string {
    return keyRingFingerprint(this.stored);
  }
}
