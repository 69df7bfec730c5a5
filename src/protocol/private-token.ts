/**
 * Privacy Pass publicly verifiable tokens (RFC 9578 §6, token type 0x0002, blind RSA-2048) and
 * the batch Shroud issues them in. Lengths inside these structs follow the RFC (uint16 and uint8
 * prefixes), not Shroud's varints, so tokens are RFC 9578 tokens byte for byte.
 *
 *   struct {
 *     uint16 token_type;                 // 0x0002
 *     opaque issuer_name<1..2^16-1>;     // Shroud: the issuing relay's origin
 *     opaque redemption_context<0..32>;  // Shroud: empty (tokens are fetched ahead of use)
 *     opaque origin_info<0..2^16-1>;     // Shroud: empty (redeemable at any relay that accepts it)
 *   } TokenChallenge;
 *
 *   struct {
 *     uint16 token_type;                 // 0x0002
 *     uint8 nonce[32];
 *     uint8 challenge_digest[32];        // SHA-256(TokenChallenge)
 *     uint8 token_key_id[32];            // SHA-256(issuer key SPKI): see token-key.ts
 *     uint8 authenticator[256];          // RSABSSA-SHA384-PSS signature of the fields above
 *   } Token;
 *
 *   struct {
 *     uint16 token_type;                 // 0x0002
 *     uint8 truncated_token_key_id;      // last byte of token_key_id
 *     uint8 blinded_msg[256];
 *   } TokenRequest;
 *
 *   struct { uint8 blind_sig[256]; } TokenResponse;
 *
 *   struct { TokenRequest token_requests<0..2^16-1>; } BatchTokenRequest;
 *   struct { TokenResponse token_responses<0..2^16-1>; } BatchTokenResponse;
 */
import {
  blindRsaBlind,
  blindRsaBlindMany,
  blindRsaFinalize,
  blindRsaVerify,
  type BlindedMessage,
  type BlindRsaPublicKey,
  type BlindTestInputs,
} from "./blind-rsa.js";
import { concat, fromUtf8, randomBytes, sha256, utf8 } from "./bytes.js";
import { decode, encode, fixedBytes, struct, uint16, uint8, type Codec } from "./codec.js";
import { DecodeError } from "./errors.js";

export const TokenType = { blindRsa2048: 0x0002 } as const;
export type TokenType = (typeof TokenType)[keyof typeof TokenType];

/** Nk of token type 0x0002: the bytes of an RSA-2048 modulus. */
export const TOKEN_AUTHENTICATOR_LENGTH = 256;
export const TOKEN_NONCE_LENGTH = 32;
const TOKEN_REQUEST_LENGTH = 2 + 1 + TOKEN_AUTHENTICATOR_LENGTH;
/** Most tokens one batch asks for (its uint16 byte length bounds it at 253). */
export const MAX_TOKEN_BATCH = Math.floor(0xffff / TOKEN_REQUEST_LENGTH);
/** Bytes of the largest batch token request. */
export const MAX_TOKEN_BATCH_BYTES = 2 + MAX_TOKEN_BATCH * TOKEN_REQUEST_LENGTH;

export interface TokenChallenge {
  tokenType: TokenType;
  issuerName: string;
  redemptionContext: Uint8Array;
  originInfo: string;
}

export interface Token {
  tokenType: TokenType;
  nonce: Uint8Array;
  challengeDigest: Uint8Array;
  tokenKeyId: Uint8Array;
  authenticator: Uint8Array;
}

export interface TokenRequest {
  tokenType: TokenType;
  truncatedTokenKeyId: number;
  blindedMsg: Uint8Array;
}

/** opaque<lo..hi> with a uint8 or uint16 length, as RFC 9578 writes them. */
function prefixed(lengthBytes: 1 | 2, min: number, max: number): Codec<Uint8Array> {
  const length = lengthBytes === 1 ? uint8 : uint16;
  return {
    size: (v) => lengthBytes + v.length,
    write(v, w) {
      if (v.length < min || v.length > max) throw new RangeError("value length out of range");
      length.write(v.length, w);
      w.raw(v);
    },
    read(r) {
      const n = length.read(r);
      if (n < min || n > max) throw new DecodeError("value length out of range");
      return r.raw(n);
    },
  };
}

const tokenTypeCodec: Codec<TokenType> = {
  size: () => 2,
  write: (v, w) => uint16.write(v, w),
  read(r) {
    const type = uint16.read(r);
    if (type !== TokenType.blindRsa2048) throw new DecodeError("unsupported token type");
    return type;
  },
};

const challengeFields = struct({
  tokenType: tokenTypeCodec,
  issuerName: prefixed(2, 1, 0xffff),
  redemptionContext: prefixed(1, 0, 32),
  originInfo: prefixed(2, 0, 0xffff),
});

export const tokenChallengeCodec: Codec<TokenChallenge> = {
  size: (c) => challengeFields.size(challengeBytes(c)),
  write: (c, w) => challengeFields.write(challengeBytes(c), w),
  read(r) {
    const raw = challengeFields.read(r);
    try {
      return {
        tokenType: raw.tokenType,
        issuerName: fromUtf8(raw.issuerName),
        redemptionContext: raw.redemptionContext,
        originInfo: fromUtf8(raw.originInfo),
      };
    } catch {
      throw new DecodeError("token challenge is not UTF-8");
    }
  },
};

function challengeBytes(c: TokenChallenge) {
  return { ...c, issuerName: utf8(c.issuerName), originInfo: utf8(c.originInfo) };
}

export const tokenCodec: Codec<Token> = struct({
  tokenType: tokenTypeCodec,
  nonce: fixedBytes(TOKEN_NONCE_LENGTH),
  challengeDigest: fixedBytes(32),
  tokenKeyId: fixedBytes(32),
  authenticator: fixedBytes(TOKEN_AUTHENTICATOR_LENGTH),
});

export const tokenRequestCodec: Codec<TokenRequest> = struct({
  tokenType: tokenTypeCodec,
  truncatedTokenKeyId: uint8,
  blindedMsg: fixedBytes(TOKEN_AUTHENTICATOR_LENGTH),
});

/** A list with a uint16 byte length whose items are all `itemLength` bytes. */
function batch<T>(item: Codec<T>, itemLength: number): Codec<T[]> {
  return {
    size: (items) => 2 + items.length * itemLength,
    write(items, w) {
      if (items.length * itemLength > 0xffff) throw new RangeError("batch too large");
      uint16.write(items.length * itemLength, w);
      for (const i of items) item.write(i, w);
    },
    read(r) {
      const length = uint16.read(r);
      if (length % itemLength !== 0) throw new DecodeError("malformed token batch");
      return Array.from({ length: length / itemLength }, () => item.read(r));
    },
  };
}

export const batchTokenRequestCodec: Codec<TokenRequest[]> = batch(
  tokenRequestCodec,
  TOKEN_REQUEST_LENGTH,
);
export const batchTokenResponseCodec: Codec<Uint8Array[]> = batch(
  fixedBytes(TOKEN_AUTHENTICATOR_LENGTH),
  TOKEN_AUTHENTICATOR_LENGTH,
);

/**
 * The challenge every Shroud token answers: the issuer's name alone, so a token fetched today
 * is good at any relay that accepts that issuer, and says nothing about where it will be spent.
 */
export function shroudTokenChallenge(issuerName: string): TokenChallenge {
  return {
    tokenType: TokenType.blindRsa2048,
    issuerName,
    redemptionContext: new Uint8Array(0),
    originInfo: "",
  };
}

/** The bytes the issuer signs blindly and a redeemer verifies: the Token before its authenticator. */
export function tokenInput(t: Omit<Token, "authenticator">): Uint8Array {
  const type = new Uint8Array(2);
  new DataView(type.buffer).setUint16(0, t.tokenType);
  return concat(type, t.nonce, t.challengeDigest, t.tokenKeyId);
}

/** A client's token request and what it keeps to turn the answer into a token. */
export interface PendingToken {
  request: TokenRequest;
  input: Omit<Token, "authenticator">;
  inv: bigint;
}

/**
 * Starts one token (RFC 9578 §6.1): a fresh nonce, the challenge's digest and a blinded message.
 *
 * @example const pending = await requestToken(pk, keyId, shroudTokenChallenge(issuer));
 */
export async function requestToken(
  pk: BlindRsaPublicKey,
  tokenKeyId: Uint8Array,
  challenge: TokenChallenge,
  testInputs: BlindTestInputs & { nonce?: Uint8Array } = {},
): Promise<PendingToken> {
  const input = {
    tokenType: TokenType.blindRsa2048,
    nonce: testInputs.nonce ?? randomBytes(TOKEN_NONCE_LENGTH),
    challengeDigest: await sha256(encode(tokenChallengeCodec, challenge)),
    tokenKeyId,
  };
  return pendingToken(input, await blindRsaBlind(pk, tokenInput(input), testInputs));
}

/** The request for `input`'s blinded message, with what finishing it needs. */
function pendingToken(
  input: Omit<Token, "authenticator">,
  { blindedMsg, inv }: BlindedMessage,
): PendingToken {
  const { tokenKeyId } = input;
  const truncatedTokenKeyId = tokenKeyId[tokenKeyId.length - 1]!;
  return {
    request: { tokenType: TokenType.blindRsa2048, truncatedTokenKeyId, blindedMsg },
    input,
    inv,
  };
}

/**
 * Starts `count` tokens for one issuer key and challenge, blinded together (blindRsaBlindMany):
 * what requestToken does for each, at about half the cost per token.
 *
 * @example const pending = await requestTokens(pk, keyId, shroudTokenChallenge(issuer), 32);
 */
export async function requestTokens(
  pk: BlindRsaPublicKey,
  tokenKeyId: Uint8Array,
  challenge: TokenChallenge,
  count: number,
): Promise<PendingToken[]> {
  const challengeDigest = await sha256(encode(tokenChallengeCodec, challenge));
  const inputs = Array.from({ length: count }, () => ({
    tokenType: TokenType.blindRsa2048,
    nonce: randomBytes(TOKEN_NONCE_LENGTH),
    challengeDigest,
    tokenKeyId,
  }));
  const blinded = await blindRsaBlindMany(pk, inputs.map(tokenInput));
  return inputs.map((input, i) => pendingToken(input, blinded[i]!));
}

/**
 * Ends one token (RFC 9578 §6.3): unblinds the issuer's answer and checks it under the key the
 * client asked for (CryptoError if it is not a signature: a cheating or mistaken issuer).
 */
export async function finishToken(
  pk: BlindRsaPublicKey,
  pending: PendingToken,
  blindSig: Uint8Array,
): Promise<Token> {
  const authenticator = await blindRsaFinalize(
    pk,
    tokenInput(pending.input),
    blindSig,
    pending.inv,
  );
  return { ...pending.input, authenticator };
}

/** Whether a token's authenticator is the issuer key's signature of its input (RFC 9578 §6.4). */
export function verifyTokenSignature(pk: BlindRsaPublicKey, token: Token): Promise<boolean> {
  return blindRsaVerify(pk, tokenInput(token), token.authenticator);
}

/** Token bytes, decoded; DecodeError for anything but one type-2 token. */
export function decodeToken(bytes: Uint8Array): Token {
  return decode(tokenCodec, bytes);
}
