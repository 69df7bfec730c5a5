/**
 * HPKE key configurations in the encoding of RFC 9458 §3.
 *
 *   struct {
 *     uint16 kdf_id;
 *     uint16 aead_id;
 *   } HpkeSymmetricAlgorithms;
 *
 *   struct {
 *     uint8 key_id;
 *     uint16 kem_id;
 *     opaque public_key[Npk];
 *     HpkeSymmetricAlgorithms cipher_suites<4..2^16-4>;
 *   } KeyConfig;
 *
 * The application/ohttp-keys list (RFC 9458 §3.2) is a sequence of KeyConfig, each preceded by
 * its length as a uint16.
 */
import { Reader, Writer, decode, uint16, uint8, type Codec } from "./codec.js";
import { DecodeError } from "./errors.js";
import {
  isAeadId,
  isKdfId,
  isKemId,
  publicKeyLength,
  type AeadId,
  type KdfId,
  type KemId,
} from "./hpke-suite.js";

export interface SymmetricAlgorithms {
  kdfId: KdfId;
  aeadId: AeadId;
}

export interface KeyConfig {
  keyId: number;
  kemId: KemId;
  publicKey: Uint8Array;
  suites: SymmetricAlgorithms[];
}

export const keyConfigCodec: Codec<KeyConfig> = {
  size: (c) => 1 + 2 + c.publicKey.length + 2 + 4 * c.suites.length,
  write(c, w: Writer) {
    if (c.suites.length === 0 || c.suites.length > 16383) {
      throw new RangeError("a key config needs 1..16383 cipher suites");
    }
    if (!isKemId(c.kemId) || c.publicKey.length !== publicKeyLength(c.kemId)) {
      throw new RangeError("unsupported KEM or bad public key");
    }
    for (const s of c.suites) {
      if (!isKdfId(s.kdfId) || !isAeadId(s.aeadId)) throw new RangeError("unsupported suite");
    }
    uint8.write(c.keyId, w);
    uint16.write(c.kemId, w);
    w.raw(c.publicKey);
    uint16.write(4 * c.suites.length, w);
    for (const s of c.suites) {
      uint16.write(s.kdfId, w);
      uint16.write(s.aeadId, w);
    }
  },
  read(r: Reader) {
    const keyId = r.u8();
    const kemId = r.u16();
    if (!isKemId(kemId)) throw new DecodeError("unsupported KEM");
    const publicKey = r.raw(publicKeyLength(kemId));
    const length = r.u16();
    if (length < 4 || length % 4 !== 0) throw new DecodeError("bad cipher suite list length");
    const list = new Reader(r.raw(length));
    const suites: SymmetricAlgorithms[] = [];
    while (list.remaining > 0) {
      const kdfId = list.u16();
      const aeadId = list.u16();
      // Unknown algorithms are skipped, as a client must ignore suites it cannot use.
      if (isKdfId(kdfId) && isAeadId(aeadId)) suites.push({ kdfId, aeadId });
    }
    if (suites.length === 0) throw new DecodeError("no supported cipher suite");
    return { keyId, kemId, publicKey, suites };
  },
};

/** The application/ohttp-keys list form: uint16-length-prefixed key configs. */
export const keyConfigListCodec: Codec<KeyConfig[]> = {
  size: (list) => list.reduce((sum, c) => sum + 2 + keyConfigCodec.size(c), 0),
  write(list, w) {
    for (const c of list) {
      uint16.write(keyConfigCodec.size(c), w);
      keyConfigCodec.write(c, w);
    }
  },
  read(r) {
    const list: KeyConfig[] = [];
    while (r.remaining > 0) {
      const length = r.u16();
      list.push(decode(keyConfigCodec, r.raw(length)));
    }
    return list;
  },
};
