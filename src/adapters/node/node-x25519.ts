/**
 * X25519 for HPKE's DHKEM (RFC 9180 §4.1, §7.1.3) on synchronous node:crypto, as the
 * `DhkemPrimitives` that @hpke/common's `Dhkem` builds a KEM from.
 *
 * Key handling avoids two costs and one hazard measured on Node 20: importing a raw private key
 * as PKCS#8 DER takes about 0.5 ms (a JWK import about a fifth of that), deriving a public key
 * is a full scalar multiplication (so each key keeps its public half once known), and exporting
 * a freshly generated key as JWK has hung for good under memory pressure (so public keys come
 * out as X25519(sk, 9), never through a JWK export).
 */
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";
import type { DhkemPrimitives } from "@hpke/common";
import type { KdfInterface } from "@hpke/core";
import { bytesOf, ownArrayBuffer } from "./byte-views.js";

const KEY_SIZE = 32;
const LABEL_DKP_PRK = new TextEncoder().encode("dkp_prk");
const LABEL_SK = new TextEncoder().encode("sk");
const ALGORITHM: KeyAlgorithm = { name: "X25519" };

function b64url(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64url");
}

function publicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: "OKP", crv: "X25519", x: b64url(raw) }, format: "jwk" });
}

/**
 * An X25519 key held as raw bytes, its node:crypto KeyObject, or both (each made from the other
 * when first needed). Implements CryptoKey so that @hpke/core passes it through untouched; its
 * bytes are in private fields, so neither JSON nor inspect output shows them.
 */
class X25519Key implements CryptoKey {
  readonly algorithm = ALGORITHM;
  readonly extractable = true;
  readonly type: KeyType;
  readonly usages: KeyUsage[];
  #raw: Uint8Array | undefined;
  #object: KeyObject | undefined;
  #publicKey: X25519Key | undefined;

  constructor(type: KeyType, key: Uint8Array | KeyObject, publicKey?: X25519Key) {
    this.type = type;
    this.usages = type === "private" ? ["deriveBits"] : [];
    if (key instanceof Uint8Array) {
      if (key.length !== KEY_SIZE) throw new Error("an X25519 key is 32 bytes");
      this.#raw = Uint8Array.from(key);
    } else {
      this.#object = key;
    }
    this.#publicKey = publicKey;
  }

  get raw(): Uint8Array {
    // Only a private key can start as a KeyObject (a generated one); its bytes end its PKCS#8.
    this.#raw ??= new Uint8Array(
      this.object.export({ type: "pkcs8", format: "der" }).subarray(-KEY_SIZE),
    );
    return Uint8Array.from(this.#raw);
  }

  get object(): KeyObject {
    // Node derives the public half of an OKP private JWK from `d` and ignores `x`; a JWK
    // import costs about a fifth of a PKCS#8 one (test/protocol/node-hpke.test.ts pins this).
    this.#object ??=
      this.type === "public"
        ? publicKeyObject(this.raw)
        : createPrivateKey({
            key: { kty: "OKP", crv: "X25519", d: b64url(this.raw), x: b64url(BASE_POINT) },
            format: "jwk",
          });
    return this.#object;
  }

  /** The public half of a private key (computed once). */
  publicKey(): X25519Key {
    if (this.type === "public") return this;
    this.#publicKey ??= new X25519Key("public", dh(this.object, basePoint()));
    return this.#publicKey;
  }

  toJSON(): string {
    return `[X25519 ${this.type} key]`;
  }
}

const BASE_POINT = (() => {
  const p = new Uint8Array(KEY_SIZE);
  p[0] = 9;
  return p;
})();
let basePointKey: KeyObject | undefined;
function basePoint(): KeyObject {
  basePointKey ??= publicKeyObject(BASE_POINT);
  return basePointKey;
}

function dh(privateKey: KeyObject, publicKey: KeyObject): Uint8Array {
  const shared = new Uint8Array(diffieHellman({ privateKey, publicKey }));
  // RFC 9180 §7.1.4: an all-zero X25519 output (a low-order peer key) is an error.
  if (shared.every((b) => b === 0)) throw new Error("X25519 output is all zero");
  return shared;
}

function asX25519(key: CryptoKey): X25519Key {
  if (key instanceof X25519Key) return key;
  throw new Error("not a key of the node:crypto X25519 primitives");
}

/**
 * X25519 DHKEM primitives on node:crypto.
 *
 * @example
 * const kdf = new NodeHkdfSha256();
 * const kem = new Dhkem(0x0020, new NodeX25519(kdf), kdf);
 */
export class NodeX25519 implements DhkemPrimitives {
  readonly #kdf: KdfInterface;

  /** `kdf` must be the KEM's own KDF (initialised with the KEM's suite id by Dhkem). */
  constructor(kdf: KdfInterface) {
    this.#kdf = kdf;
  }

  serializePublicKey(key: CryptoKey): Promise<ArrayBuffer> {
    return Promise.resolve(ownArrayBuffer(asX25519(key).raw));
  }

  deserializePublicKey(key: ArrayBufferLike | ArrayBufferView): Promise<CryptoKey> {
    return Promise.resolve(this.#import(bytesOf(key), true));
  }

  serializePrivateKey(key: CryptoKey): Promise<ArrayBuffer> {
    return Promise.resolve(ownArrayBuffer(asX25519(key).raw));
  }

  deserializePrivateKey(key: ArrayBufferLike | ArrayBufferView): Promise<CryptoKey> {
    return Promise.resolve(this.#import(bytesOf(key), false));
  }

  importKey(
    format: "raw" | "jwk",
    key: ArrayBuffer | JsonWebKey,
    isPublic: boolean,
  ): Promise<CryptoKey> {
    if (format === "raw") {
      if (!(key instanceof ArrayBuffer)) return Promise.reject(new Error("raw key not bytes"));
      return Promise.resolve(this.#import(new Uint8Array(key), isPublic));
    }
    if (key instanceof ArrayBuffer) return Promise.reject(new Error("jwk key is bytes"));
    if (key.kty !== "OKP" || key.crv !== "X25519")
      return Promise.reject(new Error("not an X25519 JWK"));
    const field = isPublic ? key.x : key.d;
    if (typeof field !== "string" || (isPublic && key.d !== undefined))
      return Promise.reject(new Error("JWK lacks its key"));
    return Promise.resolve(this.#import(Buffer.from(field, "base64url"), isPublic));
  }

  generateKeyPair(): Promise<CryptoKeyPair> {
    // The public half as X25519(sk, 9) costs about half of an SPKI export of the generated one.
    const privateKey = new X25519Key("private", generateKeyPairSync("x25519").privateKey);
    return Promise.resolve({ publicKey: privateKey.publicKey(), privateKey });
  }

  async deriveKeyPair(ikm: ArrayBufferLike | ArrayBufferView): Promise<CryptoKeyPair> {
    const prk = await this.#kdf.labeledExtract(new ArrayBuffer(0), LABEL_DKP_PRK, bytesOf(ikm));
    const sk = await this.#kdf.labeledExpand(prk, LABEL_SK, new Uint8Array(0), KEY_SIZE);
    const privateKey = new X25519Key("private", new Uint8Array(sk));
    return { privateKey, publicKey: privateKey.publicKey() };
  }

  derivePublicKey(key: CryptoKey): Promise<CryptoKey> {
    try {
      return Promise.resolve(asX25519(key).publicKey());
    } catch (cause) {
      return Promise.reject(cause instanceof Error ? cause : new Error(String(cause)));
    }
  }

  dh(sk: CryptoKey, pk: CryptoKey): Promise<ArrayBuffer> {
    try {
      return Promise.resolve(ownArrayBuffer(dh(asX25519(sk).object, asX25519(pk).object)));
    } catch (cause) {
      return Promise.reject(cause instanceof Error ? cause : new Error(String(cause)));
    }
  }

  #import(raw: Uint8Array, isPublic: boolean): X25519Key {
    if (raw.length !== KEY_SIZE) throw new Error("an X25519 key is 32 bytes");
    const key = new X25519Key(isPublic ? "public" : "private", raw);
    // Import now, so a malformed key fails here and not in the middle of an open.
    void key.object;
    return key;
  }
}
