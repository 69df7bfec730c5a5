import { describe, expect, it } from "vitest";
import { concat, fromHex, toHex } from "../../src/protocol/bytes.js";
import { decode, encode } from "../../src/protocol/codec.js";
import {
  RequestKind,
  relayRequestCodec,
  type AckRequest,
  type CoverRequest,
  type DepositRequest,
  type FetchRequest,
  type RelayRequest,
} from "../../src/protocol/relay-request.js";
import {
  expectDecodeError,
  expectEveryPrefixRefused,
  expectExactly,
  pattern,
  thrown,
} from "../../testkit/protocol-checks.js";

const readId = pattern(32, 1);
const writeToken = pattern(32, 2);
const messageId = pattern(16, 3);
const readSecret = pattern(32, 4);
const writeTokenHash = pattern(32, 5);

const deposit: DepositRequest = {
  kind: RequestKind.deposit,
  responseSize: 4096,
  readId,
  writeToken,
  messageId,
  flags: 0,
  payload: fromHex("68656c6c6f"),
};
const fetch: FetchRequest = {
  kind: RequestKind.fetch,
  responseSize: 65536,
  readSecret,
  writeTokenHash,
  afterSeq: 2 ** 40 + 5,
  maxItems: 0xffff,
};
const ack: AckRequest = {
  kind: RequestKind.ack,
  responseSize: 1024,
  readSecret,
  writeTokenHash,
  upToSeq: Number.MAX_SAFE_INTEGER,
};
const cover: CoverRequest = { kind: RequestKind.cover, responseSize: 0xffffffff };

const representatives: [string, RelayRequest][] = [
  ["deposit", deposit],
  ["fetch", fetch],
  ["ack", ack],
  ["cover", cover],
  [
    "forward",
    {
      kind: RequestKind.forward,
      responseSize: 1024,
      nextHop: "https://b.example",
      envelope: fromHex("0102"),
    },
  ],
  [
    "proxy",
    {
      kind: RequestKind.proxy,
      responseSize: 4096,
      nextHop: "https://b.example",
      envelope: fromHex("03"),
    },
  ],
  [
    "peer_descriptor",
    { kind: RequestKind.peer_descriptor, responseSize: 1024, origin: "https://é.example" },
  ],
];

function roundtrip(request: RelayRequest, wireHex: string): void {
  const encoded = encode(relayRequestCodec, request);
  expect(toHex(encoded)).toBe(wireHex);
  expect(decode(relayRequestCodec, encoded)).toEqual(request);
}

describe("relayRequestCodec roundtrips", () => {
  it("deposit", () => {
    roundtrip(
      deposit,
      "00001000" +
        "01" +
        toHex(readId) +
        toHex(writeToken) +
        toHex(messageId) +
        "00" +
        "05" +
        "68656c6c6f",
    );
    expect(encode(relayRequestCodec, deposit).length).toBe(4 + 1 + 32 + 32 + 16 + 1 + 1 + 5);
  });

  it("deposit with flag bits (the codec carries them; the relay refuses them), an empty payload and a 2-byte-length payload", () => {
    const prefix = "00000400" + "01" + toHex(readId) + toHex(writeToken) + toHex(messageId);
    const flagged = { ...deposit, responseSize: 1024, flags: 0x01 };
    roundtrip({ ...flagged, payload: new Uint8Array(0) }, prefix + "01" + "00");
    const long = pattern(300, 9);
    roundtrip({ ...flagged, payload: long }, prefix + "01" + "412c" + toHex(long));
  });

  it("a deposit and a forward carrying a token (a Redeem), and refuses one on any other kind", () => {
    const token = new Uint8Array(354).fill(7);
    const redeemed = { ...deposit, token };
    const bytes = encode(relayRequestCodec, redeemed);
    expect(toHex(bytes.subarray(4, 5))).toBe("08");
    expect(decode(relayRequestCodec, bytes)).toEqual(redeemed);
    expectEveryPrefixRefused(relayRequestCodec, bytes);
    const forward = {
      kind: RequestKind.forward,
      responseSize: 4096,
      nextHop: "https://b.example",
      envelope: new Uint8Array([1, 2]),
      token,
    } as const;
    expect(decode(relayRequestCodec, encode(relayRequestCodec, forward))).toEqual(forward);
    // A Redeem around a fetch: kind 8, the token, then kind 2.
    const onFetch = concat(
      encode(relayRequestCodec, redeemed).subarray(0, 5 + 2 + 354),
      encode(relayRequestCodec, fetch).subarray(4),
    );
    expect(expectDecodeError(() => decode(relayRequestCodec, onFetch)).message).toBe(
      "only deposits and forwards carry a token",
    );
  });

  it("fetch", () => {
    roundtrip(
      fetch,
      "00010000" + "02" + toHex(readSecret) + toHex(writeTokenHash) + "0000010000000005" + "ffff",
    );
  });

  it("ack", () => {
    roundtrip(
      ack,
      "00000400" + "03" + toHex(readSecret) + toHex(writeTokenHash) + "001fffffffffffff",
    );
  });

  it("cover", () => {
    roundtrip(cover, "ffffffff" + "04");
    roundtrip({ kind: RequestKind.cover, responseSize: 0 }, "00000000" + "04");
  });

  it("forward, proxy and peer_descriptor", () => {
    const hop = "68747470733a2f2f622e6578616d706c65"; // "https://b.example"
    roundtrip(
      {
        kind: RequestKind.forward,
        responseSize: 1024,
        nextHop: "https://b.example",
        envelope: fromHex("0102"),
      },
      "00000400" + "05" + "11" + hop + "02" + "0102",
    );
    roundtrip(
      {
        kind: RequestKind.proxy,
        responseSize: 1024,
        nextHop: "https://b.example",
        envelope: fromHex(""),
      },
      "00000400" + "06" + "11" + hop + "00",
    );
    roundtrip(
      { kind: RequestKind.peer_descriptor, responseSize: 1024, origin: "https://b.example" },
      "00000400" + "07" + "11" + hop,
    );
  });

  it("a next hop that is not UTF-8", () => {
    const wire = fromHex("00000400" + "07" + "02" + "c328");
    expect(expectDecodeError(() => decode(relayRequestCodec, wire)).message).toBe("invalid UTF-8");
  });

  it("keeps only the fields of the kind (no cross-kind leftovers)", () => {
    const decoded = decode(relayRequestCodec, encode(relayRequestCodec, cover));
    expect(Object.keys(decoded).sort()).toEqual(["kind", "responseSize"]);
    const decodedFetch = decode(relayRequestCodec, encode(relayRequestCodec, fetch));
    expect(Object.keys(decodedFetch).sort()).toEqual([
      "afterSeq",
      "kind",
      "maxItems",
      "readSecret",
      "responseSize",
      "writeTokenHash",
    ]);
  });
});

describe("relayRequestCodec refuses", () => {
  it.each([0, 9, 0x80, 0xff])("request kind %d", (kind) => {
    const wire = concat(fromHex("00000400"), new Uint8Array([kind]));
    expect(expectDecodeError(() => decode(relayRequestCodec, wire)).message).toBe(
      "unknown request kind",
    );
  });

  it("a sequence number past Number.MAX_SAFE_INTEGER", () => {
    const wire = fromHex(
      "00000400" + "03" + toHex(readSecret) + toHex(writeTokenHash) + "0020000000000000",
    );
    expect(expectDecodeError(() => decode(relayRequestCodec, wire)).message).toBe(
      "integer out of range",
    );
  });

  it("a payload length that runs past the input", () => {
    const encoded = encode(relayRequestCodec, deposit);
    const lying = new Uint8Array(encoded);
    lying[4 + 1 + 32 + 32 + 16 + 1] = 6;
    expectDecodeError(() => decode(relayRequestCodec, lying));
  });

  it.each(representatives)("a %s request followed by a trailing byte", (_, request) => {
    const encoded = concat(encode(relayRequestCodec, request), new Uint8Array([0]));
    expect(expectDecodeError(() => decode(relayRequestCodec, encoded)).message).toBe(
      "trailing bytes",
    );
  });

  it.each(representatives)("every truncation of a %s request", (_, request) => {
    expectEveryPrefixRefused(relayRequestCodec, encode(relayRequestCodec, request));
  });
});

describe("relayRequestCodec refuses to encode", () => {
  it.each<[string, RelayRequest]>([
    ["a response size of 2^32", { ...cover, responseSize: 2 ** 32 }],
    ["a negative response size", { ...cover, responseSize: -1 }],
    ["flags past a byte", { ...deposit, flags: 0x100 }],
    ["a 31-byte read id", { ...deposit, readId: new Uint8Array(31) }],
    ["a 33-byte write token", { ...deposit, writeToken: new Uint8Array(33) }],
    ["a 15-byte message id", { ...deposit, messageId: new Uint8Array(15) }],
    ["max items past uint16", { ...fetch, maxItems: 0x10000 }],
    ["an unsafe sequence number", { ...fetch, afterSeq: 2 ** 53 }],
    ["a fractional sequence number", { ...ack, upToSeq: 1.5 }],
  ])("%s", (_, request) => {
    expectExactly(
      thrown(() => encode(relayRequestCodec, request)),
      RangeError,
    );
  });
});
