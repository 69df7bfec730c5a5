/**
 * A Privacy Pass issuer's public key as RFC 9578 §6.5 publishes it: a SubjectPublicKeyInfo with
 * the id-RSASSA-PSS algorithm (SHA-384, MGF1-SHA-384, 48-byte salt), whose SHA-256 is the
 * token_key_id every token and token request names.
 *
 *   SubjectPublicKeyInfo ::= SEQUENCE {
 *     algorithm  SEQUENCE { id-RSASSA-PSS, RSASSA-PSS-params (fixed bytes, below) },
 *     subjectPublicKey BIT STRING { RSAPublicKey ::= SEQUENCE { n INTEGER, e INTEGER } } }
 */
import {
  blindRsaPublicKey,
  byteLength,
  i2osp,
  os2ip,
  type BlindRsaPublicKey,
} from "./blind-rsa.js";
import { concat, fromHex, sha256 } from "./bytes.js";
import { DecodeError } from "./errors.js";

/** The AlgorithmIdentifier of RFC 9578 §6.5, as DER: the same bytes for every issuer key. */
const PSS_ALGORITHM = fromHex(
  "303d06092a864886f70d01010a3030a00d300b0609608648016503040202" +
    "a11a301806092a864886f70d010108300b0609608648016503040202a203020130",
);

function derLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes = i2osp(BigInt(length), length < 0x100 ? 1 : 2);
  return concat(Uint8Array.of(0x80 | bytes.length), bytes);
}

function der(tag: number, content: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(tag), derLength(content.length), content);
}

function derInteger(value: bigint): Uint8Array {
  let bytes = i2osp(value, Math.max(1, byteLength(value)));
  if (bytes[0]! & 0x80) bytes = concat(Uint8Array.of(0), bytes);
  return der(0x02, bytes);
}

/** Reads one DER element of `tag` at `at`: its content and where the next element starts. */
function readDer(bytes: Uint8Array, at: number, tag: number): { content: Uint8Array; end: number } {
  if (bytes[at] !== tag) throw new DecodeError("malformed issuer key");
  let length = bytes[at + 1];
  let start = at + 2;
  if (length === undefined) throw new DecodeError("malformed issuer key");
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count < 1 || count > 2 || start + count > bytes.length) {
      throw new DecodeError("malformed issuer key");
    }
    length = Number(os2ip(bytes.subarray(start, start + count)));
    start += count;
  }
  const end = start + length;
  if (end > bytes.length) throw new DecodeError("malformed issuer key");
  return { content: bytes.subarray(start, end), end };
}

/**
 * The SPKI bytes of an issuer key.
 *
 * @example const spki = encodeTokenKey(pk); const id = await tokenKeyId(spki);
 */
export function encodeTokenKey(pk: BlindRsaPublicKey): Uint8Array {
  const rsaPublicKey = der(0x30, concat(derInteger(pk.n), derInteger(pk.e)));
  const bitString = der(0x03, concat(Uint8Array.of(0), rsaPublicKey));
  return der(0x30, concat(PSS_ALGORITHM, bitString));
}

/** The key inside SPKI bytes; DecodeError unless they are exactly an RFC 9578 issuer key. */
export function decodeTokenKey(spki: Uint8Array): BlindRsaPublicKey {
  const outer = readDer(spki, 0, 0x30);
  if (outer.end !== spki.length) throw new DecodeError("malformed issuer key");
  const body = outer.content;
  const algorithm = body.subarray(0, PSS_ALGORITHM.length);
  if (
    algorithm.length !== PSS_ALGORITHM.length ||
    algorithm.some((b, i) => b !== PSS_ALGORITHM[i])
  ) {
    throw new DecodeError("issuer key is not RSASSA-PSS with SHA-384");
  }
  const bits = readDer(body, PSS_ALGORITHM.length, 0x03);
  if (bits.end !== body.length || bits.content[0] !== 0) {
    throw new DecodeError("malformed issuer key");
  }
  const sequence = readDer(bits.content, 1, 0x30);
  const n = readDer(sequence.content, 0, 0x02);
  const e = readDer(sequence.content, n.end, 0x02);
  if (sequence.end !== bits.content.length || e.end !== sequence.content.length) {
    throw new DecodeError("malformed issuer key");
  }
  try {
    return blindRsaPublicKey(os2ip(n.content), os2ip(e.content));
  } catch {
    throw new DecodeError("unusable issuer key");
  }
}

/** token_key_id: SHA-256 of the SPKI bytes (RFC 9578 §6.5). */
export function tokenKeyId(spki: Uint8Array): Promise<Uint8Array> {
  return sha256(spki);
}
