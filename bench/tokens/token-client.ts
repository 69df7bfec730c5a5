/**
 * The client's half of issuance, done here outside any timed HTTP window so that the issuance
 * rate is the issuer's: the issuer key read from the relay's verified descriptor (as
 * TokenWallet reads it), token requests blinded in batches with requestTokens, and the issuer's
 * answers finalized with finishToken, which checks each signature under the key (a wrong answer
 * fails the run). The time blinding and finalizing take is the client's cost per token.
 */
import { RelayClient } from "../../src/client/relay-client.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";
import type { BlindRsaPublicKey } from "../../src/protocol/blind-rsa.js";
import { decode, encode } from "../../src/protocol/codec.js";
import { normalizeOrigin } from "../../src/protocol/descriptor.js";
import {
  batchTokenRequestCodec,
  batchTokenResponseCodec,
  finishToken,
  requestTokens,
  shroudTokenChallenge,
  tokenCodec,
  type PendingToken,
  type TokenChallenge,
} from "../../src/protocol/private-token.js";
import { decodeTokenKey, tokenKeyId } from "../../src/protocol/token-key.js";

/** The key an issuer signs with now, as its signed descriptor publishes it. */
export interface PublishedIssuerKey {
  publicKey: BlindRsaPublicKey;
  id: Uint8Array;
  challenge: TokenChallenge;
  /** When relays stop honouring the key's tokens (ms). */
  expiresAt: number;
}

/** Token requests blinded ahead of the window, one encoded BatchTokenRequest per batch. */
export interface BlindedBatches {
  batchSize: number;
  pending: PendingToken[][];
  bodies: Uint8Array[];
  /** Wall time of the blinding (requestTokens, a batch at a time), ms. */
  blindMs: number;
}

/** Finished tokens (RFC 9578 Token bytes) and the time finishing them took. */
export interface FinishedTokens {
  tokens: Uint8Array[];
  expiresAt: number;
  /** Wall time of finishToken over all of them (unblind and verify), ms. */
  finalizeMs: number;
}

/**
 * The newest issuer key in the relay's verified descriptor.
 *
 * @example const key = await publishedIssuerKey(issuer.url);
 */
export async function publishedIssuerKey(url: string): Promise<PublishedIssuerKey> {
  const client = await RelayClient.connect(url, { shaping: ShapingProfiles.off });
  client.close();
  const newest = [...(client.descriptor.tokens?.issuerKeys ?? [])].sort(
    (a, b) => b.notAfter - a.notAfter,
  )[0];
  if (!newest) throw new Error(`${url} publishes no issuer key`);
  return {
    publicKey: decodeTokenKey(newest.publicKey),
    id: await tokenKeyId(newest.publicKey),
    challenge: shroudTokenChallenge(normalizeOrigin(url)),
    expiresAt: newest.notAfter * 1000,
  };
}

/**
 * `batches` batch requests of `batchSize` tokens each, blinded under `key`.
 *
 * @example const blinded = await blindBatches(key, 100, 40);
 */
export async function blindBatches(
  key: PublishedIssuerKey,
  batchSize: number,
  batches: number,
): Promise<BlindedBatches> {
  const started = performance.now();
  const pending: PendingToken[][] = [];
  for (let b = 0; b < batches; b++) {
    // A batch at a time, as a wallet's refill blinds them.
    pending.push(await requestTokens(key.publicKey, key.id, key.challenge, batchSize));
  }
  const blindMs = performance.now() - started;
  const bodies = pending.map((batch) =>
    encode(
      batchTokenRequestCodec,
      batch.map((p) => p.request),
    ),
  );
  return { batchSize, pending, bodies, blindMs };
}

/**
 * Turns the issuer's answers (one BatchTokenResponse per batch, in order) into tokens.
 *
 * @example const { tokens } = await finishBatches(key, blinded, answers);
 */
export async function finishBatches(
  key: PublishedIssuerKey,
  blinded: BlindedBatches,
  answers: readonly Uint8Array[],
): Promise<FinishedTokens> {
  if (answers.length !== blinded.pending.length) {
    throw new Error(`${answers.length} answers to ${blinded.pending.length} batches`);
  }
  const started = performance.now();
  const tokens: Uint8Array[] = [];
  for (const [b, batch] of blinded.pending.entries()) {
    const signatures = decode(batchTokenResponseCodec, answers[b]!);
    if (signatures.length !== batch.length) throw new Error("the issuer answered short");
    for (const [i, pending] of batch.entries()) {
      const token = await finishToken(key.publicKey, pending, signatures[i]!);
      tokens.push(encode(tokenCodec, token));
    }
  }
  return { tokens, expiresAt: key.expiresAt, finalizeMs: performance.now() - started };
}
