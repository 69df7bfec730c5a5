/**
 * Opens a sealed request with a stock @hpke/core CipherSuite and its single-shot `open`,
 * bypassing src/protocol (no hpkeSuite cache, no context kept for a response).
 */
import { Aes128Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from "@hpke/core";
import { Labels } from "../../src/protocol/labels.js";

/** RequestHeader (key id, KEM, KDF, AEAD ids) and enc lengths of a sealed request. */
const HEADER_LENGTH = 7;
const ENC_LENGTH = 32;

/**
 * @example const open = await bareOpener(privateKeyBytes); const plaintext = await open(sealed);
 */
export async function bareOpener(
  privateKey: Uint8Array,
): Promise<(sealed: Uint8Array) => Promise<ArrayBuffer>> {
  const suite = new CipherSuite({
    kem: new DhkemX25519HkdfSha256(),
    kdf: new HkdfSha256(),
    aead: new Aes128Gcm(),
  });
  const recipientKey = await suite.kem.deserializePrivateKey(privateKey);
  const label = new TextEncoder().encode(Labels.request);
  return (sealed) => {
    const info = new Uint8Array(label.length + 1 + HEADER_LENGTH);
    info.set(label);
    info.set(sealed.subarray(0, HEADER_LENGTH), label.length + 1);
    return suite.open(
      { recipientKey, enc: sealed.subarray(HEADER_LENGTH, HEADER_LENGTH + ENC_LENGTH), info },
      sealed.subarray(HEADER_LENGTH + ENC_LENGTH),
    );
  };
}
