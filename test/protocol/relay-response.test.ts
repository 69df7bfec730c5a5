import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import { decode, encode } from "../../src/protocol/codec.js";
import { RequestKind } from "../../src/protocol/relay-request.js";
import {
  fetchedItemCodec,
  relayResponseCodec,
  type FailureStatus,
  type RelayResponse,
} from "../../src/protocol/relay-response.js";
import { RelayStatus, relayStatusName } from "../../src/protocol/relay-status.js";
import {
  expectDecodeError,
  expectEveryPrefixRefused,
  pattern,
} from "../../testkit/protocol-checks.js";

const FAILURES: FailureStatus[] = [
  RelayStatus.forbidden,
  RelayStatus.quota,
  RelayStatus.not_found,
  RelayStatus.too_large,
  RelayStatus.bad_request,
  RelayStatus.unsupported,
  RelayStatus.internal,
  RelayStatus.unavailable,
  RelayStatus.token_required,
  RelayStatus.token_refused,
];

const twoItems: RelayResponse = {
  status: RelayStatus.ok,
  kind: RequestKind.fetch,
  items: [
    { seq: 1, payload: fromHex("aabb") },
    { seq: Number.MAX_SAFE_INTEGER, payload: new Uint8Array(0) },
  ],
  more: true,
};
const twoItemsHex =
  "00" + "02" + "14" + "0000000000000001" + "02aabb" + "001fffffffffffff" + "00" + "01";

function roundtrip(response: RelayResponse, wireHex: string): void {
  const encoded = encode(relayResponseCodec, response);
  expect(toHex(encoded)).toBe(wireHex);
  expect(relayResponseCodec.size(response)).toBe(wireHex.length / 2);
  expect(decode(relayResponseCodec, encoded)).toEqual(response);
}

describe("relayResponseCodec roundtrips", () => {
  it("covers every status code defined in relay-status.ts", () => {
    const covered = [RelayStatus.ok, RelayStatus.accepted, ...FAILURES].sort((a, b) => a - b);
    expect(covered).toEqual(Object.values(RelayStatus).sort((a, b) => a - b));
  });

  it.each(FAILURES.map((status) => [relayStatusName(status), status] as const))(
    "failure status %s as a single byte",
    (_, status) => {
      roundtrip({ status }, toHex(new Uint8Array([status])));
    },
  );

  it("accepted deposit, new and duplicate", () => {
    roundtrip(
      { status: RelayStatus.accepted, kind: RequestKind.deposit, duplicate: false },
      "010100",
    );
    roundtrip(
      { status: RelayStatus.accepted, kind: RequestKind.deposit, duplicate: true },
      "010101",
    );
  });

  it("ok fetch with no items and with items", () => {
    roundtrip(
      { status: RelayStatus.ok, kind: RequestKind.fetch, items: [], more: false },
      "0002" + "00" + "00",
    );
    roundtrip(twoItems, twoItemsHex);
  });

  it("ok fetch whose item list needs a 2-byte length", () => {
    const items = Array.from({ length: 5 }, (_, i) => ({ seq: i, payload: pattern(20, i) }));
    const response: RelayResponse = {
      status: RelayStatus.ok,
      kind: RequestKind.fetch,
      items,
      more: false,
    };
    const encoded = encode(relayResponseCodec, response);
    expect(encoded.length).toBe(2 + 2 + 5 * (8 + 1 + 20) + 1);
    expect(toHex(encoded.subarray(0, 4))).toBe("0002" + "4091");
    expect(decode(relayResponseCodec, encoded)).toEqual(response);
  });

  it("ok ack", () => {
    roundtrip({ status: RelayStatus.ok, kind: RequestKind.ack, removed: 7 }, "0003" + "00000007");
    roundtrip(
      { status: RelayStatus.ok, kind: RequestKind.ack, removed: 0xffffffff },
      "0003" + "ffffffff",
    );
  });

  it("ok cover", () => {
    roundtrip({ status: RelayStatus.ok, kind: RequestKind.cover }, "0004");
  });

  it("accepted forward, ok proxy and ok peer_descriptor", () => {
    roundtrip({ status: RelayStatus.accepted, kind: RequestKind.forward }, "0105");
    roundtrip(
      {
        status: RelayStatus.ok,
        kind: RequestKind.proxy,
        httpStatus: 422,
        response: fromHex("aabb"),
      },
      "0006" + "01a6" + "02aabb",
    );
    roundtrip(
      {
        status: RelayStatus.ok,
        kind: RequestKind.peer_descriptor,
        descriptor: fromHex("010203"),
      },
      "0007" + "03010203",
    );
  });

  it("a fetched item on its own", () => {
    const item = { seq: 258, payload: fromHex("01") };
    expect(toHex(encode(fetchedItemCodec, item))).toBe("0000000000000102" + "0101");
    expect(decode(fetchedItemCodec, fromHex("0000000000000102" + "0101"))).toEqual(item);
  });
});

describe("relayResponseCodec refuses", () => {
  // Every (status, kind) pair that is not one of the union's combinations, written as it would
  // be if the encoder accepted it: status byte, kind byte, then a plausible body.
  const validPairs = new Set(["1/1", "1/5", "0/2", "0/3", "0/4", "0/6", "0/7"]);
  const allPairs = Object.values(RelayStatus).flatMap((status) =>
    Object.values(RequestKind).map((kind) => [status, kind] as const),
  );

  it.each(allPairs.filter(([s, k]) => !validPairs.has(`${s}/${k}`)))(
    "status %d with kind %d",
    (status, kind) => {
      const body = kind === RequestKind.ack ? "00000001" : kind === RequestKind.cover ? "" : "00";
      const wire = fromHex(toHex(new Uint8Array([status, kind])) + body);
      expectDecodeError(() => decode(relayResponseCodec, wire));
    },
  );

  it.each([
    ["0301", "trailing bytes"],
    ["0101" + "00" + "00", "trailing bytes"],
    ["0100" + "00", "accepted is only for deposits and forwards"],
    ["0002" + "00" + "0000", "trailing bytes"],
  ])("%s with the message %s", (wire, message) => {
    expect(expectDecodeError(() => decode(relayResponseCodec, fromHex(wire))).message).toBe(
      message,
    );
  });

  it.each([2, 13, 0x7f, 0xff])("status %d (2 was v1's conflict, retired)", (status) => {
    const wire = new Uint8Array([status]);
    expect(expectDecodeError(() => decode(relayResponseCodec, wire)).message).toBe(
      "unknown relay status",
    );
  });

  it.each([0, 1, 5, 0xff])("ok with kind %d", (kind) => {
    const wire = new Uint8Array([RelayStatus.ok, kind, 0]);
    expect(expectDecodeError(() => decode(relayResponseCodec, wire)).message).toBe(
      "unknown response kind",
    );
  });

  it.each([2, 3, 4, 6, 7])("accepted with kind %d", (kind) => {
    const wire = new Uint8Array([RelayStatus.accepted, kind, 0]);
    expect(expectDecodeError(() => decode(relayResponseCodec, wire)).message).toBe(
      "accepted is only for deposits and forwards",
    );
  });

  it.each([
    ["010102", "duplicate = 2"],
    ["0002" + "00" + "02", "more = 2"],
    ["0002" + "00" + "ff", "more = 255"],
  ])("booleans other than 0 and 1: %s (%s)", (wire) => {
    expect(expectDecodeError(() => decode(relayResponseCodec, fromHex(wire))).message).toBe(
      "invalid boolean",
    );
  });

  it("an item sequence number past Number.MAX_SAFE_INTEGER", () => {
    const wire = fromHex("0002" + "09" + "0020000000000000" + "00" + "00");
    expect(expectDecodeError(() => decode(relayResponseCodec, wire)).message).toBe(
      "integer out of range",
    );
  });

  it("an item list whose length cuts an item short", () => {
    const wire = fromHex("0002" + "08" + "0000000000000001" + "00");
    expect(expectDecodeError(() => decode(relayResponseCodec, wire)).message).toBe(
      "truncated input",
    );
  });

  it.each<[string, RelayResponse]>([
    ["ok fetch", twoItems],
    [
      "accepted deposit",
      { status: RelayStatus.accepted, kind: RequestKind.deposit, duplicate: true },
    ],
    ["ok ack", { status: RelayStatus.ok, kind: RequestKind.ack, removed: 3 }],
    ["ok cover", { status: RelayStatus.ok, kind: RequestKind.cover }],
    ["accepted forward", { status: RelayStatus.accepted, kind: RequestKind.forward }],
    [
      "ok proxy",
      { status: RelayStatus.ok, kind: RequestKind.proxy, httpStatus: 200, response: fromHex("aa") },
    ],
    [
      "ok peer_descriptor",
      { status: RelayStatus.ok, kind: RequestKind.peer_descriptor, descriptor: fromHex("0102") },
    ],
    ["not_found", { status: RelayStatus.not_found }],
  ])("every truncation of an %s response", (_, response) => {
    expectEveryPrefixRefused(relayResponseCodec, encode(relayResponseCodec, response));
  });
});

describe("relayResponseCodec refuses to encode", () => {
  it("a removed count past uint32", () => {
    expect(() =>
      encode(relayResponseCodec, {
        status: RelayStatus.ok,
        kind: RequestKind.ack,
        removed: 2 ** 32,
      }),
    ).toThrow(RangeError);
  });

  it("an unsafe item sequence number", () => {
    const response: RelayResponse = {
      status: RelayStatus.ok,
      kind: RequestKind.fetch,
      items: [{ seq: 2 ** 53, payload: new Uint8Array(0) }],
      more: false,
    };
    expect(() => encode(relayResponseCodec, response)).toThrow(RangeError);
  });
});
