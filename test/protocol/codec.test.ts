import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import {
  DEFAULT_MAX_INPUT,
  decode,
  encode,
  enumeration,
  fixedBytes,
  opaque,
  optional,
  struct,
  uint16,
  uint32,
  uint64,
  uint8,
  varint,
  vector,
  type Codec,
} from "../../src/protocol/codec.js";
import {
  expectDecodeError,
  expectEveryPrefixRefused,
  expectExactly,
  pattern,
  thrown,
} from "../../testkit/protocol-checks.js";

/** Encodes, checks the exact wire bytes, and decodes back to the same value. */
function roundtrip<T>(codec: Codec<T>, value: T, wireHex: string): void {
  const encoded = encode(codec, value);
  expect(toHex(encoded)).toBe(wireHex);
  expect(codec.size(value)).toBe(wireHex.length / 2);
  expect(decode(codec, encoded)).toEqual(value);
}

function expectRangeError(run: () => unknown): void {
  expectExactly(thrown(run), RangeError);
}

const NOT_INTEGERS = [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY];

describe("uint8", () => {
  it.each([
    [0, "00"],
    [1, "01"],
    [0x7f, "7f"],
    [0xff, "ff"],
  ])("roundtrips %d", (value, wire) => roundtrip(uint8, value, wire));

  it.each([0x100, ...NOT_INTEGERS])("refuses to encode %d", (value) => {
    expectRangeError(() => encode(uint8, value));
  });

  it("refuses an empty input", () => {
    expect(expectDecodeError(() => decode(uint8, new Uint8Array(0))).message).toBe(
      "truncated input",
    );
  });
});

describe("uint16", () => {
  it.each([
    [0, "0000"],
    [513, "0201"],
    [0xffff, "ffff"],
  ])("roundtrips %d", (value, wire) => roundtrip(uint16, value, wire));

  it.each([0x10000, ...NOT_INTEGERS])("refuses to encode %d", (value) => {
    expectRangeError(() => encode(uint16, value));
  });

  it("refuses a truncated input", () => {
    expectEveryPrefixRefused(uint16, fromHex("0201"));
  });
});

describe("uint32", () => {
  it.each([
    [0, "00000000"],
    [0x01020304, "01020304"],
    [0xffffffff, "ffffffff"],
  ])("roundtrips %d", (value, wire) => roundtrip(uint32, value, wire));

  it.each([2 ** 32, ...NOT_INTEGERS])("refuses to encode %d", (value) => {
    expectRangeError(() => encode(uint32, value));
  });

  it("refuses a truncated input", () => {
    expectEveryPrefixRefused(uint32, fromHex("01020304"));
  });
});

describe("uint64", () => {
  it.each([
    [0, "0000000000000000"],
    [2 ** 32, "0000000100000000"],
    [0x0102030405, "0000000102030405"],
    [Number.MAX_SAFE_INTEGER, "001fffffffffffff"],
  ])("roundtrips %d", (value, wire) => roundtrip(uint64, value, wire));

  it.each([2 ** 53, Number.MAX_VALUE, ...NOT_INTEGERS])("refuses to encode %d", (value) => {
    expectRangeError(() => encode(uint64, value));
  });

  it.each(["0020000000000000", "8000000000000000", "ffffffffffffffff"])(
    "refuses %s, which is past Number.MAX_SAFE_INTEGER",
    (wire) => {
      expect(expectDecodeError(() => decode(uint64, fromHex(wire))).message).toBe(
        "integer out of range",
      );
    },
  );

  it("refuses a truncated input", () => {
    expectEveryPrefixRefused(uint64, fromHex("0000000102030405"));
  });
});

describe("varint", () => {
  it.each([
    [0, "00"],
    [37, "25"],
    [63, "3f"],
    [64, "4040"],
    [15293, "7bbd"],
    [16383, "7fff"],
    [16384, "80004000"],
    [494878333, "9d7f3e7d"],
    [2 ** 30 - 1, "bfffffff"],
  ])("roundtrips %d", (value, wire) => roundtrip(varint, value, wire));

  it.each([
    ["4000", "0 in two bytes"],
    ["403f", "63 in two bytes"],
    ["80000000", "0 in four bytes"],
    ["8000003f", "63 in four bytes"],
    ["80003fff", "16383 in four bytes"],
  ])("refuses the non-minimal %s (%s)", (wire) => {
    expect(expectDecodeError(() => decode(varint, fromHex(wire))).message).toBe(
      "non-minimal varint",
    );
  });

  it.each(["c0", "c000", "c0000000", "ff", "c2197c5eff14e88c"])(
    "refuses the 0b11 prefix in %s",
    (wire) => {
      expect(expectDecodeError(() => decode(varint, fromHex(wire))).message).toBe(
        "invalid varint prefix",
      );
    },
  );

  it.each([2 ** 30, ...NOT_INTEGERS])("refuses to encode %d", (value) => {
    expectRangeError(() => encode(varint, value));
  });

  it.each(["4040", "80004000", "bfffffff"])("refuses every truncation of %s", (wire) => {
    expectEveryPrefixRefused(varint, fromHex(wire));
  });
});

describe("fixedBytes", () => {
  it("roundtrips exactly n bytes without a length prefix", () => {
    roundtrip(fixedBytes(4), fromHex("deadbeef"), "deadbeef");
    roundtrip(fixedBytes(0), new Uint8Array(0), "");
  });

  it.each([3, 5])("refuses to encode %d bytes into a 4-byte field", (length) => {
    expectRangeError(() => encode(fixedBytes(4), new Uint8Array(length)));
  });

  it("refuses short and long inputs", () => {
    expectEveryPrefixRefused(fixedBytes(4), fromHex("deadbeef"));
    expect(expectDecodeError(() => decode(fixedBytes(4), fromHex("deadbeef00"))).message).toBe(
      "trailing bytes",
    );
  });

  it("returns a copy, not a view of the input", () => {
    const input = fromHex("01020304");
    const value = decode(fixedBytes(4), input);
    input[0] = 0xff;
    expect(toHex(value)).toBe("01020304");
  });
});

describe("opaque", () => {
  it("roundtrips with a 1-, 2- and 4-byte length", () => {
    roundtrip(opaque(), new Uint8Array(0), "00");
    roundtrip(opaque(), fromHex("aabbcc"), "03aabbcc");
    const sixtyFour = pattern(64);
    roundtrip(opaque(), sixtyFour, "4040" + toHex(sixtyFour));
    const big = pattern(16384);
    roundtrip(opaque(), big, "80004000" + toHex(big));
  });

  it("enforces its cap when encoding and decoding", () => {
    const capped = opaque(4);
    roundtrip(capped, fromHex("01020304"), "0401020304");
    expectRangeError(() => encode(capped, fromHex("0102030405")));
    expect(expectDecodeError(() => decode(capped, fromHex("050102030405"))).message).toBe(
      "opaque value too long",
    );
  });

  it("refuses a length that runs past the input", () => {
    expectEveryPrefixRefused(opaque(), fromHex("03aabbcc"));
    expect(expectDecodeError(() => decode(opaque(), fromHex("04aabbcc"))).message).toBe(
      "truncated input",
    );
  });
});

describe("vector", () => {
  const shorts = vector(uint16);

  it("roundtrips empty and non-empty vectors with a byte length", () => {
    roundtrip(shorts, [], "00");
    roundtrip(shorts, [1, 2, 0xffff], "06" + "0001" + "0002" + "ffff");
    roundtrip(vector(opaque()), [fromHex("aa"), new Uint8Array(0)], "03" + "01aa" + "00");
  });

  it("uses a 2-byte varint once the body passes 63 bytes", () => {
    const items = Array.from({ length: 32 }, (_, i) => i);
    const encoded = encode(shorts, items);
    expect(encoded.length).toBe(2 + 64);
    expect(toHex(encoded.subarray(0, 4))).toBe("40400000");
    expect(decode(shorts, encoded)).toEqual(items);
  });

  it("enforces maxItems when encoding and decoding", () => {
    const capped = vector(uint16, 2);
    roundtrip(capped, [7, 8], "0400070008");
    expectRangeError(() => encode(capped, [7, 8, 9]));
    expect(expectDecodeError(() => decode(capped, fromHex("06000700080009"))).message).toBe(
      "too many vector items",
    );
  });

  it("refuses a body that ends inside an item", () => {
    expectDecodeError(() => decode(shorts, fromHex("03000100")));
    expectEveryPrefixRefused(shorts, fromHex("0400010002"));
  });

  it("refuses a non-empty body of items that consume no bytes", () => {
    const empties = vector(struct({}));
    expect(decode(empties, fromHex("00"))).toEqual([]);
    expect(expectDecodeError(() => decode(empties, fromHex("0100"))).message).toBe(
      "empty vector item",
    );
  });
});

describe("optional", () => {
  const maybe = optional(uint16);

  it("roundtrips absent and present values", () => {
    roundtrip(maybe, undefined, "00");
    roundtrip(maybe, 5, "010005");
    roundtrip(optional(opaque()), new Uint8Array(0), "0100");
  });

  it.each(["02", "020005", "ff0005"])("refuses the presence flag in %s", (wire) => {
    expect(expectDecodeError(() => decode(maybe, fromHex(wire))).message).toBe(
      "invalid optional flag",
    );
  });

  it("refuses truncation and a value after an absent flag", () => {
    expectEveryPrefixRefused(maybe, fromHex("010005"));
    expect(expectDecodeError(() => decode(maybe, fromHex("000005"))).message).toBe(
      "trailing bytes",
    );
  });
});

describe("enumeration", () => {
  const Colour = { red: 1, green: 7, blue: 0x1234 } as const;
  const colour = enumeration(uint16, Colour);

  it("roundtrips every member", () => {
    roundtrip(colour, Colour.red, "0001");
    roundtrip(colour, Colour.green, "0007");
    roundtrip(colour, Colour.blue, "1234");
  });

  it("refuses non-members when encoding and decoding", () => {
    expectRangeError(() => encode(colour, 2 as typeof Colour.red));
    expect(expectDecodeError(() => decode(colour, fromHex("0002"))).message).toBe(
      "unknown enumeration value",
    );
    expectDecodeError(() => decode(colour, fromHex("0000")));
  });

  it("uses the base codec's range check", () => {
    const small = enumeration(uint8, { big: 300 });
    expectRangeError(() => encode(small, 300));
  });
});

describe("struct", () => {
  const record = struct({ tag: uint8, name: opaque(), count: uint16, note: optional(uint8) });
  const value = { tag: 9, name: fromHex("6869"), count: 0x0102, note: 3 };
  const wire = "09" + "026869" + "0102" + "0103";

  it("encodes fields in key order and roundtrips", () => {
    roundtrip(record, value, wire);
    roundtrip(record, { ...value, note: undefined }, "09" + "026869" + "0102" + "00");
    roundtrip(struct({}), {}, "");
  });

  it("refuses every truncation", () => {
    expectEveryPrefixRefused(record, fromHex(wire));
  });

  it("surfaces a field's range check", () => {
    expectRangeError(() => encode(record, { ...value, count: 0x10000 }));
  });
});

describe("decode", () => {
  it("refuses trailing bytes", () => {
    expect(expectDecodeError(() => decode(uint16, fromHex("020100"))).message).toBe(
      "trailing bytes",
    );
    expectDecodeError(() => decode(struct({}), fromHex("00")));
  });

  it("refuses inputs over maxInput before reading them", () => {
    const tenBytes = encode(opaque(), pattern(9));
    expect(decode(opaque(), tenBytes, 10)).toEqual(pattern(9));
    expect(expectDecodeError(() => decode(opaque(), tenBytes, 9)).message).toBe("input too large");
  });

  it("caps inputs at DEFAULT_MAX_INPUT by default", () => {
    const atLimit = encode(opaque(), new Uint8Array(DEFAULT_MAX_INPUT - 4));
    expect(atLimit.length).toBe(DEFAULT_MAX_INPUT);
    expect(decode(opaque(), atLimit).length).toBe(DEFAULT_MAX_INPUT - 4);
    const overLimit = encode(opaque(), new Uint8Array(DEFAULT_MAX_INPUT - 3));
    expect(expectDecodeError(() => decode(opaque(), overLimit)).message).toBe("input too large");
  });

  it("reads from a view at a non-zero byte offset", () => {
    const backing = fromHex("ff02010203ff");
    expect(decode(uint16, backing.subarray(1, 3))).toBe(0x0201);
    expect(decode(uint32, backing.subarray(1, 5))).toBe(0x02010203);
  });

  it("turns a non-DecodeError raised by a faulty codec into DecodeError", () => {
    const faulty: Codec<number> = {
      size: () => 1,
      write: () => undefined,
      read: () => {
        throw new TypeError("bug");
      },
    };
    const error = expectDecodeError(() => decode(faulty, fromHex("00")));
    expect(error.message).toBe("malformed input");
    expect(error.code).toBe("decode");
  });
});

describe("encode", () => {
  it("detects a codec whose size disagrees with what it writes", () => {
    const liar: Codec<number> = { size: () => 2, write: (v, w) => w.u8(v), read: (r) => r.u8() };
    expect(() => encode(liar, 1)).toThrow("codec size mismatch");
  });
});

describe("defects found by these tests, now fixed", () => {
  // codec.ts enumeration(): `size: () => base.size(0)` ignores the value, so with a
  // variable-length base such as varint any member >= 64 gets a 1-byte buffer and the write
  // fails with DataView's RangeError instead of producing "4064".
  it("enumeration over varint encodes a member >= 64", () => {
    const wide = enumeration(varint, { big: 100 });
    expect(toHex(encode(wide, 100))).toBe("4064");
  });
});
