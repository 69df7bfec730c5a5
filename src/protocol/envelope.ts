/**
 * Sealed requests and responses: RFC 9458 §4 encapsulation under Shroud's labels.
 *
 *   struct {
 *     uint8 key_id;
 *     uint16 kem_id;
 *     uint16 kdf_id;
 *     uint16 aead_id;
 *   } RequestHeader;
 *
 *   struct {
 *     RequestHeader header;
 *     opaque enc[Nenc];
 *     opaque ct[..];          // HPKE Seal(info = label || 0x00 || header, aad = "")
 *   } SealedRequest;
 *
 *   struct {
 *     opaque response_nonce[max(Nn, Nk)];
 *     opaque ct[..];          // AEAD under a key exported from the request's context
 *   } SealedResponse;
 *
 * Response keying (RFC 9458 §4.4): secret = Export(response label, max(Nn, Nk));
 * salt = enc || response_nonce; prk = Extract(salt, secret); key = Expand(prk, "key", Nk);
 * nonce = Expand(prk, "nonce", Nn).
 */
import type { CipherSuite, EncryptionContext } from "@hpke/core";
import { asBytes, concat, randomBytes, utf8 } from "./bytes.js";
import { CryptoError, DecodeError, UnknownKeyError } from "./errors.js";
import { hkdfExpand, hkdfExtract } from "./hkdf.js";
import { hpkeSuite, isAeadId, isKdfId, type KdfId, type SuiteIds } from "./hpke-suite.js";
import type { KeyConfig } from "./key-config.js";
import { Labels } from "./labels.js";

const HEADER_LENGTH = 7;
const ENC_LENGTH = 32;
const TAG_LENGTH = 16;

/** Labels for the HPKE info and the response exporter; RFC 9458 has its own for BHTTP. */
export interface EnvelopeLabels {
  request: string;
  response: string;
}

export const SHROUD_ENVELOPE_LABELS: EnvelopeLabels = {
  request: Labels.request,
  response: Labels.response,
};

/** Bytes a sealed request adds around its plaintext. */
export const REQUEST_OVERHEAD = HEADER_LENGTH + ENC_LENGTH + TAG_LENGTH;

/** Response nonce length for an AEAD: max(Nn, Nk). */
export function responseNonceLength(suite: CipherSuite): number {
  return Math.max(suite.aead.nonceSize, suite.aead.keySize);
}

/** Bytes a sealed response adds around its plaintext. */
export function responseOverhead(suite: CipherSuite): number {
  return responseNonceLength(suite) + suite.aead.tagSize;
}

/** What is needed to open the response to one request (held by the client). */
export interface ResponseKeying {
  suite: CipherSuite;
  kdfId: KdfId;
  context: EncryptionContext;
  enc: Uint8Array;
  labels: EnvelopeLabels;
}

function header(keyId: number, ids: SuiteIds): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH);
  const view = new DataView(out.buffer);
  view.setUint8(0, keyId);
  view.setUint16(1, ids.kemId);
  view.setUint16(3, ids.kdfId);
  view.setUint16(5, ids.aeadId);
  return out;
}

function info(label: string, hdr: Uint8Array): Uint8Array {
  return concat(utf8(label), new Uint8Array([0]), hdr);
}

export interface SealRequestOptions {
  labels?: EnvelopeLabels;
  /** Which of the config's suites to use; defaults to the first. */
  suiteIndex?: number;
  /** Fixed ephemeral key pair, for known-answer tests only. */
  ephemeral?: CryptoKeyPair;
}

/**
 * Seals a request to a relay key config.
 *
 * @example
 * const { sealed, keying } = await sealRequest(config, padded);
 * const answer = await openResponse(keying, await post(sealed));
 */
export async function sealRequest(
  config: KeyConfig,
  plaintext: Uint8Array,
  options: SealRequestOptions = {},
): Promise<{ sealed: Uint8Array<ArrayBuffer>; keying: ResponseKeying }> {
  const labels = options.labels ?? SHROUD_ENVELOPE_LABELS;
  const symmetric = config.suites[options.suiteIndex ?? 0];
  if (!symmetric) throw new RangeError("no such cipher suite in key config");
  const ids: SuiteIds = { kemId: config.kemId, ...symmetric };
  const suite = hpkeSuite(ids);
  const hdr = header(config.keyId, ids);
  let recipientPublicKey: CryptoKey;
  try {
    recipientPublicKey = await suite.kem.deserializePublicKey(config.publicKey);
  } catch (cause) {
    throw new CryptoError("invalid relay public key", { cause });
  }
  const context = await suite.createSenderContext({
    recipientPublicKey,
    info: info(labels.request, hdr),
    ...(options.ephemeral ? { ekm: options.ephemeral } : {}),
  });
  const enc = asBytes(context.enc);
  const ct = asBytes(await context.seal(plaintext));
  return {
    sealed: concat(hdr, enc, ct),
    keying: { suite, kdfId: ids.kdfId, context, enc, labels },
  };
}

/** A private key that opens requests sent to one key config. */
export interface OpeningKey {
  config: KeyConfig;
  privateKey: CryptoKey;
}

/** The result of opening a request: its plaintext and how to seal the answer. */
export interface OpenedRequest {
  keyId: number;
  plaintext: Uint8Array;
  keying: ResponseKeying;
}

/** Reads the key id of a sealed request without doing any cryptography. */
export function requestKeyId(sealed: Uint8Array): number {
  if (sealed.length < HEADER_LENGTH + ENC_LENGTH + TAG_LENGTH) {
    throw new DecodeError("sealed request too short");
  }
  return sealed[0]!;
}

/** The encapsulated key of a sealed request (the replay-detection handle). */
export function requestEnc(sealed: Uint8Array): Uint8Array {
  requestKeyId(sealed);
  return sealed.slice(HEADER_LENGTH, HEADER_LENGTH + ENC_LENGTH);
}

/**
 * Opens a sealed request. UnknownKeyError when the key id is not held (HTTP 422),
 * DecodeError for a malformed header, CryptoError when decryption fails.
 */
export async function openRequest(
  lookup: (keyId: number) => OpeningKey | undefined,
  sealed: Uint8Array,
  labels: EnvelopeLabels = SHROUD_ENVELOPE_LABELS,
): Promise<OpenedRequest> {
  const keyId = requestKeyId(sealed);
  const key = lookup(keyId);
  if (!key) throw new UnknownKeyError();
  const view = new DataView(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const kemId = view.getUint16(1);
  const kdfId = view.getUint16(3);
  const aeadId = view.getUint16(5);
  const offered = key.config.suites.some((s) => s.kdfId === kdfId && s.aeadId === aeadId);
  if (kemId !== key.config.kemId || !isKdfId(kdfId) || !isAeadId(aeadId) || !offered) {
    throw new DecodeError("cipher suite not offered by this key");
  }
  const ids: SuiteIds = { kemId: key.config.kemId, kdfId, aeadId };
  const suite = hpkeSuite(ids);
  const hdr = sealed.subarray(0, HEADER_LENGTH);
  const enc = sealed.slice(HEADER_LENGTH, HEADER_LENGTH + ENC_LENGTH);
  try {
    const context = await suite.createRecipientContext({
      recipientKey: key.privateKey,
      enc,
      info: info(labels.request, hdr),
    });
    const plaintext = asBytes(await context.open(sealed.subarray(HEADER_LENGTH + ENC_LENGTH)));
    return { keyId, plaintext, keying: { suite, kdfId: ids.kdfId, context, enc, labels } };
  } catch (cause) {
    throw new CryptoError("request did not open", { cause });
  }
}

async function responseAead(keying: ResponseKeying, nonce: Uint8Array) {
  const { suite, kdfId, context, enc, labels } = keying;
  const secret = asBytes(await context.export(utf8(labels.response), responseNonceLength(suite)));
  const prk = await hkdfExtract(kdfId, concat(enc, nonce), secret);
  const key = await hkdfExpand(kdfId, prk, utf8("key"), suite.aead.keySize);
  const iv = await hkdfExpand(kdfId, prk, utf8("nonce"), suite.aead.nonceSize);
  return { aead: suite.aead.createEncryptionContext(key), iv };
}

/** Seals a response under the request's keying; `nonce` is fixed only by known-answer tests. */
export async function sealResponse(
  keying: ResponseKeying,
  plaintext: Uint8Array,
  nonce: Uint8Array = randomBytes(responseNonceLength(keying.suite)),
): Promise<Uint8Array> {
  const { aead, iv } = await responseAead(keying, nonce);
  const ct = asBytes(await aead.seal(iv, plaintext, new Uint8Array(0)));
  return concat(nonce, ct);
}

/** Opens a sealed response; CryptoError if it does not authenticate. */
export async function openResponse(
  keying: ResponseKeying,
  sealed: Uint8Array,
): Promise<Uint8Array> {
  const nonceLength = responseNonceLength(keying.suite);
  if (sealed.length < nonceLength + keying.suite.aead.tagSize) {
    throw new DecodeError("sealed response too short");
  }
  const { aead, iv } = await responseAead(keying, sealed.subarray(0, nonceLength));
  try {
    return asBytes(await aead.open(iv, sealed.subarray(nonceLength), new Uint8Array(0)));
  } catch (cause) {
    throw new CryptoError("response did not open", { cause });
  }
}
