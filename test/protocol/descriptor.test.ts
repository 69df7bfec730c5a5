import { beforeAll, describe, expect, it } from "vitest";
import { asBytes, concat, fromHex, toHex, utf8 } from "../../src/protocol/bytes.js";
import { decode, encode, opaque } from "../../src/protocol/codec.js";
import {
  DESCRIPTOR_VERSION,
  descriptorBodyCodec,
  TokenRequirement,
  normalizeOrigin,
  signDescriptor,
  usableKeys,
  verifyDescriptor,
  type Descriptor,
  type PublishedKey,
} from "../../src/protocol/descriptor.js";
import { DecodeError, DescriptorError } from "../../src/protocol/errors.js";
import { keyConfigCodec, type KeyConfig } from "../../src/protocol/key-config.js";
import { Labels } from "../../src/protocol/labels.js";
import { DEFAULT_BUCKETS } from "../../src/protocol/padding-policy.js";
import { signedBodyCodec } from "../../src/protocol/signed-body.js";
import {
  BOTH_SUITES,
  expectDecodeError,
  expectEveryPrefixRefused,
  expectExactly,
  flipBit,
  generateOpeningKey,
  generateSigningKey,
  pattern,
  rejection,
  settleError,
  thrown,
} from "../../testkit/protocol-checks.js";

const ORIGIN = "https://relay.example";
/** 2025-01-01T00:00:00Z. */
const NOW_S = 1_735_689_600;
const NOW_MS = NOW_S * 1000;
const SKEW_S = 300;

let signing: Awaited<ReturnType<typeof generateSigningKey>>;
let other: Awaited<ReturnType<typeof generateSigningKey>>;
let configA: KeyConfig;
let configB: KeyConfig;
let descriptor: Descriptor;
let signed: Uint8Array;

beforeAll(async () => {
  signing = await generateSigningKey();
  other = await generateSigningKey();
  configA = (await generateOpeningKey(1, BOTH_SUITES)).config;
  configB = (await generateOpeningKey(2, [BOTH_SUITES[0]!])).config;
  descriptor = {
    origin: ORIGIN,
    signingKey: signing.publicKey,
    keys: [
      { config: configA, notBefore: NOW_S - 86_400, notAfter: NOW_S + 3_600 },
      { config: configB, notBefore: NOW_S - 60, notAfter: NOW_S + 86_400 },
    ],
    buckets: [...DEFAULT_BUCKETS],
    roundIntervalMs: 2_000,
    issuedAt: NOW_S - 60,
    expiresAt: NOW_S + 3_600,
  };
  signed = await signDescriptor(descriptor, signing.pair.privateKey);
});

async function signWith(changes: Partial<Descriptor>, key = signing.pair.privateKey) {
  return signDescriptor({ ...descriptor, ...changes }, key);
}

async function expectRefused(promise: Promise<unknown>, message: string): Promise<void> {
  const error = await rejection(promise);
  expectExactly(error, DescriptorError);
  expect((error as DescriptorError).message).toBe(message);
}

describe("descriptorBodyCodec", () => {
  it("roundtrips a descriptor with two published keys", () => {
    const body = encode(descriptorBodyCodec, descriptor);
    expect(decode(descriptorBodyCodec, body)).toEqual(descriptor);
  });

  it("lays the body out as documented", () => {
    const body = encode(descriptorBodyCodec, descriptor);
    const configBytes = encode(keyConfigCodec, configA);
    expect(configBytes.length).toBe(45);
    expect(encode(keyConfigCodec, configB).length).toBe(41);
    const expectedStart =
      "02" + // version
      "15" +
      toHex(utf8(ORIGIN)) + // origin<V>
      toHex(signing.publicKey) + // signing_key[32]
      "4078" + // keys<V>: (1 + 45 + 16) + (1 + 41 + 16) = 120 bytes
      "2d" +
      toHex(configBytes); // first key_config<V>
    expect(toHex(body).startsWith(expectedStart)).toBe(true);
    const tail =
      "18" +
      "00000400" +
      "00001000" +
      "00004000" +
      "00010000" +
      "00040000" +
      "00100000" + // buckets<V>
      "000007d0" + // round_interval_ms
      "0000000067748544" + // issued_at = NOW_S - 60
      "0000000067749390"; // expires_at = NOW_S + 3600
    expect(toHex(body).endsWith(tail)).toBe(true);
  });

  it("roundtrips no keys, no buckets and a non-ASCII origin", () => {
    const bare: Descriptor = {
      ...descriptor,
      origin: "https://bücher.example",
      keys: [],
      buckets: [],
    };
    expect(decode(descriptorBodyCodec, encode(descriptorBodyCodec, bare))).toEqual(bare);
  });

  it("roundtrips a token policy, and refuses its truncations", () => {
    const withTokens: Descriptor = {
      ...descriptor,
      tokens: {
        issuerKeys: [{ publicKey: new Uint8Array([0x30, 1, 2]), notAfter: 1_900_000_000 }],
        acceptedIssuers: ["https://a.example", "https://b.example"],
        requirement: TokenRequirement.allowance,
      },
    };
    const body = encode(descriptorBodyCodec, withTokens);
    expect(decode(descriptorBodyCodec, body)).toEqual(withTokens);
    // Without one, not a byte is added: a relay without tokens signs what it signed before.
    expect(body.subarray(0, encode(descriptorBodyCodec, descriptor).length)).toEqual(
      encode(descriptorBodyCodec, descriptor),
    );
    for (let cut = encode(descriptorBodyCodec, descriptor).length + 1; cut < body.length; cut++) {
      expect(() => decode(descriptorBodyCodec, body.subarray(0, cut))).toThrow(DecodeError);
    }
    const badMarker = body.slice();
    badMarker[encode(descriptorBodyCodec, descriptor).length] = 2;
    expect(() => decode(descriptorBodyCodec, badMarker)).toThrow(DecodeError);
  });

  it("refuses every truncation of the body", () => {
    expectEveryPrefixRefused(descriptorBodyCodec, encode(descriptorBodyCodec, descriptor));
  });

  it.each([0, 1, 3, 0xff])("refuses version %d", (version) => {
    const body = encode(descriptorBodyCodec, descriptor);
    expect(body[0]).toBe(DESCRIPTOR_VERSION);
    body[0] = version;
    expect(expectDecodeError(() => decode(descriptorBodyCodec, body)).message).toBe(
      "unsupported descriptor version",
    );
  });

  it("refuses an origin that is not UTF-8", () => {
    const body = encode(descriptorBodyCodec, { ...descriptor, origin: "https://a.example" });
    body[2] = 0xff; // first byte of the origin text
    expect(expectDecodeError(() => decode(descriptorBodyCodec, body)).message).toBe(
      "origin is not UTF-8",
    );
  });

  it("caps the origin at 2048 bytes", () => {
    const long = "https://" + "a".repeat(2040);
    const body = encode(descriptorBodyCodec, { ...descriptor, origin: long });
    expect(decode(descriptorBodyCodec, body).origin).toBe(long);
    expectExactly(
      thrown(() => encode(descriptorBodyCodec, { ...descriptor, origin: long + "a" })),
      RangeError,
    );
    // The same body with the origin field rewritten to 2049 bytes.
    const raw = concat(
      fromHex("01"),
      encode(opaque(), utf8(long + "a")),
      body.subarray(1 + encode(opaque(), utf8(long)).length),
    );
    expect(expectDecodeError(() => decode(descriptorBodyCodec, raw)).message).toBe(
      "opaque value too long",
    );
  });

  it("caps buckets at 64 and published keys at 256", () => {
    const buckets = Array.from({ length: 64 }, (_, i) => 256 + i);
    const ok = encode(descriptorBodyCodec, { ...descriptor, buckets });
    expect(decode(descriptorBodyCodec, ok).buckets).toEqual(buckets);
    expectExactly(
      thrown(() => encode(descriptorBodyCodec, { ...descriptor, buckets: [...buckets, 999] })),
      RangeError,
    );
    const keys: PublishedKey[] = Array.from({ length: 257 }, () => descriptor.keys[1]!);
    expectExactly(
      thrown(() => encode(descriptorBodyCodec, { ...descriptor, keys })),
      RangeError,
    );
  });

  it("refuses a published key whose config does not decode", () => {
    const broken = encode(descriptorBodyCodec, descriptor);
    const configStart = 1 + 1 + 21 + 32 + 2 + 1;
    expect(toHex(broken.subarray(configStart + 1, configStart + 3))).toBe("0020");
    broken[configStart + 2] = 0x21; // KEM 0x0021
    expect(expectDecodeError(() => decode(descriptorBodyCodec, broken)).message).toBe(
      "unsupported KEM",
    );
  });
});

describe("signDescriptor and verifyDescriptor", () => {
  it("roundtrips", async () => {
    expect(await verifyDescriptor(signed, { origin: ORIGIN, now: NOW_MS })).toEqual(descriptor);
  });

  it("signs 'shroud/v1 descriptor' || 0x00 || body, framed as body<V> || signature[64]", async () => {
    const body = encode(descriptorBodyCodec, descriptor);
    const prefix = encode(opaque(), body);
    expect(signed.length).toBe(prefix.length + 64);
    expect(toHex(signed.subarray(0, prefix.length))).toBe(toHex(prefix));
    const message = concat(utf8(Labels.descriptor), new Uint8Array([0]), body);
    const signature = new Uint8Array(signed.subarray(prefix.length));
    const valid = (data: Uint8Array<ArrayBuffer>) =>
      crypto.subtle.verify({ name: "Ed25519" }, signing.pair.publicKey, signature, data);
    expect(await valid(message)).toBe(true);
    expect(await valid(new Uint8Array(body))).toBe(false);
  });

  it("accepts the pinned key and an equivalent spelling of the origin", async () => {
    const pinned = new Uint8Array(signing.publicKey);
    for (const origin of [ORIGIN, "https://RELAY.example:443", "https://relay.example/"]) {
      const result = await verifyDescriptor(signed, {
        origin,
        now: NOW_MS,
        pinnedSigningKey: pinned,
      });
      expect(result.origin).toBe(ORIGIN);
    }
  });

  it.each(["https://other.example", "http://relay.example", "https://relay.example:8443"])(
    "refuses the origin %s",
    async (origin) => {
      await expectRefused(
        verifyDescriptor(signed, { origin, now: NOW_MS }),
        "descriptor is for another origin",
      );
    },
  );

  it("refuses an origin that is not an http(s) URL, on either side", async () => {
    await expectRefused(
      verifyDescriptor(signed, { origin: "not a url", now: NOW_MS }),
      "invalid origin",
    );
    const ftp = await signWith({ origin: "ftp://relay.example" });
    await expectRefused(
      verifyDescriptor(ftp, { origin: ORIGIN, now: NOW_MS }),
      "origin must be http or https",
    );
  });

  it("refuses an expired descriptor from expires_at on, like a key's not_after", async () => {
    const expiresMs = descriptor.expiresAt * 1000;
    const lastSecond = await verifyDescriptor(signed, { origin: ORIGIN, now: expiresMs - 1 });
    expect(lastSecond.expiresAt).toBe(descriptor.expiresAt);
    await expectRefused(
      verifyDescriptor(signed, { origin: ORIGIN, now: expiresMs }),
      "descriptor expired",
    );
  });

  it("refuses a descriptor issued in the future, beyond the 300 s skew", async () => {
    const issuedMs = descriptor.issuedAt * 1000;
    const early = await verifyDescriptor(signed, {
      origin: ORIGIN,
      now: issuedMs - SKEW_S * 1000,
    });
    expect(early.issuedAt).toBe(descriptor.issuedAt);
    await expectRefused(
      verifyDescriptor(signed, { origin: ORIGIN, now: issuedMs - SKEW_S * 1000 - 1 }),
      "descriptor issued in the future",
    );
  });

  it("refuses a descriptor signed by a key other than the pinned one", async () => {
    const bySomeoneElse = await signWith({ signingKey: other.publicKey }, other.pair.privateKey);
    expect(
      (await verifyDescriptor(bySomeoneElse, { origin: ORIGIN, now: NOW_MS })).signingKey,
    ).toEqual(other.publicKey);
    await expectRefused(
      verifyDescriptor(bySomeoneElse, {
        origin: ORIGIN,
        now: NOW_MS,
        pinnedSigningKey: signing.publicKey,
      }),
      "descriptor signed by an unexpected key",
    );
    await expectRefused(
      verifyDescriptor(signed, { origin: ORIGIN, now: NOW_MS, pinnedSigningKey: other.publicKey }),
      "descriptor signed by an unexpected key",
    );
  });

  it("refuses a descriptor whose named key did not make the signature", async () => {
    const mismatched = await signWith({}, other.pair.privateKey);
    await expectRefused(
      verifyDescriptor(mismatched, { origin: ORIGIN, now: NOW_MS }),
      "bad descriptor signature",
    );
  });

  it("names the protocol version of a relay that speaks another one", async () => {
    // A v1 relay's descriptor, signed as such: its requests would not open here, nor ours there.
    const body = encode(descriptorBodyCodec, descriptor);
    body[0] = 1;
    const v1 = encode(signedBodyCodec, {
      body,
      signature: asBytes(
        await crypto.subtle.sign(
          { name: "Ed25519" },
          signing.pair.privateKey,
          concat(utf8(Labels.descriptor), new Uint8Array([0]), body),
        ),
      ),
    });
    await expectRefused(
      verifyDescriptor(v1, { origin: ORIGIN, now: NOW_MS }),
      "the relay speaks Shroud protocol version 1, this software version 2",
    );
  });

  it("refuses every single-bit flip in the signature", async () => {
    const start = signed.length - 64;
    const accepted: number[] = [];
    for (let bit = start * 8; bit < signed.length * 8; bit++) {
      const error = await settleError(
        verifyDescriptor(flipBit(signed, bit), { origin: ORIGIN, now: NOW_MS }),
      );
      if (!(error instanceof DescriptorError) || error.message !== "bad descriptor signature") {
        accepted.push(bit);
      }
    }
    expect(accepted).toEqual([]);
  });

  it("refuses every single-bit flip in the body, with DescriptorError or DecodeError", async () => {
    const bodyEnd = signed.length - 64;
    const wrong: string[] = [];
    let decodeErrors = 0;
    let descriptorErrors = 0;
    for (let bit = 0; bit < bodyEnd * 8; bit++) {
      const error = await settleError(
        verifyDescriptor(flipBit(signed, bit), { origin: ORIGIN, now: NOW_MS }),
      );
      if (error === undefined) wrong.push(`bit ${bit}: accepted`);
      else if ((error as object).constructor === DecodeError) decodeErrors++;
      else if ((error as object).constructor === DescriptorError) descriptorErrors++;
      else wrong.push(`bit ${bit}: ${(error as Error).name}`);
    }
    expect(wrong).toEqual([]);
    // Both paths are exercised: flips in framing fail to decode, flips in values fail to verify.
    expect(decodeErrors).toBeGreaterThan(0);
    expect(descriptorErrors).toBeGreaterThan(0);
  });

  it("refuses every truncation of the signed bytes with DecodeError", async () => {
    const wrong: string[] = [];
    for (let length = 0; length < signed.length; length++) {
      const error = await settleError(
        verifyDescriptor(signed.subarray(0, length), { origin: ORIGIN, now: NOW_MS }),
      );
      if (error === undefined) wrong.push(`prefix ${length}: accepted`);
      else if ((error as object).constructor !== DecodeError) {
        wrong.push(`prefix ${length}: ${(error as Error).name}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("refuses a trailing byte after the signature", async () => {
    const error = await rejection(
      verifyDescriptor(concat(signed, new Uint8Array(1)), { origin: ORIGIN, now: NOW_MS }),
    );
    expectExactly(error, DecodeError);
  });
});

describe("normalizeOrigin", () => {
  it("reduces a URL to scheme://host[:port]", () => {
    expect(normalizeOrigin("HTTPS://Relay.Example:443/path?q")).toBe(ORIGIN);
    expect(normalizeOrigin("http://relay.example:8080")).toBe("http://relay.example:8080");
  });

  it.each(["", "relay.example", "ftp://relay.example", "data:text/plain,x"])(
    "refuses %j",
    (origin) => {
      expectExactly(
        thrown(() => normalizeOrigin(origin)),
        DescriptorError,
      );
    },
  );
});

describe("usableKeys", () => {
  function keyAt(keyId: number, notBefore: number, notAfter: number): PublishedKey {
    return { config: { ...configA, keyId, publicKey: pattern(32, keyId) }, notBefore, notAfter };
  }

  it("keeps keys valid now (tolerating 300 s of skew on notBefore), newest first", () => {
    const keys = [
      keyAt(1, NOW_S - 7_200, NOW_S - 1), // expired a second ago
      keyAt(2, NOW_S - 3_600, NOW_S + 3_600), // current
      keyAt(3, NOW_S - 7_200, NOW_S), // notAfter is exclusive
      keyAt(4, NOW_S + SKEW_S, NOW_S + 7_200), // starts within the skew
      keyAt(5, NOW_S + SKEW_S + 1, NOW_S + 7_200), // starts after the skew
      keyAt(6, NOW_S - 60, NOW_S + 1), // current, newer than 2
      keyAt(7, NOW_S + 86_400, NOW_S + 90_000), // far future
    ];
    const usable = usableKeys({ ...descriptor, keys }, NOW_MS + 999);
    expect(usable.map((k) => k.config.keyId)).toEqual([4, 6, 2]);
  });

  it("returns nothing once every key has passed notAfter", () => {
    const lastNotAfter = Math.max(...descriptor.keys.map((k) => k.notAfter));
    expect(usableKeys(descriptor, (lastNotAfter - 1) * 1000).map((k) => k.config.keyId)).toEqual([
      2,
    ]);
    expect(usableKeys(descriptor, lastNotAfter * 1000)).toEqual([]);
  });

  it("does not reorder the descriptor's own key list", () => {
    usableKeys(descriptor, NOW_MS);
    expect(descriptor.keys.map((k) => k.config.keyId)).toEqual([1, 2]);
  });
});
