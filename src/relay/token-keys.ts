/**
 * A relay's Privacy Pass issuer keys (RSA-2048, RFC 9578 token type 2): made with WebCrypto (so
 * any runtime can hold one), published in the signed descriptor until they expire, and used to
 * sign by whichever BlindSigner the entry point gives. The newest key issues; an older one is
 * still published, and its tokens still redeemed, until its expiry.
 */
import { blindRsaPublicKey, os2ip, type BlindRsaPublicKey } from "../protocol/blind-rsa.js";
import { fromBase64Url, fromUtf8, toHex, utf8 } from "../protocol/bytes.js";
import { SecretBytes } from "../protocol/secret-bytes.js";
import { encodeTokenKey, tokenKeyId } from "../protocol/token-key.js";

/**
 * The private half as a JWK (RFC 7518 RSA fields, base64url), kept as SecretBytes so that logs
 * and JSON show a placeholder.
 */
export class TokenKeyPrivate extends SecretBytes {
  constructor(jwk: RsaPrivateJwk) {
    super(utf8(JSON.stringify(jwk)));
  }

  /** The private key's fields; only the signer and the key store read them. */
  get jwk(): RsaPrivateJwk {
    return JSON.parse(fromUtf8(this.expose())) as RsaPrivateJwk;
  }
}

/** RSA private key fields as RFC 7518 §6.3 names them (base64url). */
export interface RsaPrivateJwk {
  n: string;
  e: string;
  d: string;
  p: string;
  q: string;
  dp: string;
  dq: string;
  qi: string;
}

/** One issuer key as the key store keeps it. */
export interface StoredTokenKey {
  /** The RFC 9578 SPKI: what the descriptor publishes and token_key_id hashes. */
  publicKey: Uint8Array;
  privateKey: TokenKeyPrivate;
  createdAt: number;
  /** After this, the key is neither published, used nor honoured, and its spent set goes. */
  expiresAt: number;
}

/** Names one issuer key (not its secret): the tail of its SPKI, i.e. of its modulus. */
export function tokenKeyTag(key: Pick<StoredTokenKey, "publicKey">): string {
  return toHex(key.publicKey.subarray(-16));
}

/** How long an issuer key lives by default: it issues for the first half, then only redeems. */
export const DEFAULT_TOKEN_KEY_LIFETIME_MS = 14 * 24 * 3600_000;

/**
 * A fresh RSA-2048 issuer key (WebCrypto: Node, Workers and browsers alike).
 *
 * @example const key = await generateTokenKey(Date.now(), DEFAULT_TOKEN_KEY_LIFETIME_MS);
 */
export async function generateTokenKey(now: number, lifetimeMs: number): Promise<StoredTokenKey> {
  const pair = (await crypto.subtle.generateKey(
    {
      name: "RSA-PSS",
      modulusLength: 2048,
      publicExponent: Uint8Array.of(1, 0, 1),
      hash: "SHA-384",
    },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
  const jwk = (await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey;
  const fields = ["n", "e", "d", "p", "q", "dp", "dq", "qi"] as const;
  const priv = Object.fromEntries(fields.map((f) => [f, jwk[f]!])) as unknown as RsaPrivateJwk;
  return {
    publicKey: encodeTokenKey(jwkPublicKey(priv)),
    privateKey: new TokenKeyPrivate(priv),
    createdAt: now,
    expiresAt: now + lifetimeMs,
  };
}

export function jwkPublicKey(jwk: Pick<RsaPrivateJwk, "n" | "e">): BlindRsaPublicKey {
  return blindRsaPublicKey(os2ip(fromBase64Url(jwk.n)), os2ip(fromBase64Url(jwk.e)));
}

/** The key that issues now: the newest one still in the first half of its life. */
export function issuingKey(
  keys: readonly StoredTokenKey[],
  now: number,
): StoredTokenKey | undefined {
  return [...keys]
    .filter((k) => now < k.createdAt + (k.expiresAt - k.createdAt) / 2)
    .sort((a, b) => b.createdAt - a.createdAt)[0];
}

/**
 * The ring's issuer keys after expiry and rotation: expired keys dropped, a new key added once
 * none is in its issuing half.
 */
export async function rotateTokenKeys(
  keys: readonly StoredTokenKey[],
  now: number,
  lifetimeMs: number,
): Promise<StoredTokenKey[]> {
  const live = keys.filter((k) => k.expiresAt > now);
  if (issuingKey(live, now)) return live;
  return [...live, await generateTokenKey(now, lifetimeMs)];
}

/** A published issuer key with its id, ready to check tokens. */
export interface IssuerKey {
  id: Uint8Array;
  publicKey: BlindRsaPublicKey;
  spki: Uint8Array;
  expiresAt: number;
}

export async function issuerKeyOf(spki: Uint8Array, key: BlindRsaPublicKey, expiresAt: number) {
  return { id: await tokenKeyId(spki), publicKey: key, spki, expiresAt } satisfies IssuerKey;
}
