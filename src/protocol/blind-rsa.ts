/**
 * The client's side of RSA blind signatures (RFC 9474), variant RSABSSA-SHA384-PSS-Deterministic:
 * the one Privacy Pass publicly verifiable tokens use (RFC 9578 §6). Blinding and finalizing need
 * only the public key, so they run wherever WebCrypto does (Node, browsers, Workers) with BigInt
 * arithmetic; the signer's raw private operation is the issuer's (src/relay/token-issuer.ts).
 */
import { concat, randomBytes, toBase64Url } from "./bytes.js";
import { CryptoError } from "./errors.js";

/** SHA-384 output and the PSS salt length of the Deterministic variant (sLen = hLen). */
const HASH_LENGTH = 48;
export const BLIND_RSA_SALT_LENGTH = HASH_LENGTH;

/** An RSA public key as the two integers blind RSA works on. */
export interface BlindRsaPublicKey {
  readonly n: bigint;
  readonly e: bigint;
  /** Bytes of the modulus (kLen): every blinded message, blind signature and signature. */
  readonly modulusLength: number;
}

export interface BlindedMessage {
  blindedMsg: Uint8Array;
  /** The unblinding value: keep it secret until finalize. */
  inv: bigint;
}

/** Options that make blinding reproducible, for the RFC's test vectors only. */
export interface BlindTestInputs {
  salt?: Uint8Array;
  r?: bigint;
}

/** Integer from big-endian bytes (RFC 8017 OS2IP). */
export function os2ip(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

/** Bytes of a non-negative integer's shortest big-endian form (0 for 0). */
export function byteLength(value: bigint): number {
  return value === 0n ? 0 : Math.ceil(value.toString(16).length / 2);
}

/** Big-endian bytes of exactly `length` (RFC 8017 I2OSP). */
export function i2osp(value: bigint, length: number): Uint8Array {
  if (value < 0n || value >> BigInt(8 * length) !== 0n) throw new RangeError("integer too large");
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return out;
}

export function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
    e >>= 1n;
  }
  return result;
}

/** x^-1 mod m, or undefined when gcd(x, m) != 1. */
export function modInverse(x: bigint, m: bigint): bigint | undefined {
  let [oldR, r] = [((x % m) + m) % m, m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  if (oldR !== 1n) return undefined;
  return ((oldS % m) + m) % m;
}

/** The greatest common divisor (Euclid), cheaper than modInverse where no inverse is needed. */
function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/**
 * The inverses of `xs` modulo `m` with one modular inversion (Montgomery's trick: invert the
 * product, then peel each factor off with two multiplications); undefined when any of them has
 * no inverse.
 */
function batchInverse(xs: readonly bigint[], m: bigint): bigint[] | undefined {
  const prefix: bigint[] = [];
  let product = 1n;
  for (const x of xs) prefix.push((product = (product * x) % m));
  let inverse = modInverse(product, m);
  if (inverse === undefined) return undefined;
  const out: bigint[] = new Array<bigint>(xs.length);
  for (let i = xs.length - 1; i > 0; i--) {
    out[i] = (inverse * prefix[i - 1]!) % m;
    inverse = (inverse * xs[i]!) % m;
  }
  if (xs.length > 0) out[0] = inverse;
  return out;
}

/** @example const pk = blindRsaPublicKey(n, 65537n); */
export function blindRsaPublicKey(n: bigint, e: bigint): BlindRsaPublicKey {
  const modulusLength = byteLength(n);
  if (modulusLength < 128 || e < 3n || e % 2n === 0n) throw new CryptoError("unusable RSA key");
  return { n, e, modulusLength };
}

async function sha384(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-384", data as Uint8Array<ArrayBuffer>));
}

async function mgf1(seed: Uint8Array, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  for (let counter = 0, at = 0; at < length; counter++, at += HASH_LENGTH) {
    const block = await sha384(concat(seed, i2osp(BigInt(counter), 4)));
    out.set(block.subarray(0, Math.min(HASH_LENGTH, length - at)), at);
  }
  return out;
}

/** EMSA-PSS-ENCODE (RFC 8017 §9.1.1) with SHA-384, MGF1-SHA-384 and a 48-byte salt. */
export async function emsaPssEncode(
  msg: Uint8Array,
  modulusBits: number,
  salt: Uint8Array = randomBytes(BLIND_RSA_SALT_LENGTH),
): Promise<Uint8Array> {
  const emBits = modulusBits - 1;
  const emLength = Math.ceil(emBits / 8);
  if (emLength < HASH_LENGTH + salt.length + 2) throw new CryptoError("RSA key too small");
  const mHash = await sha384(msg);
  const h = await sha384(concat(new Uint8Array(8), mHash, salt));
  const db = new Uint8Array(emLength - HASH_LENGTH - 1);
  db[db.length - salt.length - 1] = 0x01;
  db.set(salt, db.length - salt.length);
  const mask = await mgf1(h, db.length);
  for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!;
  db[0]! &= 0xff >> (8 * emLength - emBits);
  return concat(db, h, Uint8Array.of(0xbc));
}

function bitLength(n: bigint): number {
  return n.toString(2).length;
}

/** A uniform integer in [1, n) from the platform CSPRNG (rejection sampling). */
function randomBelow(n: bigint, length: number): bigint {
  for (let tries = 0; tries < 128; tries++) {
    const r = os2ip(randomBytes(length));
    if (r > 0n && r < n) return r;
  }
  throw new CryptoError("no random integer below the modulus");
}

/**
 * Blind(pk, msg) of RFC 9474 §4.2: the PSS-encoded message times r^e. The verifier later sees
 * the signature of `msg`, never `blindedMsg`, and cannot link the two without `inv`.
 *
 * @example const { blindedMsg, inv } = await blindRsaBlind(pk, tokenInput);
 */
export async function blindRsaBlind(
  pk: BlindRsaPublicKey,
  msg: Uint8Array,
  testInputs: BlindTestInputs = {},
): Promise<BlindedMessage> {
  const encoded = await emsaPssEncode(msg, bitLength(pk.n), testInputs.salt);
  const m = os2ip(encoded);
  if (gcd(m, pk.n) !== 1n) throw new CryptoError("invalid input");
  const r = testInputs.r ?? randomBelow(pk.n, pk.modulusLength);
  const inv = modInverse(r, pk.n);
  if (inv === undefined) throw new CryptoError("blinding error");
  return { blindedMsg: blinded(pk, m, r), inv };
}

/** The blinded message m * r^e mod n, as bytes. */
function blinded(pk: BlindRsaPublicKey, m: bigint, r: bigint): Uint8Array {
  return i2osp((m * modPow(r, pk.e, pk.n)) % pk.n, pk.modulusLength);
}

/**
 * Blind for many messages at once, as a wallet's refill does: the same as blindRsaBlind on each,
 * with one gcd for all the coprimality checks (n = pq, so a product is coprime to n exactly when
 * every factor is) and one modular inversion for all the blinds' inverses, which otherwise cost
 * half of each blinding.
 *
 * @example const blinded = await blindRsaBlindMany(pk, inputs);
 */
export async function blindRsaBlindMany(
  pk: BlindRsaPublicKey,
  msgs: readonly Uint8Array[],
): Promise<BlindedMessage[]> {
  const bits = bitLength(pk.n);
  const ms = await Promise.all(msgs.map(async (msg) => os2ip(await emsaPssEncode(msg, bits))));
  let product = 1n;
  for (const m of ms) product = (product * m) % pk.n;
  if (gcd(product, pk.n) !== 1n) throw new CryptoError("invalid input");
  const rs = ms.map(() => randomBelow(pk.n, pk.modulusLength));
  const invs = batchInverse(rs, pk.n);
  if (!invs) throw new CryptoError("blinding error");
  return ms.map((m, i) => ({ blindedMsg: blinded(pk, m, rs[i]!), inv: invs[i]! }));
}

/**
 * Finalize of RFC 9474 §4.4: unblinds the issuer's blind signature and checks it, so a signer
 * that answered with anything but a signature of `msg` under `pk` is caught here.
 *
 * @example const sig = await blindRsaFinalize(pk, tokenInput, blindSig, inv);
 */
export async function blindRsaFinalize(
  pk: BlindRsaPublicKey,
  msg: Uint8Array,
  blindSig: Uint8Array,
  inv: bigint,
): Promise<Uint8Array> {
  if (blindSig.length !== pk.modulusLength) throw new CryptoError("unexpected signature size");
  const z = os2ip(blindSig);
  if (z >= pk.n) throw new CryptoError("invalid signature");
  const sig = i2osp((z * inv) % pk.n, pk.modulusLength);
  if (!(await blindRsaVerify(pk, msg, sig))) throw new CryptoError("invalid signature");
  return sig;
}

function base64Url(value: bigint): string {
  return toBase64Url(i2osp(value, byteLength(value)));
}

const verifyKeys = new WeakMap<BlindRsaPublicKey, Promise<CryptoKey>>();

function verifyKey(pk: BlindRsaPublicKey): Promise<CryptoKey> {
  let key = verifyKeys.get(pk);
  if (!key) {
    key = crypto.subtle.importKey(
      "jwk",
      { kty: "RSA", n: base64Url(pk.n), e: base64Url(pk.e), ext: true },
      { name: "RSA-PSS", hash: "SHA-384" },
      false,
      ["verify"],
    );
    verifyKeys.set(pk, key);
  }
  return key;
}

/**
 * RSASSA-PSS-VERIFY with SHA-384 and a 48-byte salt: how anyone holding the public key checks a
 * finalized blind signature (a relay redeeming a token).
 *
 * @example if (!(await blindRsaVerify(pk, tokenInput, authenticator))) refuse();
 */
export async function blindRsaVerify(
  pk: BlindRsaPublicKey,
  msg: Uint8Array,
  sig: Uint8Array,
): Promise<boolean> {
  if (sig.length !== pk.modulusLength) return false;
  return crypto.subtle.verify(
    { name: "RSA-PSS", saltLength: BLIND_RSA_SALT_LENGTH },
    await verifyKey(pk),
    sig as Uint8Array<ArrayBuffer>,
    msg as Uint8Array<ArrayBuffer>,
  );
}
