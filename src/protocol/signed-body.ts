/**
 * A body signed with a relay's Ed25519 key, the shape shared by descriptors and federation
 * batches. The label keeps a signature made for one purpose from being taken for the other.
 *
 *   struct {
 *     opaque body<V>;
 *     opaque signature[64];   // Ed25519 over label || 0x00 || body
 *   } SignedBody;
 */
import { asBytes, concat, utf8 } from "./bytes.js";
import { encode, fixedBytes, opaque, struct } from "./codec.js";
import { CryptoError } from "./errors.js";

const ED25519 = { name: "Ed25519" } as const;

/** Codec of SignedBody; callers decode it with their own input bound. */
export const signedBodyCodec = struct({ body: opaque(), signature: fixedBytes(64) });

function signedBytes(label: string, body: Uint8Array): Uint8Array<ArrayBuffer> {
  return concat(utf8(label), new Uint8Array([0]), body);
}

/**
 * Signs `body` under `label` and encodes the SignedBody.
 *
 * @example const bytes = await signBody(Labels.descriptor, body, signingKey);
 */
export async function signBody(
  label: string,
  body: Uint8Array,
  privateKey: CryptoKey,
): Promise<Uint8Array> {
  const signature = asBytes(
    await crypto.subtle.sign(ED25519, privateKey, signedBytes(label, body)),
  );
  return encode(signedBodyCodec, { body, signature });
}

/** Whether `signature` is `publicKey`'s over `label` || 0x00 || `body`; CryptoError for a bad key. */
export async function verifyBody(
  label: string,
  body: Uint8Array,
  signature: Uint8Array,
  publicKey: Uint8Array,
): Promise<boolean> {
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey("raw", new Uint8Array(publicKey), ED25519, false, [
      "verify",
    ]);
  } catch {
    throw new CryptoError("invalid signing key");
  }
  return crypto.subtle.verify(ED25519, key, new Uint8Array(signature), signedBytes(label, body));
}
