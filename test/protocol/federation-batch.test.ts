import { describe, expect, it } from "vitest";
import { concat, fromHex, randomBytes, toHex } from "../../src/protocol/bytes.js";
import { decode, encode } from "../../src/protocol/codec.js";
import { CryptoError, DecodeError } from "../../src/protocol/errors.js";
import {
  batchBodyCodec,
  batchOrigin,
  coverSlot,
  decodeSlot,
  encodeSlot,
  signBatch,
  SLOT_OVERHEAD,
  verifyBatch,
  type Batch,
} from "../../src/protocol/federation-batch.js";
import { expectEveryPrefixRefused } from "../../testkit/protocol-checks.js";

const MAX = 1 << 22;

async function keyPair() {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return { privateKey: pair.privateKey, publicKey: raw };
}

const batch: Batch = {
  origin: "https://a.example",
  destination: "https://b.example",
  batchId: fromHex("00112233445566778899aabbccddeeff"),
  slotCapacity: 8,
  slots: [
    { hops: 1, envelope: fromHex("0102") },
    { hops: 3, envelope: fromHex("0102030405060708") },
    { hops: 1, envelope: new Uint8Array(0) },
  ],
};

describe("federation batch", () => {
  it("encodes slots at a fixed size and decodes them back", () => {
    const slot = encodeSlot({ hops: 2, envelope: fromHex("aabb") }, 6);
    expect(toHex(slot)).toBe("02" + "00000002" + "aabb" + "00000000");
    expect(decodeSlot(slot, 6)).toEqual({ hops: 2, envelope: fromHex("aabb") });
    expect(() => encodeSlot({ hops: 1, envelope: new Uint8Array(7) }, 6)).toThrow(RangeError);
    expect(() => encodeSlot({ hops: 0, envelope: new Uint8Array(1) }, 6)).toThrow(RangeError);
  });

  it("refuses slots with a bad length, hops 0, non-zero padding or the wrong size", () => {
    for (const hex of [
      "01" + "00000007" + "000000000000",
      "00" + "00000001" + "aa0000000000",
      "01" + "00000001" + "aa0000000001",
      "01" + "00000001" + "aa",
    ]) {
      expect(() => decodeSlot(fromHex(hex), 6)).toThrow(DecodeError);
    }
  });

  it("roundtrips a body and refuses every truncation of it", () => {
    const encoded = encode(batchBodyCodec, batch);
    expect(decode(batchBodyCodec, encoded)).toEqual(batch);
    expectEveryPrefixRefused(batchBodyCodec, encoded);
  });

  it("refuses slots that do not divide evenly and capacities out of range", () => {
    const good = encode(batchBodyCodec, batch);
    const odd = encode(batchBodyCodec, { ...batch, slots: [] });
    // Rebuild with one stray byte in the slots field (its length prefix is the last varint).
    const stray = concat(odd.subarray(0, odd.length - 1), fromHex("01ff"));
    expect(() => decode(batchBodyCodec, stray)).toThrow(DecodeError);
    expect(() => decode(batchBodyCodec, good.subarray(0, good.length - 1))).toThrow(DecodeError);
    const zero = encode(batchBodyCodec, { ...batch, slots: [], slotCapacity: 0 });
    expect(() => decode(batchBodyCodec, zero)).toThrow(DecodeError);
  });

  it("signs and verifies; refuses a forged signature, another key and a tampered body", async () => {
    const sender = await keyPair();
    const other = await keyPair();
    const signed = await signBatch(batch, sender.privateKey);
    expect(batchOrigin(signed, MAX)).toBe("https://a.example");
    expect(await verifyBatch(signed, sender.publicKey, MAX)).toEqual(batch);
    await expect(verifyBatch(signed, other.publicKey, MAX)).rejects.toThrow(CryptoError);
    // Inside the body and inside the signature: both must fail the signature check.
    for (const at of [20, signed.length - 70, signed.length - 1]) {
      const tampered = signed.slice();
      tampered[at]! ^= 0x01;
      await expect(verifyBatch(tampered, sender.publicKey, MAX)).rejects.toThrow(
        "bad batch signature",
      );
    }
    // The length prefix of the body: the framing no longer parses.
    const reframed = signed.slice();
    reframed[0]! ^= 0x01;
    await expect(verifyBatch(reframed, sender.publicKey, MAX)).rejects.toThrow(DecodeError);
    await expect(verifyBatch(randomBytes(200), sender.publicKey, MAX)).rejects.toThrow(DecodeError);
  });

  it("makes cover slots shaped like real ones", () => {
    const header = fromHex("07002000010001");
    const slot = coverSlot(header, 1024);
    expect(slot.hops).toBe(1);
    expect(slot.envelope).toHaveLength(1024);
    expect(toHex(slot.envelope.subarray(0, 7))).toBe(toHex(header));
    expect(encodeSlot(slot, 4096)).toHaveLength(4096 + SLOT_OVERHEAD);
    expect(toHex(coverSlot(header, 1024).envelope)).not.toBe(toHex(slot.envelope));
  });
});
