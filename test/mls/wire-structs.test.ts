/**
 * The wire structs of MLS groups over Shroud: GroupMessage (and its sealed, padded form in an
 * epoch inbox), GroupInvitation and the WelcomeBlob it carries. Roundtrips, truncation, trailing bytes, wrong keys, and
 * a fuzz property: arbitrary input never raises anything but a ShroudError subclass.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeInvitation,
  encodeInvitation,
  groupInvitationCodec,
  keyPackageHash,
  PersonalMessageKind,
  type GroupInvitation,
} from "../../src/client/mls/group-invitation.js";
import {
  encodeGroupMessage,
  GROUP_SEAL_OVERHEAD,
  groupMessageCodec,
  openGroupPayload,
  sealGroupPayload,
  type GroupMessage,
} from "../../src/client/mls/group-payload.js";
import { welcomeBlobCodec, type WelcomeBlob } from "../../src/client/mls/welcome-blob.js";
import { concat, randomBytes, utf8 } from "../../src/protocol/bytes.js";
import { decode, encode, opaque } from "../../src/protocol/codec.js";
import { CryptoError, DecodeError, ShroudError } from "../../src/protocol/errors.js";
import { PaddingPolicy } from "../../src/protocol/padding-policy.js";
import { SecretBytes } from "../../src/protocol/secret-bytes.js";
import {
  expectDecodeError,
  expectEveryPrefixRefused,
  expectExactly,
  flipBit,
  pattern,
  rejection,
  sameBytes,
} from "../../testkit/protocol-checks.js";

const padding = new PaddingPolicy();
const RUNS = 300;

const message: GroupMessage = { messageId: pattern(16, 3), mlsMessage: pattern(700, 9) };

function blob(seed = 11): WelcomeBlob {
  return {
    readSecret: new SecretBytes(pattern(32, seed)),
    writeTokenHash: pattern(32, seed + 1),
    payloadKey: new SecretBytes(pattern(32, seed + 2)),
  };
}

function sameBlob(a: WelcomeBlob, b: WelcomeBlob): boolean {
  return (
    sameBytes(a.readSecret.expose(), b.readSecret.expose()) &&
    sameBytes(a.writeTokenHash, b.writeTokenHash) &&
    sameBytes(a.payloadKey.expose(), b.payloadKey.expose())
  );
}

function invitation(overrides: Partial<GroupInvitation> = {}): GroupInvitation {
  return {
    kind: PersonalMessageKind.invitation,
    groupName: "friends ✓",
    groupRelay: "https://relay.example:8443",
    relaySigningKey: pattern(32, 5),
    keyPackageHash: pattern(32, 7),
    welcome: blob(),
    ...overrides,
  };
}

async function seal(key: Uint8Array, inboxId: Uint8Array, content: Uint8Array) {
  return sealGroupPayload(key, inboxId, padding.pad(content, GROUP_SEAL_OVERHEAD));
}

/** Runs `run`; it may resolve or reject with a ShroudError subclass, nothing else. */
async function onlyShroudErrors(run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (!(error instanceof ShroudError)) {
      const name = error instanceof Error ? error.constructor.name : typeof error;
      throw new Error(`threw ${name}: ${String(error)}`, { cause: error });
    }
  }
}

describe("GroupMessage codec", () => {
  it("roundtrips, with the layout the header comment gives", () => {
    const encoded = encodeGroupMessage(message);
    // message_id[16] || varint(700) = 0x42 0xbc || mls_message
    expect(encoded.length).toBe(16 + 2 + 700);
    expect(sameBytes(encoded.subarray(0, 16), message.messageId)).toBe(true);
    expect([...encoded.subarray(16, 18)]).toEqual([0x42, 0xbc]);
    const decoded = decode(groupMessageCodec, encoded);
    expect(sameBytes(decoded.messageId, message.messageId)).toBe(true);
    expect(sameBytes(decoded.mlsMessage, message.mlsMessage)).toBe(true);
    // An empty MLS message still roundtrips (the codec does not judge the content).
    const empty = decode(
      groupMessageCodec,
      encodeGroupMessage({ ...message, mlsMessage: pattern(0) }),
    );
    expect(empty.mlsMessage.length).toBe(0);
  });

  it("refuses every prefix and any trailing byte with DecodeError", () => {
    expectEveryPrefixRefused(groupMessageCodec, encodeGroupMessage(message));
    const encoded = encodeGroupMessage(message);
    expectDecodeError(() => decode(groupMessageCodec, concat(encoded, new Uint8Array([0]))));
    expectDecodeError(() => decode(groupMessageCodec, concat(encoded, pattern(40))));
  });

  it("will not encode a message id of the wrong length", () => {
    expect(() => encodeGroupMessage({ ...message, messageId: pattern(15) })).toThrow(RangeError);
  });
});

describe("sealed group payload", () => {
  const key = pattern(32, 21);
  const inboxId = pattern(32, 23);

  it("opens under the same key and inbox id, and fills a bucket when padded for the seal overhead", async () => {
    const sealed = await seal(key, inboxId, encodeGroupMessage(message));
    // nonce || ciphertext || tag around the padded message
    expect(padding.isBucket(sealed.length)).toBe(true);
    const opened = await openGroupPayload(key, inboxId, sealed, padding);
    expect(sameBytes(opened.messageId, message.messageId)).toBe(true);
    expect(sameBytes(opened.mlsMessage, message.mlsMessage)).toBe(true);
    // Sealing is randomised: the same message twice gives different bytes.
    const again = await seal(key, inboxId, encodeGroupMessage(message));
    expect(sameBytes(again, sealed)).toBe(false);
    // The plaintext appears nowhere in the sealed form.
    expect(Buffer.from(sealed).includes(Buffer.from(message.mlsMessage.subarray(0, 32)))).toBe(
      false,
    );
  });

  it("refuses a wrong key, a wrong inbox id and any bit flip with CryptoError", async () => {
    const sealed = await seal(key, inboxId, encodeGroupMessage(message));
    expectExactly(
      await rejection(openGroupPayload(pattern(32, 22), inboxId, sealed, padding)),
      CryptoError,
    );
    expectExactly(
      await rejection(openGroupPayload(key, pattern(32, 24), sealed, padding)),
      CryptoError,
    );
    // A key of the wrong length is a CryptoError too, not a DOMException.
    expectExactly(
      await rejection(openGroupPayload(key.subarray(0, 5), inboxId, sealed, padding)),
      CryptoError,
    );
    for (const bit of [0, 95, 96, 8 * sealed.length - 1, 8 * 500 + 3]) {
      expectExactly(
        await rejection(openGroupPayload(key, inboxId, flipBit(sealed, bit), padding)),
        CryptoError,
      );
    }
  });

  it("refuses every truncation and trailing bytes (DecodeError below the overhead, else CryptoError)", async () => {
    const sealed = await seal(
      key,
      inboxId,
      encodeGroupMessage({ ...message, mlsMessage: pattern(40) }),
    );
    const wrong: string[] = [];
    for (let length = 0; length < sealed.length; length++) {
      const error = await rejection(
        openGroupPayload(key, inboxId, sealed.subarray(0, length), padding),
      );
      const expected = length < GROUP_SEAL_OVERHEAD ? DecodeError : CryptoError;
      if ((error as object).constructor !== expected) wrong.push(`${length}: ${String(error)}`);
    }
    expect(wrong).toEqual([]);
    expectExactly(
      await rejection(openGroupPayload(key, inboxId, concat(sealed, new Uint8Array([0])), padding)),
      CryptoError,
    );
  });

  it("refuses well-sealed content that is not a padded GroupMessage with DecodeError", async () => {
    const encoded = encodeGroupMessage(message);
    // Trailing bytes inside the padding's content.
    expectExactly(
      await rejection(
        openGroupPayload(
          key,
          inboxId,
          await seal(key, inboxId, concat(encoded, new Uint8Array([7]))),
          padding,
        ),
      ),
      DecodeError,
    );
    // A truncated GroupMessage.
    expectExactly(
      await rejection(
        openGroupPayload(key, inboxId, await seal(key, inboxId, encoded.subarray(0, 17)), padding),
      ),
      DecodeError,
    );
    // Non-zero padding.
    const padded = padding.pad(encoded, GROUP_SEAL_OVERHEAD);
    padded[padded.length - 1] = 1;
    expectExactly(
      await rejection(
        openGroupPayload(key, inboxId, await sealGroupPayload(key, inboxId, padded), padding),
      ),
      DecodeError,
    );
    // Nothing at all under the seal.
    expectExactly(
      await rejection(
        openGroupPayload(
          key,
          inboxId,
          await sealGroupPayload(key, inboxId, new Uint8Array(0)),
          padding,
        ),
      ),
      DecodeError,
    );
  });
});

describe("WelcomeBlob codec", () => {
  it("roundtrips as 96 bytes, the same for every group", () => {
    const value = blob(21);
    const encoded = encode(welcomeBlobCodec, value);
    expect(encoded.length).toBe(96);
    expect(sameBlob(decode(welcomeBlobCodec, encoded), value)).toBe(true);
    expect(sameBlob(decode(welcomeBlobCodec, encoded), blob(22))).toBe(false);
  });

  it("refuses every prefix and trailing bytes with DecodeError", () => {
    const encoded = encode(welcomeBlobCodec, blob(31));
    expectEveryPrefixRefused(welcomeBlobCodec, encoded);
    expectDecodeError(() => decode(welcomeBlobCodec, concat(encoded, new Uint8Array([0]))));
  });
});

describe("GroupInvitation codec", () => {
  it("roundtrips", () => {
    const value = invitation();
    const decoded = decodeInvitation(encodeInvitation(value));
    expect(decoded.kind).toBe(PersonalMessageKind.invitation);
    expect(decoded.groupName).toBe(value.groupName);
    expect(decoded.groupRelay).toBe(value.groupRelay);
    expect(sameBytes(decoded.relaySigningKey, value.relaySigningKey)).toBe(true);
    expect(sameBytes(decoded.keyPackageHash, value.keyPackageHash)).toBe(true);
    expect(sameBlob(decoded.welcome, value.welcome)).toBe(true);
    const unpinned = decodeInvitation(
      encodeInvitation(invitation({ relaySigningKey: pattern(0) })),
    );
    expect(unpinned.relaySigningKey.length).toBe(0);
  });

  it("refuses every prefix and trailing bytes with DecodeError", () => {
    const encoded = encodeInvitation(invitation({ welcome: blob(90) }));
    expectEveryPrefixRefused(groupInvitationCodec, encoded);
    expectDecodeError(() => decodeInvitation(concat(encoded, new Uint8Array([0]))));
  });

  it("refuses an unknown kind, a group name over 64 bytes, bad UTF-8 and an oversized pin", () => {
    const encoded = encodeInvitation(invitation());
    const badKind = new Uint8Array(encoded);
    badKind[0] = 2;
    expectDecodeError(() => decodeInvitation(badKind));
    // kind || opaque name || the rest: built by hand, since encoding refuses a long name.
    const rest = encoded.subarray(1 + 1 + utf8("friends ✓").length);
    const withName = (name: Uint8Array) =>
      concat(new Uint8Array([1]), encode(opaque(), name), rest);
    const longName = withName(utf8("n".repeat(65)));
    expectDecodeError(() => decodeInvitation(longName));
    const badUtf8 = withName(new Uint8Array([0xc3, 0x28]));
    expectDecodeError(() => decodeInvitation(badUtf8));
    expect(() => encodeInvitation(invitation({ groupName: "n".repeat(65) }))).toThrow(RangeError);
    expect(() => encodeInvitation(invitation({ relaySigningKey: pattern(65) }))).toThrow(
      RangeError,
    );
    // A control: the hand-built prefix matches what the encoder writes for a 64-byte name.
    const ok = withName(utf8("n".repeat(64)));
    expect(decodeInvitation(ok).groupName).toBe("n".repeat(64));
  });

  it("names a key package by a domain-separated SHA-256", async () => {
    const kp = pattern(320, 13);
    const hash = await keyPackageHash(kp);
    expect(hash.length).toBe(32);
    const plain = new Uint8Array(await crypto.subtle.digest("SHA-256", kp));
    expect(sameBytes(hash, plain)).toBe(false);
    const expected = new Uint8Array(
      await crypto.subtle.digest(
        "SHA-256",
        concat(utf8("shroud/v1 key package"), new Uint8Array([0]), kp),
      ),
    );
    expect(sameBytes(hash, expected)).toBe(true);
  });
});

describe("arbitrary input raises only ShroudError subclasses", () => {
  const anyBytes = fc.oneof(
    fc.uint8Array({ maxLength: 40 }),
    fc.uint8Array({ maxLength: 2000, size: "max" }),
  );

  it("the helper itself rejects other errors", async () => {
    await expect(onlyShroudErrors(async () => Promise.reject(new TypeError("x")))).rejects.toThrow(
      "threw TypeError",
    );
    await expect(onlyShroudErrors(async () => Promise.reject(new DecodeError()))).resolves.toBe(
      undefined,
    );
  });

  it("openGroupPayload on arbitrary payloads, keys and inbox ids", async () => {
    await fc.assert(
      fc.asyncProperty(
        anyBytes,
        fc.oneof(fc.constant(pattern(32, 1)), fc.uint8Array({ maxLength: 40 })),
        fc.uint8Array({ maxLength: 40 }),
        async (payload, key, inboxId) => {
          await onlyShroudErrors(() => openGroupPayload(key, inboxId, payload, padding));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("openGroupPayload on arbitrary content sealed under the right key (the decode path)", async () => {
    const key = pattern(32, 31);
    const inboxId = pattern(32, 33);
    let opened = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          anyBytes.map((content) => padding.pad(content, GROUP_SEAL_OVERHEAD)),
          anyBytes,
          fc
            .tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), anyBytes)
            .map(([id, mls]) =>
              padding.pad(
                encodeGroupMessage({ messageId: id, mlsMessage: mls }),
                GROUP_SEAL_OVERHEAD,
              ),
            ),
        ),
        async (padded) => {
          await onlyShroudErrors(async () => {
            await openGroupPayload(
              key,
              inboxId,
              await sealGroupPayload(key, inboxId, padded),
              padding,
            );
            opened++;
          });
        },
      ),
      { numRuns: RUNS },
    );
    // The generator reaches both outcomes: some inputs open, others are refused.
    expect(opened).toBeGreaterThan(0);
    expect(opened).toBeLessThan(RUNS);
  });

  it("decodeInvitation on arbitrary bytes and on mutated valid invitations", async () => {
    const valid = encode(groupInvitationCodec, invitation({ welcome: blob(60) }));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          anyBytes,
          fc
            .tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat({ max: valid.length }))
            .map(([at, value, cut]) => {
              const out = new Uint8Array(valid.subarray(0, Math.max(cut, 1)));
              out[at % out.length] = value;
              return out;
            }),
          fc.constant(randomBytes(0)),
        ),
        async (input) => {
          await onlyShroudErrors(async () => decodeInvitation(input));
        },
      ),
      { numRuns: 1000 },
    );
  });
});
