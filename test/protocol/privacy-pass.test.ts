/**
 * Privacy Pass pieces against the RFCs' known answers: blind RSA (RFC 9474, the variant RFC 9578
 * uses), issuer keys, and the token structs (RFC 9578 §6), with the issuer's signing step on
 * node:crypto. Every struct also roundtrips and refuses truncated input.
 */
import { createPrivateKey } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  blindRsaBlind,
  blindRsaFinalize,
  blindRsaPublicKey,
  blindRsaVerify,
  byteLength,
  emsaPssEncode,
  i2osp,
  modInverse,
  os2ip,
} from "../../src/protocol/blind-rsa.js";
import { fromHex, fromUtf8, toBase64Url, toHex } from "../../src/protocol/bytes.js";
import { decode, encode, type Codec } from "../../src/protocol/codec.js";
import { CryptoError, DecodeError } from "../../src/protocol/errors.js";
import {
  batchTokenRequestCodec,
  batchTokenResponseCodec,
  finishToken,
  requestToken,
  requestTokens,
  shroudTokenChallenge,
  tokenChallengeCodec,
  tokenCodec,
  tokenRequestCodec,
  verifyTokenSignature,
} from "../../src/protocol/private-token.js";
import { decodeTokenKey, encodeTokenKey, tokenKeyId } from "../../src/protocol/token-key.js";
import { nodeBlindSigner } from "../../src/adapters/node/node-blind-signer.js";
import {
  generateTokenKey,
  TokenKeyPrivate,
  type RsaPrivateJwk,
} from "../../src/relay/token-keys.js";
import { rfc9474, rfc9578 } from "../vectors/privacy-pass.js";

const b64 = (hex: string) => toBase64Url(fromHex(hex));

function jwkFromFactors(v: typeof rfc9474): RsaPrivateJwk {
  const [p, q, d] = [BigInt(`0x${v.p}`), BigInt(`0x${v.q}`), BigInt(`0x${v.d}`)];
  const int = (x: bigint) => toBase64Url(i2osp(x, byteLength(x)));
  return {
    n: b64(v.n),
    e: b64(v.e),
    d: b64(v.d),
    p: b64(v.p),
    q: b64(v.q),
    dp: int(d % (p - 1n)),
    dq: int(d % (q - 1n)),
    qi: int(modInverse(q, p)!),
  };
}

function expectTruncationRefused<T>(codec: Codec<T>, value: T) {
  const bytes = encode(codec, value);
  expect(decode(codec, bytes)).toEqual(value);
  for (const cut of [0, 1, bytes.length - 1]) {
    expect(() => decode(codec, bytes.subarray(0, cut))).toThrow(DecodeError);
  }
}

describe("blind RSA (RFC 9474, RSABSSA-SHA384-PSS-Deterministic)", () => {
  const pk = blindRsaPublicKey(BigInt(`0x${rfc9474.n}`), BigInt(`0x${rfc9474.e}`));
  const msg = fromHex(rfc9474.msg);

  it("encodes, blinds, signs and finalizes to the RFC's bytes", async () => {
    const salt = fromHex(rfc9474.salt);
    // The RFC's vectors use a 4096-bit key.
    const bits = pk.n.toString(2).length;
    expect(bits).toBe(4096);
    expect(toHex(await emsaPssEncode(msg, bits, salt))).toBe(rfc9474.encoded_msg);
    const r = modInverse(BigInt(`0x${rfc9474.inv}`), pk.n)!;
    const { blindedMsg, inv } = await blindRsaBlind(pk, msg, { salt, r });
    expect(toHex(blindedMsg)).toBe(rfc9474.blinded_msg);
    expect(inv).toBe(BigInt(`0x${rfc9474.inv}`));
    const key = new TokenKeyPrivate(jwkFromFactors(rfc9474));
    const blindSig = await nodeBlindSigner().sign(key, blindedMsg);
    expect(toHex(blindSig)).toBe(rfc9474.blind_sig);
    const sig = await blindRsaFinalize(pk, msg, blindSig, inv);
    expect(toHex(sig)).toBe(rfc9474.sig);
    expect(await blindRsaVerify(pk, msg, sig)).toBe(true);
  });

  it("refuses a blind signature that is not one, and a blinded message beyond the modulus", async () => {
    const { blindedMsg, inv } = await blindRsaBlind(pk, msg);
    const key = new TokenKeyPrivate(jwkFromFactors(rfc9474));
    const blindSig = await nodeBlindSigner().sign(key, blindedMsg);
    const forged = blindSig.slice();
    forged[10]! ^= 1;
    await expect(blindRsaFinalize(pk, msg, forged, inv)).rejects.toThrow(CryptoError);
    await expect(nodeBlindSigner().sign(key, new Uint8Array(256).fill(0xff))).rejects.toThrow(
      CryptoError,
    );
    // A fresh blinding of the same message is a different blinded message: unlinkable.
    const again = await blindRsaBlind(pk, msg);
    expect(toHex(again.blindedMsg)).not.toBe(toHex(blindedMsg));
  });
});

describe("Privacy Pass tokens (RFC 9578, type 0x0002)", () => {
  const pem = fromUtf8(fromHex(rfc9578.skS));
  const jwk = createPrivateKey(pem).export({ format: "jwk" }) as unknown as RsaPrivateJwk;
  const privateKey = new TokenKeyPrivate(jwk);
  const spki = fromHex(rfc9578.pkS);

  it("issues the RFC's token request, response and token from its inputs", async () => {
    const pk = decodeTokenKey(spki);
    expect(toHex(encodeTokenKey(pk))).toBe(rfc9578.pkS);
    const challenge = decode(tokenChallengeCodec, fromHex(rfc9578.tokenChallenge));
    expect(toHex(encode(tokenChallengeCodec, challenge))).toBe(rfc9578.tokenChallenge);
    const pending = await requestToken(pk, await tokenKeyId(spki), challenge, {
      nonce: fromHex(rfc9578.nonce),
      salt: fromHex(rfc9578.salt),
      r: os2ip(fromHex(rfc9578.blind)),
    });
    expect(toHex(encode(tokenRequestCodec, pending.request))).toBe(rfc9578.tokenRequest);
    const blindSig = await nodeBlindSigner().sign(privateKey, pending.request.blindedMsg);
    expect(toHex(blindSig)).toBe(rfc9578.tokenResponse);
    const token = await finishToken(pk, pending, blindSig);
    expect(toHex(encode(tokenCodec, token))).toBe(rfc9578.token);
    expect(await verifyTokenSignature(pk, token)).toBe(true);
    expect(await verifyTokenSignature(pk, { ...token, nonce: new Uint8Array(32) })).toBe(false);
  });

  it("makes issuer keys WebCrypto can generate and anyone can parse", async () => {
    const key = await generateTokenKey(0, 1000);
    const pk = decodeTokenKey(key.publicKey);
    const challenge = shroudTokenChallenge("https://a.example");
    const pending = await requestToken(pk, await tokenKeyId(key.publicKey), challenge);
    const blindSig = await nodeBlindSigner().sign(key.privateKey, pending.request.blindedMsg);
    expect(await verifyTokenSignature(pk, await finishToken(pk, pending, blindSig))).toBe(true);
    expect(JSON.stringify(key)).not.toContain(key.privateKey.jwk.d);
    expect(String(key.privateKey)).toBe("[secret]");
  });

  it("blinds a batch with one inversion into tokens that each verify, unlinkably", async () => {
    const key = await generateTokenKey(0, 1000);
    const pk = decodeTokenKey(key.publicKey);
    const challenge = shroudTokenChallenge("https://a.example");
    const pending = await requestTokens(pk, await tokenKeyId(key.publicKey), challenge, 7);
    expect(new Set(pending.map((p) => toHex(p.request.blindedMsg))).size).toBe(7);
    expect(new Set(pending.map((p) => toHex(p.input.nonce))).size).toBe(7);
    for (const p of pending) {
      // Finalize checks the signature: it holds only if each blind's inverse is right.
      const blindSig = await nodeBlindSigner().sign(key.privateKey, p.request.blindedMsg);
      expect(await verifyTokenSignature(pk, await finishToken(pk, p, blindSig))).toBe(true);
    }
    // Answers swapped between two requests of the batch do not finish.
    const [a, b] = pending;
    const forB = await nodeBlindSigner().sign(key.privateKey, b!.request.blindedMsg);
    await expect(finishToken(pk, a!, forB)).rejects.toThrow(CryptoError);
    expect(await requestTokens(pk, await tokenKeyId(key.publicKey), challenge, 0)).toEqual([]);
  });

  it("roundtrips every struct and refuses truncated input", async () => {
    expectTruncationRefused(tokenCodec, decode(tokenCodec, fromHex(rfc9578.token)));
    const request = decode(tokenRequestCodec, fromHex(rfc9578.tokenRequest));
    expectTruncationRefused(tokenRequestCodec, request);
    expectTruncationRefused(tokenChallengeCodec, shroudTokenChallenge("https://a.example"));
    expectTruncationRefused(batchTokenRequestCodec, [request, request]);
    expectTruncationRefused(batchTokenResponseCodec, [fromHex(rfc9578.tokenResponse)]);
    const otherType = fromHex(rfc9578.token);
    otherType[1] = 1;
    expect(() => decode(tokenCodec, otherType)).toThrow(DecodeError);
  });

  it("parses only RFC 9578 issuer keys", () => {
    expect(() => decodeTokenKey(spki.subarray(0, spki.length - 1))).toThrow(DecodeError);
    const other = spki.slice();
    other[10]! ^= 1;
    expect(() => decodeTokenKey(other)).toThrow(DecodeError);
    expect(() => decodeTokenKey(new Uint8Array(0))).toThrow(DecodeError);
  });
});
