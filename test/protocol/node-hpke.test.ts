/**
 * The node:crypto HPKE primitives against the stock WebCrypto suite: each opens what the other
 * seals, for both AEADs; keys move between them only as bytes. RFC 9180's and RFC 9458's vectors
 * run on both sets in known-answers.test.ts.
 */
import { createPrivateKey, createPublicKey, randomBytes } from "node:crypto";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { nodeHpkePrimitives } from "../../src/adapters/node/node-hpke-primitives.js";
import {
  AeadId,
  hpkeSuite,
  KdfId,
  KemId,
  webCryptoPrimitives,
  type HpkePrimitives,
} from "../../src/protocol/hpke-suite.js";
import { hkdfExpand, hkdfExtract } from "../../src/protocol/hkdf.js";
import { toHex } from "../../src/protocol/bytes.js";

const bytes = (b: ArrayBuffer) => new Uint8Array(b);
const ids = (aeadId: AeadId) => ({
  kemId: KemId.DhkemX25519HkdfSha256,
  kdfId: KdfId.HkdfSha256,
  aeadId,
});
const PAIRS: [string, HpkePrimitives, HpkePrimitives][] = [
  ["WebCrypto seals, node:crypto opens", webCryptoPrimitives, nodeHpkePrimitives],
  ["node:crypto seals, WebCrypto opens", nodeHpkePrimitives, webCryptoPrimitives],
];

describe.each(PAIRS)("%s", (_name, sealer, opener) => {
  for (const aeadId of [AeadId.Aes128Gcm, AeadId.ChaCha20Poly1305]) {
    it(`AEAD ${aeadId}: several messages and an export, keys passed as bytes`, async () => {
      const seal = hpkeSuite(ids(aeadId), sealer);
      const open = hpkeSuite(ids(aeadId), opener);
      const recipient = await open.kem.generateKeyPair();
      const publicKey = await seal.kem.deserializePublicKey(
        await open.kem.serializePublicKey(recipient.publicKey),
      );
      const info = new TextEncoder().encode("shroud/v2 interop");
      const sender = await seal.createSenderContext({ recipientPublicKey: publicKey, info });
      const receiver = await open.createRecipientContext({
        recipientKey: recipient.privateKey,
        enc: sender.enc,
        info,
      });
      for (const size of [0, 1, 4096, 70_000]) {
        const plaintext = randomBytes(size);
        const aad = randomBytes(size % 7);
        const ct = await sender.seal(plaintext, aad);
        expect(toHex(bytes(await receiver.open(ct, aad)))).toBe(toHex(plaintext));
      }
      const context = new TextEncoder().encode("response");
      expect(toHex(bytes(await receiver.export(context, 32)))).toBe(
        toHex(bytes(await sender.export(context, 32))),
      );
    });
  }

  it("derives the same key pair from the same seed, and refuses a tampered ciphertext", async () => {
    const seal = hpkeSuite(ids(AeadId.Aes128Gcm), sealer);
    const open = hpkeSuite(ids(AeadId.Aes128Gcm), opener);
    const seed = randomBytes(32);
    const a = await seal.kem.deriveKeyPair(seed);
    const b = await open.kem.deriveKeyPair(seed);
    expect(toHex(bytes(await seal.kem.serializePrivateKey(a.privateKey)))).toBe(
      toHex(bytes(await open.kem.serializePrivateKey(b.privateKey))),
    );
    const { enc, ct } = await seal.seal(
      {
        recipientPublicKey: await seal.kem.deserializePublicKey(
          await open.kem.serializePublicKey(b.publicKey),
        ),
      },
      new Uint8Array([1, 2, 3]),
    );
    const tampered = bytes(ct).slice();
    tampered[0]! ^= 1;
    await expect(open.open({ recipientKey: b.privateKey, enc }, tampered)).rejects.toThrow();
  });
});

describe("node:crypto HPKE primitives", () => {
  const suite = hpkeSuite(ids(AeadId.Aes128Gcm), nodeHpkePrimitives);

  it("imports a private key from the JWK `d` alone, whatever `x` says (what the X25519 key relies on)", () => {
    const raw = randomBytes(32);
    const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b656e04220420", "hex"), raw]);
    const reference = createPublicKey(
      createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" }),
    );
    const viaJwk = createPublicKey(
      createPrivateKey({
        key: {
          kty: "OKP",
          crv: "X25519",
          d: raw.toString("base64url"),
          x: Buffer.alloc(32, 9).toString("base64url"),
        },
        format: "jwk",
      }),
    );
    expect(viaJwk.equals(reference)).toBe(true);
  });

  it("keeps private key bytes out of JSON and inspect output", async () => {
    const { privateKey } = await suite.kem.generateKeyPair();
    const secret = toHex(bytes(await suite.kem.serializePrivateKey(privateKey)));
    const b64 = Buffer.from(secret, "hex").toString("base64");
    for (const text of [
      JSON.stringify(privateKey),
      inspect(privateKey, { showHidden: true, depth: 5 }),
    ]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(b64);
    }
  });

  it("refuses a low-order peer key (an all-zero shared secret) and a key of the wrong length", async () => {
    const recipient = await suite.kem.generateKeyPair();
    await expect(
      suite.createRecipientContext({ recipientKey: recipient.privateKey, enc: new Uint8Array(32) }),
    ).rejects.toThrow();
    await expect(suite.kem.deserializePublicKey(new Uint8Array(31))).rejects.toThrow();
    await expect(suite.kem.deserializePrivateKey(new Uint8Array(33))).rejects.toThrow();
  });

  it("refuses a key made by other primitives instead of misusing it", async () => {
    const stock = await hpkeSuite(ids(AeadId.Aes128Gcm), webCryptoPrimitives).kem.generateKeyPair();
    await expect(
      suite.seal({ recipientPublicKey: stock.publicKey }, new Uint8Array(1)),
    ).rejects.toThrow();
  });

  it("gives the plain HKDF of hkdf.ts the same answers as WebCrypto HMAC", async () => {
    const salt = randomBytes(44);
    const ikm = randomBytes(32);
    const info = new TextEncoder().encode("key");
    for (const length of [0, 12, 32, 80]) {
      const [a, b] = await Promise.all(
        [webCryptoPrimitives, nodeHpkePrimitives].map(async (p) =>
          toHex(
            await hkdfExpand(
              KdfId.HkdfSha256,
              await hkdfExtract(KdfId.HkdfSha256, salt, ikm, p),
              info,
              length,
              p,
            ),
          ),
        ),
      );
      expect(a).toBe(b);
    }
    const empty = await Promise.all(
      [webCryptoPrimitives, nodeHpkePrimitives].map(async (p) =>
        toHex(await hkdfExtract(KdfId.HkdfSha256, new Uint8Array(0), ikm, p)),
      ),
    );
    expect(empty[0]).toBe(empty[1]);
  });
});
