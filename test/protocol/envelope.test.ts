import { beforeAll, describe, expect, it } from "vitest";
import { concat, fromHex, toHex } from "../../src/protocol/bytes.js";
import {
  REQUEST_OVERHEAD,
  SHROUD_ENVELOPE_LABELS,
  openRequest,
  openResponse,
  requestEnc,
  requestKeyId,
  responseNonceLength,
  responseOverhead,
  sealRequest,
  sealResponse,
  type OpeningKey,
} from "../../src/protocol/envelope.js";
import { CryptoError, DecodeError, UnknownKeyError } from "../../src/protocol/errors.js";
import { AeadId, KdfId, KemId } from "../../src/protocol/hpke-suite.js";
import type { KeyConfig } from "../../src/protocol/key-config.js";
import {
  BOTH_SUITES,
  expectDecodeError,
  expectExactly,
  flipBit,
  generateOpeningKey,
  pattern,
  rejection,
  settleError,
} from "../../testkit/protocol-checks.js";

const KEY_ID = 7;
let key: OpeningKey;
let otherKey: OpeningKey;
let config: KeyConfig;

beforeAll(async () => {
  key = await generateOpeningKey(KEY_ID, BOTH_SUITES);
  otherKey = await generateOpeningKey(KEY_ID, BOTH_SUITES);
  config = key.config;
});

const lookup = (keyId: number) => (keyId === KEY_ID ? key : undefined);

const SUITES = [
  { suiteIndex: 0, name: "AES-128-GCM", aeadHex: "0001", nonce: 16, overhead: 16 + 16 },
  { suiteIndex: 1, name: "ChaCha20-Poly1305", aeadHex: "0003", nonce: 32, overhead: 32 + 16 },
];

describe.each(SUITES)("seal and open with suite $suiteIndex ($name)", (s) => {
  it("roundtrips a request and its response", async () => {
    const request = pattern(100, 1);
    const { sealed, keying } = await sealRequest(config, request, { suiteIndex: s.suiteIndex });
    expect(sealed.length).toBe(REQUEST_OVERHEAD + request.length);
    expect(REQUEST_OVERHEAD).toBe(7 + 32 + 16);
    expect(toHex(sealed.subarray(0, 7))).toBe("07" + "0020" + "0001" + s.aeadHex);
    expect(requestKeyId(sealed)).toBe(KEY_ID);
    expect(toHex(requestEnc(sealed))).toBe(toHex(keying.enc));
    expect(keying.enc.length).toBe(32);
    expect(keying.labels).toEqual(SHROUD_ENVELOPE_LABELS);

    const opened = await openRequest(lookup, sealed);
    expect(opened.keyId).toBe(KEY_ID);
    expect(toHex(opened.plaintext)).toBe(toHex(request));
    expect(toHex(opened.keying.enc)).toBe(toHex(keying.enc));

    const response = pattern(60, 2);
    const sealedResponse = await sealResponse(opened.keying, response);
    expect(responseNonceLength(keying.suite)).toBe(s.nonce);
    expect(responseOverhead(keying.suite)).toBe(s.overhead);
    expect(sealedResponse.length).toBe(s.overhead + response.length);
    expect(toHex(await openResponse(keying, sealedResponse))).toBe(toHex(response));
  });

  it("roundtrips empty plaintexts in the smallest envelopes", async () => {
    const { sealed, keying } = await sealRequest(config, new Uint8Array(0), {
      suiteIndex: s.suiteIndex,
    });
    expect(sealed.length).toBe(REQUEST_OVERHEAD);
    const opened = await openRequest(lookup, sealed);
    expect(opened.plaintext.length).toBe(0);
    const sealedResponse = await sealResponse(opened.keying, new Uint8Array(0));
    expect(sealedResponse.length).toBe(s.overhead);
    expect((await openResponse(keying, sealedResponse)).length).toBe(0);
  });

  it("puts the given response nonce first and is deterministic for a fixed nonce", async () => {
    const { sealed, keying } = await sealRequest(config, pattern(8), { suiteIndex: s.suiteIndex });
    const opened = await openRequest(lookup, sealed);
    const nonce = pattern(s.nonce, 9);
    const first = await sealResponse(opened.keying, pattern(20), nonce);
    const again = await sealResponse(opened.keying, pattern(20), nonce);
    const fresh = await sealResponse(opened.keying, pattern(20));
    expect(toHex(first.subarray(0, s.nonce))).toBe(toHex(nonce));
    expect(toHex(again)).toBe(toHex(first));
    expect(toHex(fresh.subarray(s.nonce))).not.toBe(toHex(first.subarray(s.nonce)));
    expect(toHex(await openResponse(keying, first))).toBe(toHex(pattern(20)));
  });

  it("refuses every bit flip of the sealed request with the error for the part it hits", async () => {
    const { sealed } = await sealRequest(config, pattern(8), { suiteIndex: s.suiteIndex });
    const wrong: string[] = [];
    for (let bit = 0; bit < sealed.length * 8; bit++) {
      const tampered = flipBit(sealed, bit);
      const view = new DataView(tampered.buffer);
      const offered = BOTH_SUITES.some(
        (suite) => suite.kdfId === view.getUint16(3) && suite.aeadId === view.getUint16(5),
      );
      const expected =
        tampered[0] !== KEY_ID
          ? UnknownKeyError
          : view.getUint16(1) !== KemId.DhkemX25519HkdfSha256 || !offered
            ? DecodeError
            : CryptoError;
      const error = await settleError(openRequest(lookup, tampered));
      if (error === undefined || (error as object).constructor !== expected) {
        wrong.push(`bit ${bit}: ${error === undefined ? "opened" : (error as Error).name}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("refuses every bit flip of the sealed response with CryptoError", async () => {
    const { sealed, keying } = await sealRequest(config, pattern(8), { suiteIndex: s.suiteIndex });
    const opened = await openRequest(lookup, sealed);
    const response = await sealResponse(opened.keying, pattern(12, 3));
    const wrong: string[] = [];
    for (let bit = 0; bit < response.length * 8; bit++) {
      const error = await settleError(openResponse(keying, flipBit(response, bit)));
      if (error === undefined || (error as object).constructor !== CryptoError) {
        wrong.push(`bit ${bit}: ${error === undefined ? "opened" : (error as Error).name}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("refuses every truncation: DecodeError below the overhead, CryptoError above it", async () => {
    const { sealed, keying } = await sealRequest(config, pattern(8), { suiteIndex: s.suiteIndex });
    const opened = await openRequest(lookup, sealed);
    const response = await sealResponse(opened.keying, pattern(8));
    const wrong: string[] = [];
    for (let length = 0; length < sealed.length; length++) {
      const expected = length < REQUEST_OVERHEAD ? DecodeError : CryptoError;
      const error = await settleError(openRequest(lookup, sealed.subarray(0, length)));
      if (error === undefined || (error as object).constructor !== expected) {
        wrong.push(`request prefix ${length}`);
      }
    }
    for (let length = 0; length < response.length; length++) {
      const expected = length < s.overhead ? DecodeError : CryptoError;
      const error = await settleError(openResponse(keying, response.subarray(0, length)));
      if (error === undefined || (error as object).constructor !== expected) {
        wrong.push(`response prefix ${length}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("refuses a request or response with a byte appended", async () => {
    const { sealed, keying } = await sealRequest(config, pattern(8), { suiteIndex: s.suiteIndex });
    const opened = await openRequest(lookup, sealed);
    const response = await sealResponse(opened.keying, pattern(8));
    expectExactly(
      await rejection(openRequest(lookup, concat(sealed, new Uint8Array(1)))),
      CryptoError,
    );
    expectExactly(
      await rejection(openResponse(keying, concat(response, new Uint8Array(1)))),
      CryptoError,
    );
  });
});

describe("openRequest refuses", () => {
  it("a key id the relay does not hold, with UnknownKeyError", async () => {
    const { sealed } = await sealRequest({ ...config, keyId: 9 }, pattern(8));
    expect(requestKeyId(sealed)).toBe(9);
    const error = await rejection(openRequest(lookup, sealed));
    expectExactly(error, UnknownKeyError);
    expect((error as UnknownKeyError).code).toBe("unknown_key");
  });

  it("a suite the key does not offer, with DecodeError", async () => {
    const aesOnly: OpeningKey = {
      config: { ...config, suites: [BOTH_SUITES[0]!] },
      privateKey: key.privateKey,
    };
    const { sealed } = await sealRequest({ ...config, suites: [BOTH_SUITES[1]!] }, pattern(8));
    expect(toHex(sealed.subarray(0, 7))).toBe("07" + "0020" + "0001" + "0003");
    const error = await rejection(openRequest(() => aesOnly, sealed));
    expectExactly(error, DecodeError);
    expect((error as DecodeError).message).toBe("cipher suite not offered by this key");
    // The same bytes open under a key that offers ChaCha20-Poly1305.
    expect(toHex((await openRequest(lookup, sealed)).plaintext)).toBe(toHex(pattern(8)));
  });

  it.each([
    ["KEM 0x0021", "07" + "0021" + "0001" + "0001"],
    ["KDF 0x0002", "07" + "0020" + "0002" + "0001"],
    ["AEAD 0x0002", "07" + "0020" + "0001" + "0002"],
    ["AEAD 0xffff (export only)", "07" + "0020" + "0001" + "ffff"],
  ])("a header naming %s, with DecodeError", async (_, headerHex) => {
    const { sealed } = await sealRequest(config, pattern(8));
    const tampered = concat(fromHex(headerHex), sealed.subarray(7));
    const error = await rejection(openRequest(lookup, tampered));
    expectExactly(error, DecodeError);
    expect((error as DecodeError).message).toBe("cipher suite not offered by this key");
  });

  it("a request sealed to another key with the same key id, with CryptoError", async () => {
    const { sealed } = await sealRequest(otherKey.config, pattern(8));
    const error = await rejection(openRequest(lookup, sealed));
    expectExactly(error, CryptoError);
    expect((error as CryptoError).message).toBe("request did not open");
  });

  it("a request sealed under other labels, with CryptoError", async () => {
    const labels = { request: "other request", response: "other response" };
    const { sealed } = await sealRequest(config, pattern(8), { labels });
    expectExactly(await rejection(openRequest(lookup, sealed)), CryptoError);
    expect(toHex((await openRequest(lookup, sealed, labels)).plaintext)).toBe(toHex(pattern(8)));
  });

  it("inputs shorter than the overhead before any lookup", async () => {
    let lookups = 0;
    const counting = (id: number) => {
      lookups++;
      return lookup(id);
    };
    const short = new Uint8Array(REQUEST_OVERHEAD - 1);
    short[0] = KEY_ID;
    expectExactly(await rejection(openRequest(counting, short)), DecodeError);
    expect(lookups).toBe(0);
    expectDecodeError(() => requestKeyId(short));
    expectDecodeError(() => requestEnc(short));
  });
});

describe("sealRequest refuses", () => {
  it("a suite index the config does not have", async () => {
    expectExactly(await rejection(sealRequest(config, pattern(8), { suiteIndex: 2 })), RangeError);
  });

  it("a public key that does not deserialize", async () => {
    const broken: KeyConfig = {
      keyId: 1,
      kemId: KemId.DhkemX25519HkdfSha256,
      publicKey: new Uint8Array(31),
      suites: [{ kdfId: KdfId.HkdfSha256, aeadId: AeadId.Aes128Gcm }],
    };
    const error = await rejection(sealRequest(broken, pattern(8)));
    expectExactly(error, CryptoError);
    expect((error as CryptoError).message).toBe("invalid relay public key");
  });
});

describe("response keying is bound to one request", () => {
  it("a response sealed for one request does not open with another request's keying", async () => {
    const a = await sealRequest(config, pattern(8, 1));
    const b = await sealRequest(config, pattern(8, 1));
    expect(toHex(a.keying.enc)).not.toBe(toHex(b.keying.enc));
    const openedA = await openRequest(lookup, a.sealed);
    const openedB = await openRequest(lookup, b.sealed);
    const forA = await sealResponse(openedA.keying, pattern(16, 5));
    const forB = await sealResponse(openedB.keying, pattern(16, 5));

    expect(toHex(await openResponse(a.keying, forA))).toBe(toHex(pattern(16, 5)));
    expect(toHex(await openResponse(b.keying, forB))).toBe(toHex(pattern(16, 5)));
    const crossed = await rejection(openResponse(b.keying, forA));
    expectExactly(crossed, CryptoError);
    expect((crossed as CryptoError).message).toBe("response did not open");
    expectExactly(await rejection(openResponse(a.keying, forB)), CryptoError);
  });

  it("a response does not open under the same request's keying with other labels", async () => {
    const { sealed, keying } = await sealRequest(config, pattern(8));
    const opened = await openRequest(lookup, sealed);
    const response = await sealResponse(
      { ...opened.keying, labels: { ...SHROUD_ENVELOPE_LABELS, response: "other response" } },
      pattern(16),
    );
    expectExactly(await rejection(openResponse(keying, response)), CryptoError);
  });

  it("refuses a response shorter than nonce + tag with DecodeError", async () => {
    const { keying } = await sealRequest(config, pattern(8));
    const error = await rejection(openResponse(keying, new Uint8Array(31)));
    expectExactly(error, DecodeError);
    expect((error as DecodeError).message).toBe("sealed response too short");
  });
});
