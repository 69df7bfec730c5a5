/**
 * The issuer's half of blind RSA (RFC 9474 §4.3, BlindSign): the raw RSA private operation on a
 * blinded message, checked before it leaves. WebCrypto offers no raw RSA, so the relay takes it
 * from its entry point: node:crypto on Node (src/adapters/node/node-blind-signer.ts); a runtime
 * without one does not issue tokens (it can still redeem them: verifying needs only WebCrypto).
 */
import type { TokenKeyPrivate } from "./token-keys.js";

/** The raw RSA private operation issuance needs (nodeBlindSigner on Node). */
export interface BlindSigner {
  /**
   * s = m^d mod n for the blinded message m, as kLen bytes; CryptoError when m is not below n or
   * s^e mod n does not give m back (a fault in the private operation must not leak the key).
   */
  sign(key: TokenKeyPrivate, blindedMsg: Uint8Array): Promise<Uint8Array>;
}
