import { describe, expect, it } from "vitest";
import { concat, fromHex, randomBytes, toHex } from "../../src/protocol/bytes.js";
import { REQUEST_OVERHEAD } from "../../src/protocol/envelope.js";
import { ConfigError, DecodeError, TooLargeError } from "../../src/protocol/errors.js";
import { DEFAULT_BUCKETS, PaddingPolicy } from "../../src/protocol/padding-policy.js";
import {
  expectDecodeError,
  expectExactly,
  pattern,
  sameBytes,
  thrown,
} from "../../testkit/protocol-checks.js";

const KIB = 1024;
const policy = new PaddingPolicy();

/** Pads, checks the exact padded layout, and unpads back to the content. */
function padRoundtrip(content: Uint8Array, overhead: number, minBucket: number, bucket: number) {
  const padded = policy.pad(content, overhead, minBucket);
  expect(padded.length).toBe(bucket - overhead);
  expect(policy.isBucket(padded.length + overhead)).toBe(true);
  const view = new DataView(padded.buffer, padded.byteOffset, padded.byteLength);
  expect(view.getUint32(0)).toBe(content.length);
  expect(sameBytes(padded.subarray(4, 4 + content.length), content)).toBe(true);
  expect(padded.subarray(4 + content.length).every((byte) => byte === 0)).toBe(true);
  const unpadded = policy.unpad(padded);
  expect(unpadded.length).toBe(content.length);
  expect(sameBytes(unpadded, content)).toBe(true);
}

describe("PaddingPolicy buckets", () => {
  it("defaults to powers of 4 from 1 KiB to 1 MiB", () => {
    expect(DEFAULT_BUCKETS).toEqual([KIB, 4 * KIB, 16 * KIB, 64 * KIB, 256 * KIB, 1024 * KIB]);
    expect(policy.buckets).toEqual(DEFAULT_BUCKETS);
    expect(policy.largest).toBe(1024 * KIB);
    expect(policy.isBucket(4 * KIB)).toBe(true);
    expect(policy.isBucket(4 * KIB + 1)).toBe(false);
  });

  it("picks the smallest bucket that fits", () => {
    expect(policy.bucketFor(0)).toBe(KIB);
    expect(policy.bucketFor(KIB)).toBe(KIB);
    expect(policy.bucketFor(KIB + 1)).toBe(4 * KIB);
    expect(policy.bucketFor(1024 * KIB)).toBe(1024 * KIB);
    expectExactly(
      thrown(() => policy.bucketFor(1024 * KIB + 1)),
      TooLargeError,
    );
  });

  it("computes capacity as bucket - overhead - 4", () => {
    expect(policy.capacity(KIB)).toBe(KIB - 4);
    expect(policy.capacity(KIB, REQUEST_OVERHEAD)).toBe(KIB - 4 - 55);
  });

  it("accepts the extreme sizes 256 B and 16 MiB and copies the list", () => {
    const input = [256, 16 * 1024 * KIB];
    const custom = new PaddingPolicy(input);
    input[0] = 1;
    expect(custom.buckets).toEqual([256, 16 * 1024 * KIB]);
    expect(Object.isFrozen(custom.buckets)).toBe(true);
  });

  it.each<[string, number[], string]>([
    ["an empty list", [], "padding needs at least one bucket"],
    ["255 B", [255], "padding buckets must be integers from 256 B to 16 MiB"],
    ["16 MiB + 1", [16 * 1024 * KIB + 1], "padding buckets must be integers from 256 B to 16 MiB"],
    ["a fraction", [KIB + 0.5], "padding buckets must be integers from 256 B to 16 MiB"],
    ["NaN", [Number.NaN], "padding buckets must be integers from 256 B to 16 MiB"],
    ["a negative size", [-KIB], "padding buckets must be integers from 256 B to 16 MiB"],
    ["a repeated size", [KIB, KIB], "padding buckets must be strictly increasing"],
    ["a descending list", [4 * KIB, KIB], "padding buckets must be strictly increasing"],
    [
      "a bad size after good ones",
      [KIB, 4 * KIB, 100],
      "padding buckets must be integers from 256 B to 16 MiB",
    ],
  ])("refuses %s with ConfigError", (_, buckets, message) => {
    const error = thrown(() => new PaddingPolicy(buckets));
    expectExactly(error, ConfigError);
    expect((error as ConfigError).message).toBe(message);
  });
});

describe("PaddingPolicy.pad and unpad", () => {
  for (const overhead of [0, REQUEST_OVERHEAD]) {
    describe(`with ${overhead} bytes of overhead`, () => {
      it.each(DEFAULT_BUCKETS.map((bucket) => [bucket]))(
        "roundtrip into the %d-byte bucket",
        (bucket) => {
          const capacity = policy.capacity(bucket, overhead);
          padRoundtrip(new Uint8Array(0), overhead, bucket, bucket);
          padRoundtrip(randomBytes(capacity - 1), overhead, bucket, bucket);
          padRoundtrip(randomBytes(capacity), overhead, 0, bucket);
          const next = DEFAULT_BUCKETS[DEFAULT_BUCKETS.indexOf(bucket) + 1];
          if (next === undefined) {
            expectExactly(
              thrown(() => policy.pad(new Uint8Array(capacity + 1), overhead)),
              TooLargeError,
            );
          } else {
            padRoundtrip(randomBytes(capacity + 1), overhead, 0, next);
          }
        },
      );
    });
  }

  it("uses the smallest bucket for empty content and honours a minBucket between buckets", () => {
    expect(toHex(policy.pad(new Uint8Array(0)))).toBe("00".repeat(KIB));
    expect(policy.pad(fromHex("01"), 0, 2000).length).toBe(4 * KIB);
    expect(toHex(policy.pad(fromHex("abcd")).subarray(0, 8))).toBe("00000002abcd0000");
  });

  it("throws TooLargeError for content past the largest bucket or a minBucket past it", () => {
    expectExactly(
      thrown(() => policy.pad(new Uint8Array(1024 * KIB - 3))),
      TooLargeError,
    );
    expectExactly(
      thrown(() => policy.pad(new Uint8Array(0), 0, 1024 * KIB + 1)),
      TooLargeError,
    );
  });

  it("refuses any non-zero padding byte", () => {
    const small = new PaddingPolicy([256]);
    const content = pattern(10);
    const padded = small.pad(content);
    const wrong: number[] = [];
    for (let i = 4 + content.length; i < padded.length; i++) {
      const tampered = new Uint8Array(padded);
      tampered[i] = 0x01;
      let error: unknown;
      try {
        small.unpad(tampered);
      } catch (caught) {
        error = caught;
      }
      if (!(error instanceof DecodeError) || error.message !== "padding not zero") wrong.push(i);
    }
    expect(wrong).toEqual([]);
    const last = new Uint8Array(padded);
    last[last.length - 1] = 0x80;
    expect(expectDecodeError(() => small.unpad(last)).message).toBe("padding not zero");
  });

  it("refuses a length field larger than the buffer", () => {
    const padded = new PaddingPolicy([256]).pad(pattern(10));
    const view = new DataView(padded.buffer);
    view.setUint32(0, padded.length - 4);
    expect(policy.unpad(padded).length).toBe(252);
    for (const length of [padded.length - 3, padded.length, 0xffffffff]) {
      view.setUint32(0, length);
      expect(expectDecodeError(() => policy.unpad(padded)).message).toBe("padding length invalid");
    }
  });

  it.each([0, 1, 2, 3])("refuses a %d-byte input that cannot hold the length", (length) => {
    expect(expectDecodeError(() => policy.unpad(new Uint8Array(length))).message).toBe(
      "padding truncated",
    );
  });

  it("refuses every truncation that cuts into the length or the content", () => {
    const content = pattern(40);
    const padded = policy.pad(content);
    for (let length = 0; length < 4 + content.length; length++) {
      expectDecodeError(() => policy.unpad(padded.subarray(0, length)));
    }
  });

  it("does not itself detect a cut inside the zero padding (callers check the bucket size)", () => {
    // unpad does not know the overhead, so it cannot know the bucket; the relay checks
    // isBucket(body.length) and the AEAD authenticates the padded plaintext.
    const content = pattern(40);
    const padded = policy.pad(content);
    expect(policy.unpad(padded.subarray(0, 4 + content.length))).toEqual(content);
    expect(policy.unpad(padded.subarray(0, padded.length - 1))).toEqual(content);
    expect(policy.isBucket(padded.length - 1)).toBe(false);
  });

  it("unpads a view at a non-zero byte offset and returns a copy", () => {
    const padded = new PaddingPolicy([256]).pad(fromHex("c0ffee"));
    const backing = concat(fromHex("ffffff"), padded);
    const view = backing.subarray(3);
    const content = policy.unpad(view);
    expect(toHex(content)).toBe("c0ffee");
    backing[3 + 4] = 0;
    expect(toHex(content)).toBe("c0ffee");
  });
});
