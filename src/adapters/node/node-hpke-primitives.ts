/**
 * HPKE on synchronous node:crypto: the relay's hot path (open a request, seal its answer) and the
 * client's seals run several times faster than on @hpke/core's WebCrypto parts, which pay a
 * thread-pool round trip per HMAC. The Node entry points install these (`useHpkePrimitives`);
 * Workers and browsers keep WebCrypto, which is native there. RFC 9180's vectors and two-way
 * interop with the stock suite are in test/protocol/node-hpke.test.ts.
 */
import { createHash } from "node:crypto";
import { Dhkem } from "@hpke/common";
import {
  AeadId,
  KemId,
  useHpkePrimitives,
  type HpkePrimitives,
} from "../../protocol/hpke-suite.js";
import { NodeAes128Gcm, NodeChacha20Poly1305 } from "./node-aead.js";
import { hmacSha256, NodeHkdfSha256 } from "./node-hkdf.js";
import { NodeX25519 } from "./node-x25519.js";

/** DHKEM(X25519, HKDF-SHA256), RFC 9180 KEM id 0x0020, on the node:crypto parts. */
class NodeDhkemX25519 extends Dhkem {
  // Dhkem leaves the sizes to its subclasses; the shared secret's length comes from here.
  override readonly secretSize = 32;
  override readonly encSize = 32;
  override readonly publicKeySize = 32;
  override readonly privateKeySize = 32;

  constructor() {
    // The KEM's KDF carries the KEM's suite id (set by Dhkem), apart from the key schedule's.
    const kdf = new NodeHkdfSha256();
    super(KemId.DhkemX25519HkdfSha256, new NodeX25519(kdf), kdf);
  }
}

/**
 * The node:crypto HPKE primitives.
 *
 * @example
 * const suite = hpkeSuite(ids, nodeHpkePrimitives);
 */
export const nodeHpkePrimitives: HpkePrimitives = {
  kem: () => new NodeDhkemX25519(),
  kdf: () => new NodeHkdfSha256(),
  aead: (id) => (id === AeadId.Aes128Gcm ? new NodeAes128Gcm() : new NodeChacha20Poly1305()),
  hmac: (_kdfId, key, data) => Promise.resolve(hmacSha256(key, data)),
  // A copy of its own: a digest Buffer may sit in Node's shared pool.
  sha256: (data) => Promise.resolve(new Uint8Array(createHash("sha256").update(data).digest())),
};

/**
 * Makes node:crypto the HPKE primitives of every seal and open in this process. Call once at
 * start, before any key is made or loaded: a key belongs to the primitives that made it.
 */
export function useNodeHpke(): void {
  useHpkePrimitives(nodeHpkePrimitives);
}
