/**
 * Shared helpers for the protocol tests: error-class assertions, the every-prefix truncation
 * check, deterministic byte patterns, bit flips and real key material.
 */
import { expect } from "vitest";
import { asBytes } from "../src/protocol/bytes.js";
import { decode, type Codec } from "../src/protocol/codec.js";
import type { OpeningKey } from "../src/protocol/envelope.js";
import { DecodeError } from "../src/protocol/errors.js";
import { AeadId, hpkeSuite, KdfId, KemId } from "../src/protocol/hpke-suite.js";
import type { KeyConfig, SymmetricAlgorithms } from "../src/protocol/key-config.js";

type ErrorClass = abstract new (...args: never[]) => Error;

/** Runs `run` and returns what it threw; fails the test if it returned normally. */
export function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error, but none was thrown");
}

/** Awaits `promise` and returns its rejection; fails the test if it resolved. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection, but the promise resolved");
}

/** Awaits `promise`: undefined if it resolved, otherwise what it rejected with. */
export async function settleError(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return error ?? new Error("rejected with a nullish reason");
  }
}

/** Asserts that `error` is exactly an instance of `cls` (not a subclass, not a sibling). */
export function expectExactly(error: unknown, cls: ErrorClass): void {
  expect(error).toBeInstanceOf(cls);
  expect((error as object).constructor).toBe(cls);
}

/** Asserts that `run` throws exactly a DecodeError. */
export function expectDecodeError(run: () => unknown): DecodeError {
  const error = thrown(run);
  expectExactly(error, DecodeError);
  return error as DecodeError;
}

/**
 * Decodes the full encoding (which must succeed), then every strict prefix 0..len-1, each of
 * which must be refused with exactly DecodeError.
 */
export function expectEveryPrefixRefused<T>(codec: Codec<T>, encoded: Uint8Array): void {
  expect(() => decode(codec, encoded)).not.toThrow();
  const failures: string[] = [];
  for (let length = 0; length < encoded.length; length++) {
    let error: unknown;
    try {
      decode(codec, encoded.subarray(0, length));
    } catch (caught) {
      error = caught;
    }
    if (error === undefined) failures.push(`prefix ${length}: decoded`);
    else if ((error as object).constructor !== DecodeError) {
      failures.push(`prefix ${length}: ${(error as Error).name}`);
    }
  }
  expect(failures).toEqual([]);
}

/** Deterministic, non-constant bytes: byte i is (seed + 37 * i) mod 256. */
export function pattern(length: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (seed + 37 * i) & 0xff;
  return out;
}

/** Byte-wise equality through Buffer.equals (vitest's toEqual is slow on megabyte arrays). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

/** A copy of `bytes` with bit `bit` (0 = most significant bit of byte 0) inverted. */
export function flipBit(bytes: Uint8Array, bit: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(bytes);
  out[bit >> 3]! ^= 0x80 >> (bit & 7);
  return out;
}

/** The two suites every Shroud key offers, in the relay's order (AES-128-GCM first). */
export const BOTH_SUITES: SymmetricAlgorithms[] = [
  { kdfId: KdfId.HkdfSha256, aeadId: AeadId.Aes128Gcm },
  { kdfId: KdfId.HkdfSha256, aeadId: AeadId.ChaCha20Poly1305 },
];

/** A fresh X25519 HPKE key, as the relay's key ring makes one, with its config. */
export async function generateOpeningKey(
  keyId: number,
  suites: SymmetricAlgorithms[] = BOTH_SUITES,
): Promise<OpeningKey> {
  const suite = hpkeSuite({
    kemId: KemId.DhkemX25519HkdfSha256,
    kdfId: KdfId.HkdfSha256,
    aeadId: AeadId.Aes128Gcm,
  });
  const pair = await suite.kem.generateKeyPair();
  const config: KeyConfig = {
    keyId,
    kemId: KemId.DhkemX25519HkdfSha256,
    publicKey: asBytes(await suite.kem.serializePublicKey(pair.publicKey)),
    suites,
  };
  return { config, privateKey: pair.privateKey };
}

/** A fresh Ed25519 signing key pair and its raw 32-byte public key. */
export async function generateSigningKey(): Promise<{
  pair: CryptoKeyPair;
  publicKey: Uint8Array<ArrayBuffer>;
}> {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return { pair, publicKey };
}
