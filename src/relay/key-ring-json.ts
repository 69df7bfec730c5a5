/**
 * The key ring's JSON form, shared by every key store (a file on Node, an encrypted value in
 * Redis). Byte fields are base64url; private keys are only ever exposed here, on the way to
 * storage that the operator protects.
 */
import { fromBase64Url, toBase64Url } from "../protocol/bytes.js";
import { isAeadId, isKdfId, isKemId } from "../protocol/hpke-suite.js";
import { SecretBytes } from "../protocol/secret-bytes.js";
import type { StoredHpkeKey, StoredKeyRing } from "./ports/key-store.js";
import { TokenKeyPrivate, type RsaPrivateJwk, type StoredTokenKey } from "./token-keys.js";

const FORMAT = "shroud-keys/v1";

interface KeyRingJson {
  format: typeof FORMAT;
  signing: { publicKey: string; privateKeyPkcs8: string };
  hpke: Array<{
    keyId: number;
    kemId: number;
    suites: Array<{ kdfId: number; aeadId: number }>;
    publicKey: string;
    privateKey: string;
    createdAt: number;
    retireAt?: number;
  }>;
  tokens?: Array<{
    publicKey: string;
    privateKey: RsaPrivateJwk;
    createdAt: number;
    expiresAt: number;
  }>;
}

const JWK_FIELDS = ["n", "e", "d", "p", "q", "dp", "dq", "qi"] as const;

function tokenKeyFromJson(k: NonNullable<KeyRingJson["tokens"]>[number]): StoredTokenKey {
  const jwk = Object.fromEntries(
    JWK_FIELDS.map((f) => {
      const value = k.privateKey[f];
      if (typeof value !== "string") throw new TypeError("token key");
      return [f, value];
    }),
  ) as unknown as RsaPrivateJwk;
  if (!Number.isFinite(k.createdAt) || !Number.isFinite(k.expiresAt)) throw new TypeError("time");
  return {
    publicKey: fromBase64Url(k.publicKey),
    privateKey: new TokenKeyPrivate(jwk),
    createdAt: k.createdAt,
    expiresAt: k.expiresAt,
  };
}

/**
 * Serialises a key ring, private keys included.
 *
 * @example await writeFile(path, keyRingToJson(ring), { mode: 0o600 });
 */
export function keyRingToJson(ring: StoredKeyRing): string {
  const json: KeyRingJson = {
    format: FORMAT,
    signing: {
      publicKey: toBase64Url(ring.signing.publicKey),
      privateKeyPkcs8: toBase64Url(ring.signing.privateKeyPkcs8.expose()),
    },
    hpke: ring.hpke.map((k) => ({
      keyId: k.keyId,
      kemId: k.kemId,
      suites: k.suites,
      publicKey: toBase64Url(k.publicKey),
      privateKey: toBase64Url(k.privateKey.expose()),
      createdAt: k.createdAt,
      ...(k.retireAt === undefined ? {} : { retireAt: k.retireAt }),
    })),
    ...(ring.tokens?.length
      ? {
          tokens: ring.tokens.map((k) => ({
            publicKey: toBase64Url(k.publicKey),
            privateKey: { ...k.privateKey.jwk },
            createdAt: k.createdAt,
            expiresAt: k.expiresAt,
          })),
        }
      : {}),
  };
  return JSON.stringify(json, null, 2);
}

/** Parses a key ring; throws TypeError (or SyntaxError) if it is not one. */
export function keyRingFromJson(text: string): StoredKeyRing {
  const json = JSON.parse(text) as KeyRingJson;
  if (json.format !== FORMAT || !Array.isArray(json.hpke)) throw new TypeError("format");
  const hpke: StoredHpkeKey[] = json.hpke.map((k) => {
    if (!isKemId(k.kemId)) throw new TypeError("kem");
    const suites = k.suites.map((s) => {
      if (!isKdfId(s.kdfId) || !isAeadId(s.aeadId)) throw new TypeError("suite");
      return { kdfId: s.kdfId, aeadId: s.aeadId };
    });
    if (!Number.isInteger(k.keyId) || k.keyId < 0 || k.keyId > 255) throw new TypeError("id");
    return {
      keyId: k.keyId,
      kemId: k.kemId,
      suites,
      publicKey: fromBase64Url(k.publicKey),
      privateKey: new SecretBytes(fromBase64Url(k.privateKey)),
      createdAt: k.createdAt,
      ...(k.retireAt === undefined ? {} : { retireAt: k.retireAt }),
    };
  });
  return {
    signing: {
      publicKey: fromBase64Url(json.signing.publicKey),
      privateKeyPkcs8: new SecretBytes(fromBase64Url(json.signing.privateKeyPkcs8)),
    },
    hpke,
    ...(json.tokens ? { tokens: json.tokens.map(tokenKeyFromJson) } : {}),
  };
}
