import { beforeAll, describe, expect, it } from "vitest";
import { concat, fromHex, toHex } from "../../src/protocol/bytes.js";
import { decode, encode } from "../../src/protocol/codec.js";
import { DecodeError } from "../../src/protocol/errors.js";
import { AeadId, KdfId, KemId } from "../../src/protocol/hpke-suite.js";
import {
  keyConfigCodec,
  keyConfigListCodec,
  type KeyConfig,
} from "../../src/protocol/key-config.js";
import {
  BOTH_SUITES,
  expectDecodeError,
  expectEveryPrefixRefused,
  expectExactly,
  generateOpeningKey,
  pattern,
  thrown,
} from "../../testkit/protocol-checks.js";

let config: KeyConfig;
let second: KeyConfig;

beforeAll(async () => {
  config = (await generateOpeningKey(0x2a, BOTH_SUITES)).config;
  second = (await generateOpeningKey(0xff, [BOTH_SUITES[1]!])).config;
});

/** Hand-written KeyConfig bytes with the given cipher suite list body. */
function rawConfig(suitesHex: string, kemHex = "0020"): Uint8Array {
  const n = suitesHex.length / 2;
  return fromHex(
    "07" + kemHex + toHex(pattern(32)) + toHex(new Uint8Array([n >> 8, n & 0xff])) + suitesHex,
  );
}

describe("keyConfigCodec (single form)", () => {
  it("roundtrips a real key offering both suites, in RFC 9458 §3 layout", () => {
    expect(config.publicKey.length).toBe(32);
    const encoded = encode(keyConfigCodec, config);
    expect(toHex(encoded)).toBe(
      "2a" + "0020" + toHex(config.publicKey) + "0008" + "00010001" + "00010003",
    );
    expect(decode(keyConfigCodec, encoded)).toEqual(config);
  });

  it("roundtrips a single suite and the extreme key ids", () => {
    for (const keyId of [0, 255]) {
      const value: KeyConfig = { ...second, keyId };
      const encoded = encode(keyConfigCodec, value);
      expect(encoded.length).toBe(1 + 2 + 32 + 2 + 4);
      expect(encoded[0]).toBe(keyId);
      expect(decode(keyConfigCodec, encoded)).toEqual(value);
    }
  });

  it("skips suites with unknown algorithms and keeps the known ones in order", () => {
    const decoded = decode(keyConfigCodec, rawConfig("00010002" + "00010003" + "00020001"));
    expect(decoded.suites).toEqual([{ kdfId: KdfId.HkdfSha256, aeadId: AeadId.ChaCha20Poly1305 }]);
    expect(decoded.keyId).toBe(7);
    expect(decoded.kemId).toBe(KemId.DhkemX25519HkdfSha256);
    expect(toHex(decoded.publicKey)).toBe(toHex(pattern(32)));
  });

  it.each([
    ["a list of only unknown suites", rawConfig("0001ffff"), "no supported cipher suite"],
    ["an empty suite list", rawConfig(""), "bad cipher suite list length"],
    ["a suite list of 6 bytes", rawConfig("000100010001"), "bad cipher suite list length"],
    ["an unknown KEM", rawConfig("00010001", "0021"), "unsupported KEM"],
    ["KEM 0", rawConfig("00010001", "0000"), "unsupported KEM"],
    ["a trailing byte", concat(rawConfig("00010001"), new Uint8Array(1)), "trailing bytes"],
  ])("refuses %s", (_, wire, message) => {
    expect(expectDecodeError(() => decode(keyConfigCodec, wire)).message).toBe(message);
  });

  it("refuses every truncation", () => {
    expectEveryPrefixRefused(keyConfigCodec, encode(keyConfigCodec, config));
  });

  it("refuses to encode no suites or a public key of the wrong length", () => {
    expectExactly(
      thrown(() => encode(keyConfigCodec, { ...config, suites: [] })),
      RangeError,
    );
    expectExactly(
      thrown(() => encode(keyConfigCodec, { ...config, publicKey: new Uint8Array(31) })),
      RangeError,
    );
  });
});

describe("keyConfigListCodec (application/ohttp-keys)", () => {
  it("roundtrips a list with a uint16 length before each config", () => {
    const encoded = encode(keyConfigListCodec, [config, second]);
    expect(toHex(encoded)).toBe(
      "002d" +
        toHex(encode(keyConfigCodec, config)) +
        "0029" +
        toHex(encode(keyConfigCodec, second)),
    );
    expect(decode(keyConfigListCodec, encoded)).toEqual([config, second]);
    expect(decode(keyConfigListCodec, encode(keyConfigListCodec, [second]))).toEqual([second]);
  });

  it("decodes an empty body as an empty list", () => {
    expect(encode(keyConfigListCodec, []).length).toBe(0);
    expect(decode(keyConfigListCodec, new Uint8Array(0))).toEqual([]);
  });

  it("refuses a config whose length prefix disagrees with its contents", () => {
    const one = encode(keyConfigCodec, config);
    const tooLong = concat(fromHex("002e"), one, new Uint8Array(1));
    expect(expectDecodeError(() => decode(keyConfigListCodec, tooLong)).message).toBe(
      "trailing bytes",
    );
    const tooShort = concat(fromHex("002c"), one);
    expectDecodeError(() => decode(keyConfigListCodec, tooShort));
    expectDecodeError(() => decode(keyConfigListCodec, fromHex("0000")));
  });

  it("refuses every truncation except at a config boundary, which the format cannot detect", () => {
    // RFC 9458 §3.2 gives the list no outer length, so cutting exactly between two configs
    // yields the shorter list (and cutting to nothing yields []); every other cut must fail.
    const first = encode(keyConfigListCodec, [config]);
    const encoded = encode(keyConfigListCodec, [config, second]);
    const unexpected: string[] = [];
    for (let length = 0; length < encoded.length; length++) {
      const prefix = encoded.subarray(0, length);
      if (length === 0) {
        expect(decode(keyConfigListCodec, prefix)).toEqual([]);
      } else if (length === first.length) {
        expect(decode(keyConfigListCodec, prefix)).toEqual([config]);
      } else {
        try {
          decode(keyConfigListCodec, prefix);
          unexpected.push(`prefix ${length}: decoded`);
        } catch (error) {
          if ((error as object).constructor !== DecodeError) {
            unexpected.push(`prefix ${length}: ${(error as Error).name}`);
          }
        }
      }
    }
    expect(unexpected).toEqual([]);
  });
});

describe("defects found by these tests, now fixed", () => {
  // key-config.ts write(): `w.u8(c.keyId)` bypasses the uint8 range check, and DataView wraps
  // modulo 256, so key id 256 is written as 0x00 (and -1 as 0xff) instead of throwing.
  it("refuses to encode key id 256", () => {
    expectExactly(
      thrown(() => encode(keyConfigCodec, { ...config, keyId: 256 })),
      RangeError,
    );
  });

  // key-config.ts keyConfigListCodec.write(): `w.u16(keyConfigCodec.size(c))` is unchecked; a
  // config with more than 16374 suites is longer than 65535 bytes, so the length prefix wraps
  // and the list encodes "successfully" into bytes that do not decode.
  it("a list whose config is too long for its uint16 prefix is refused or roundtrips", () => {
    const huge: KeyConfig = {
      ...config,
      suites: Array.from({ length: 16383 }, () => BOTH_SUITES[0]!),
    };
    let encoded: Uint8Array;
    try {
      encoded = encode(keyConfigListCodec, [huge]);
    } catch (error) {
      expectExactly(error, RangeError);
      return;
    }
    expect(decode(keyConfigListCodec, encoded)).toEqual([huge]);
  });
});
