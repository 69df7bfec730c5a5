/**
 * HPKE open of a 4 KiB sealed request, three ways in one run: envelope.ts's openRequest on the
 * WebCrypto primitives (what Workers and browsers use), the same on the node:crypto primitives
 * (what the Node entry points install), and a floor: RFC 9180 base-mode open written straight on
 * synchronous node:crypto, with no @hpke/core and no promise per step. The figure
 * `hpke.open.4k` is the node:crypto openRequest rate, its floor this last one.
 */
import {
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
} from "node:crypto";
import { nodeHpkePrimitives } from "../../src/adapters/node/node-hpke-primitives.js";
import { randomBytes } from "../../src/protocol/bytes.js";
import {
  openRequest,
  REQUEST_OVERHEAD,
  sealRequest,
  type OpeningKey,
} from "../../src/protocol/envelope.js";
import {
  activeHpkePrimitives,
  AeadId,
  hpkeSuite,
  KdfId,
  KemId,
  useHpkePrimitives,
  webCryptoPrimitives,
  type HpkePrimitives,
} from "../../src/protocol/hpke-suite.js";
import { Labels } from "../../src/protocol/labels.js";
import { timedRun, type TimedRunOptions, type TimedRunResult } from "../common/timed-run.js";

const SIZE = 4096;
const HEADER_LENGTH = 7;
const ENC_LENGTH = 32;
const IDS = {
  kemId: KemId.DhkemX25519HkdfSha256,
  kdfId: KdfId.HkdfSha256,
  aeadId: AeadId.Aes128Gcm,
};
const ENVELOPES = 256;

const utf8 = (s: string) => Buffer.from(s, "utf8");
const hmac = (key: Uint8Array, ...data: Uint8Array[]) => {
  const h = createHmac("sha256", key);
  for (const d of data) h.update(d);
  return h.digest();
};
const i2osp2 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const KEM_SUITE = Buffer.concat([utf8("KEM"), i2osp2(0x20)]);
const HPKE_SUITE = Buffer.concat([utf8("HPKE"), i2osp2(0x20), i2osp2(1), i2osp2(1)]);
const V1 = utf8("HPKE-v1");

function labeledExtract(suite: Buffer, salt: Uint8Array, label: string, ikm: Uint8Array) {
  return hmac(salt, V1, suite, utf8(label), ikm);
}

function labeledExpand(
  suite: Buffer,
  prk: Uint8Array,
  label: string,
  info: Uint8Array,
  length: number,
) {
  // Every output here is at most one hash long: T(1) is the answer.
  return hmac(prk, i2osp2(length), V1, suite, utf8(label), info, Buffer.from([1])).subarray(
    0,
    length,
  );
}

/** The floor: an RFC 9180 base-mode single-shot open, every step synchronous node:crypto. */
function rawOpener(privateKey: Uint8Array, publicKey: Uint8Array) {
  const sk = createPrivateKey({
    key: {
      kty: "OKP",
      crv: "X25519",
      d: Buffer.from(privateKey).toString("base64url"),
      x: Buffer.from(publicKey).toString("base64url"),
    },
    format: "jwk",
  });
  const label = utf8(Labels.request);
  return (sealed: Uint8Array): Buffer => {
    const enc = sealed.subarray(HEADER_LENGTH, HEADER_LENGTH + ENC_LENGTH);
    const pkE = createPublicKey({
      key: { kty: "OKP", crv: "X25519", x: Buffer.from(enc).toString("base64url") },
      format: "jwk",
    });
    const dh = diffieHellman({ privateKey: sk, publicKey: pkE });
    const kemContext = Buffer.concat([enc, publicKey]);
    const eaePrk = labeledExtract(KEM_SUITE, new Uint8Array(0), "eae_prk", dh);
    const shared = labeledExpand(KEM_SUITE, eaePrk, "shared_secret", kemContext, 32);
    const info = Buffer.concat([label, Buffer.from([0]), sealed.subarray(0, HEADER_LENGTH)]);
    const pskIdHash = labeledExtract(
      HPKE_SUITE,
      new Uint8Array(0),
      "psk_id_hash",
      new Uint8Array(0),
    );
    const infoHash = labeledExtract(HPKE_SUITE, new Uint8Array(0), "info_hash", info);
    const context = Buffer.concat([Buffer.from([0]), pskIdHash, infoHash]);
    const secret = labeledExtract(HPKE_SUITE, shared, "secret", new Uint8Array(0));
    const key = labeledExpand(HPKE_SUITE, secret, "key", context, 16);
    const nonce = labeledExpand(HPKE_SUITE, secret, "base_nonce", context, 12);
    const ct = sealed.subarray(HEADER_LENGTH + ENC_LENGTH);
    const decipher = createDecipheriv("aes-128-gcm", key, nonce, { authTagLength: 16 });
    decipher.setAuthTag(ct.subarray(ct.length - 16));
    return Buffer.concat([decipher.update(ct.subarray(0, ct.length - 16)), decipher.final()]);
  };
}

export interface HpkeOpenFigures {
  webCrypto: TimedRunResult;
  node: TimedRunResult;
  floor: TimedRunResult;
}

/** A key pair made on `primitives` (now the active ones) and requests sealed to it. */
async function openingFixture(primitives: HpkePrimitives) {
  useHpkePrimitives(primitives);
  const suite = hpkeSuite(IDS, primitives);
  const pair = await suite.kem.generateKeyPair();
  const publicKey = new Uint8Array(await suite.kem.serializePublicKey(pair.publicKey));
  const key: OpeningKey = {
    config: {
      keyId: 1,
      kemId: IDS.kemId,
      publicKey,
      suites: [{ kdfId: IDS.kdfId, aeadId: IDS.aeadId }],
    },
    privateKey: pair.privateKey,
  };
  const sealed: Uint8Array[] = [];
  for (let i = 0; i < ENVELOPES; i++) {
    sealed.push((await sealRequest(key.config, randomBytes(SIZE - REQUEST_OVERHEAD))).sealed);
  }
  return {
    key,
    sealed,
    privateKey: new Uint8Array(await suite.kem.serializePrivateKey(pair.privateKey)),
    publicKey,
  };
}

/** Measures the three opens of 4 KiB requests (each envelope opened many times: no replay check). */
export async function measureHpkeOpen(timing: TimedRunOptions): Promise<HpkeOpenFigures> {
  const previous = activeHpkePrimitives();
  try {
    const opens = ({ key, sealed }: Awaited<ReturnType<typeof openingFixture>>) =>
      timedRun((i) => openRequest(() => key, sealed[i % sealed.length]!), timing);
    const webCrypto = await opens(await openingFixture(webCryptoPrimitives));
    // The node:crypto row and the floor open the same envelopes under the same key.
    const onNode = await openingFixture(nodeHpkePrimitives);
    const node = await opens(onNode);
    const { key, sealed, privateKey, publicKey } = onNode;
    const open = rawOpener(privateKey, publicKey);
    const reference = (await openRequest(() => key, sealed[0]!)).plaintext;
    if (!open(sealed[0]!).equals(reference))
      throw new Error("the floor's open disagrees with openRequest");
    const floor = await timedRun(async (i) => {
      open(sealed[i % sealed.length]!);
    }, timing);
    return { webCrypto, node, floor };
  } finally {
    useHpkePrimitives(previous);
  }
}
