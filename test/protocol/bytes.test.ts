import { describe, expect, it } from "vitest";
import {
  constantTimeEqual,
  fromBase64Url,
  fromHex,
  randomBytes,
  toBase64Url,
  toHex,
} from "../../src/protocol/bytes.js";

describe("byte helpers", () => {
  it("roundtrips hex in both cases and refuses anything else", () => {
    const bytes = randomBytes(300);
    expect(fromHex(toHex(bytes))).toEqual(bytes);
    expect(fromHex("00ff10Ab")).toEqual(new Uint8Array([0, 255, 16, 171]));
    for (const bad of ["0", "0g", "zz", "0x00", " 00", "00 "]) {
      expect(() => fromHex(bad)).toThrow(TypeError);
    }
  });

  it("roundtrips base64url and refuses other alphabets", () => {
    const bytes = randomBytes(257);
    expect(fromBase64Url(toBase64Url(bytes))).toEqual(bytes);
    expect(() => fromBase64Url("ab+/")).toThrow(TypeError);
  });

  it("compares equal and unequal bytes", () => {
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(constantTimeEqual(new Uint8Array([1]), new Uint8Array([1, 0]))).toBe(false);
  });

  it("draws more than 64 KiB of randomness", () => {
    const big = randomBytes(200_000);
    expect(big.length).toBe(200_000);
    expect(big.subarray(150_000).some((b) => b !== 0)).toBe(true);
  });
});
