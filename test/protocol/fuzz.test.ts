/**
 * Property tests: no decoder raises anything but DecodeError (verifyDescriptor: DecodeError or
 * DescriptorError) on arbitrary bytes or on mutated valid encodings, and encode→decode
 * roundtrips for generated valid values.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { Reader, decode, encode, type Codec } from "../../src/protocol/codec.js";
import {
  descriptorBodyCodec,
  signDescriptor,
  verifyDescriptor,
  type Descriptor,
  type PublishedKey,
} from "../../src/protocol/descriptor.js";
import { DecodeError, DescriptorError } from "../../src/protocol/errors.js";
import { KemId } from "../../src/protocol/hpke-suite.js";
import {
  keyConfigCodec,
  keyConfigListCodec,
  type KeyConfig,
} from "../../src/protocol/key-config.js";
import { PaddingPolicy } from "../../src/protocol/padding-policy.js";
import {
  RequestKind,
  relayRequestCodec,
  type RelayRequest,
} from "../../src/protocol/relay-request.js";
import {
  relayResponseCodec,
  type FailureStatus,
  type RelayResponse,
} from "../../src/protocol/relay-response.js";
import { RelayStatus } from "../../src/protocol/relay-status.js";
import { BOTH_SUITES, generateSigningKey, sameBytes } from "../../testkit/protocol-checks.js";

const RUNS = 1000;
const ASYNC_RUNS = 300;

// ---------------------------------------------------------------------------------------------
// Generators of valid values

const bytes = (length: number) => fc.uint8Array({ minLength: length, maxLength: length });
const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u64 = fc.maxSafeNat();

const relayRequestArb: fc.Arbitrary<RelayRequest> = fc.oneof(
  fc.record({
    kind: fc.constant(RequestKind.deposit),
    responseSize: u32,
    readId: bytes(32),
    writeToken: bytes(32),
    messageId: bytes(16),
    flags: u8,
    payload: fc.uint8Array({ maxLength: 300, size: "max" }),
  }),
  fc.record({
    kind: fc.constant(RequestKind.fetch),
    responseSize: u32,
    readSecret: bytes(32),
    writeTokenHash: bytes(32),
    afterSeq: u64,
    maxItems: u16,
  }),
  fc.record({
    kind: fc.constant(RequestKind.ack),
    responseSize: u32,
    readSecret: bytes(32),
    writeTokenHash: bytes(32),
    upToSeq: u64,
  }),
  fc.record({ kind: fc.constant(RequestKind.cover), responseSize: u32 }),
);

/** Arbitrary inputs: mostly short ones (header paths), some up to 300 bytes. */
const anyBytes = fc.oneof(
  fc.uint8Array({ maxLength: 16 }),
  fc.uint8Array({ maxLength: 300, size: "max" }),
);

const FAILURES: FailureStatus[] = [3, 4, 5, 6, 7, 8, 9, 10];

const relayResponseArb: fc.Arbitrary<RelayResponse> = fc.oneof(
  fc.constantFrom(...FAILURES).map((status): RelayResponse => ({ status })),
  fc.boolean().map((duplicate): RelayResponse => ({
    status: RelayStatus.accepted,
    kind: RequestKind.deposit,
    duplicate,
  })),
  fc.record({
    status: fc.constant(RelayStatus.ok),
    kind: fc.constant(RequestKind.fetch),
    items: fc.array(
      fc.record({ seq: u64, payload: fc.uint8Array({ maxLength: 80, size: "max" }) }),
      {
        maxLength: 6,
      },
    ),
    more: fc.boolean(),
  }),
  fc.record({
    status: fc.constant(RelayStatus.ok),
    kind: fc.constant(RequestKind.ack),
    removed: u32,
  }),
  fc.constant<RelayResponse>({ status: RelayStatus.ok, kind: RequestKind.cover }),
);

const keyConfigArb: fc.Arbitrary<KeyConfig> = fc.record({
  keyId: u8,
  kemId: fc.constant(KemId.DhkemX25519HkdfSha256),
  publicKey: bytes(32),
  suites: fc.array(fc.constantFrom(...BOTH_SUITES), { minLength: 1, maxLength: 4 }),
});

const publishedKeyArb: fc.Arbitrary<PublishedKey> = fc.record({
  config: keyConfigArb,
  notBefore: u64,
  notAfter: u64,
});

const descriptorArb: fc.Arbitrary<Descriptor> = fc.record({
  origin: fc.oneof(
    fc.constant("https://relay.example"),
    fc.string({ unit: "grapheme", maxLength: 40 }),
  ),
  signingKey: bytes(32),
  keys: fc.array(publishedKeyArb, { maxLength: 3 }),
  buckets: fc.array(u32, { maxLength: 8 }),
  roundIntervalMs: u32,
  issuedAt: u64,
  expiresAt: u64,
});

// ---------------------------------------------------------------------------------------------
// Mutations of valid encodings

type Mutation =
  | { op: "flip"; at: number; bit: number }
  | { op: "truncate"; at: number }
  | { op: "extend"; extra: Uint8Array }
  | { op: "overwrite"; at: number; value: number }
  | { op: "insert"; at: number; extra: Uint8Array }
  | { op: "delete"; at: number; count: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    op: fc.constant("flip" as const),
    at: fc.nat(),
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({
    op: fc.constant("extend" as const),
    extra: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  }),
  fc.record({ op: fc.constant("overwrite" as const), at: fc.nat(), value: u8 }),
  fc.record({
    op: fc.constant("insert" as const),
    at: fc.nat(),
    extra: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    op: fc.constant("delete" as const),
    at: fc.nat(),
    count: fc.integer({ min: 1, max: 8 }),
  }),
);

function applyMutation(input: Uint8Array, m: Mutation): Uint8Array {
  const index = (n: number) => (input.length === 0 ? 0 : n % input.length);
  switch (m.op) {
    case "flip": {
      const out = new Uint8Array(input);
      if (out.length > 0) out[index(m.at)]! ^= 1 << m.bit;
      return out;
    }
    case "truncate":
      return input.slice(0, index(m.at));
    case "extend":
      return new Uint8Array([...input, ...m.extra]);
    case "overwrite": {
      const out = new Uint8Array(input);
      if (out.length > 0) out[index(m.at)] = m.value;
      return out;
    }
    case "insert": {
      const at = index(m.at);
      return new Uint8Array([...input.subarray(0, at), ...m.extra, ...input.subarray(at)]);
    }
    case "delete": {
      const at = index(m.at);
      return new Uint8Array([...input.subarray(0, at), ...input.subarray(at + m.count)]);
    }
  }
}

/** Valid encodings of `valueArb` with one to four mutations applied. */
function mutated<T>(valueArb: fc.Arbitrary<T>, encodeValue: (value: T) => Uint8Array) {
  return fc
    .tuple(valueArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }))
    .map(([value, mutations]) => {
      const original = encodeValue(value);
      return { original, bytes: mutations.reduce(applyMutation, original) };
    });
}

// ---------------------------------------------------------------------------------------------
// Assertions

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error);
}

/** Runs a decoder; it may return or throw exactly DecodeError, nothing else. */
function onlyDecodeError(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    if ((error as object | null)?.constructor !== DecodeError) {
      throw new Error(`decoder threw ${describeError(error)}`, { cause: error });
    }
  }
}

/** The codecs under test: each is fuzzed through decode() and by calling read() directly. */
const DECODERS: [string, Codec<unknown>][] = [
  ["relayRequestCodec", relayRequestCodec as Codec<unknown>],
  ["relayResponseCodec", relayResponseCodec as Codec<unknown>],
  ["keyConfigCodec", keyConfigCodec as Codec<unknown>],
  ["keyConfigListCodec", keyConfigListCodec as Codec<unknown>],
  ["descriptorBodyCodec", descriptorBodyCodec as Codec<unknown>],
];

const policy = new PaddingPolicy([256, 1024, 4096]);

describe("helpers used by the properties can fail", () => {
  it("onlyDecodeError rejects other error classes", () => {
    expect(() => onlyDecodeError(() => decode(relayRequestCodec, new Uint8Array(1)))).not.toThrow();
    expect(() =>
      onlyDecodeError(() => {
        throw new TypeError("x");
      }),
    ).toThrow("decoder threw TypeError: x");
    expect(() =>
      onlyDecodeError(() => {
        throw new DescriptorError("x");
      }),
    ).toThrow("decoder threw DescriptorError: x");
  });

  it("mutations change the bytes", () => {
    const input = new Uint8Array([1, 2, 3, 4]);
    expect([...applyMutation(input, { op: "flip", at: 5, bit: 0 })]).toEqual([1, 3, 3, 4]);
    expect([...applyMutation(input, { op: "truncate", at: 2 })]).toEqual([1, 2]);
    expect([...applyMutation(input, { op: "extend", extra: new Uint8Array([9]) })]).toEqual([
      1, 2, 3, 4, 9,
    ]);
    expect([...applyMutation(input, { op: "insert", at: 1, extra: new Uint8Array([9]) })]).toEqual([
      1, 9, 2, 3, 4,
    ]);
    expect([...applyMutation(input, { op: "delete", at: 1, count: 2 })]).toEqual([1, 4]);
  });
});

describe.each(DECODERS)("%s never throws anything but DecodeError", (_, codec) => {
  it("on arbitrary bytes, through decode()", () => {
    fc.assert(
      fc.property(anyBytes, (input) => {
        onlyDecodeError(() => decode(codec, input));
      }),
      { numRuns: RUNS },
    );
  });

  it("on arbitrary bytes, reading directly (without decode's catch-all)", () => {
    fc.assert(
      fc.property(anyBytes, (input) => {
        onlyDecodeError(() => codec.read(new Reader(input)));
      }),
      { numRuns: RUNS },
    );
  });
});

describe("decoders on mutated valid encodings throw only DecodeError", () => {
  const cases: [
    string,
    fc.Arbitrary<{ original: Uint8Array; bytes: Uint8Array }>,
    Codec<unknown>,
  ][] = [
    [
      "relayRequestCodec",
      mutated(relayRequestArb, (v) => encode(relayRequestCodec, v)),
      relayRequestCodec as Codec<unknown>,
    ],
    [
      "relayResponseCodec",
      mutated(relayResponseArb, (v) => encode(relayResponseCodec, v)),
      relayResponseCodec as Codec<unknown>,
    ],
    [
      "keyConfigCodec",
      mutated(keyConfigArb, (v) => encode(keyConfigCodec, v)),
      keyConfigCodec as Codec<unknown>,
    ],
    [
      "keyConfigListCodec",
      mutated(fc.array(keyConfigArb, { minLength: 1, maxLength: 3 }), (v) =>
        encode(keyConfigListCodec, v),
      ),
      keyConfigListCodec as Codec<unknown>,
    ],
    [
      "descriptorBodyCodec",
      mutated(descriptorArb, (v) => encode(descriptorBodyCodec, v)),
      descriptorBodyCodec as Codec<unknown>,
    ],
  ];

  it.each(cases)("%s", (_, arb, codec) => {
    fc.assert(
      fc.property(arb, ({ bytes }) => {
        onlyDecodeError(() => decode(codec, bytes));
        onlyDecodeError(() => codec.read(new Reader(bytes)));
      }),
      { numRuns: RUNS },
    );
  });
});

describe("PaddingPolicy.unpad throws only DecodeError", () => {
  it("on arbitrary bytes", () => {
    fc.assert(
      fc.property(anyBytes, (input) => {
        onlyDecodeError(() => policy.unpad(input));
      }),
      { numRuns: RUNS },
    );
  });

  it("on mutated padded values, and returns the content when unmutated", () => {
    const arb = fc.tuple(
      fc.uint8Array({ maxLength: 600, size: "max" }),
      fc.constantFrom(0, 256, 1024, 4096),
      fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
    );
    fc.assert(
      fc.property(arb, ([content, minBucket, mutations]) => {
        const padded = policy.pad(content, 0, minBucket);
        expect(policy.isBucket(padded.length)).toBe(true);
        expect(sameBytes(policy.unpad(padded), content)).toBe(true);
        onlyDecodeError(() => policy.unpad(mutations.reduce(applyMutation, padded)));
      }),
      { numRuns: RUNS },
    );
  });
});

describe("verifyDescriptor rejects only with DecodeError or DescriptorError", () => {
  const ORIGIN = "https://relay.example";
  const NOW_S = 1_735_689_600;
  let signing: Awaited<ReturnType<typeof generateSigningKey>>;

  beforeAll(async () => {
    signing = await generateSigningKey();
  });

  async function expectRejected(input: Uint8Array): Promise<void> {
    let error: unknown;
    try {
      await verifyDescriptor(input, { origin: ORIGIN, now: NOW_S * 1000 });
    } catch (caught) {
      error = caught;
    }
    const cls = (error as object | undefined)?.constructor;
    if (cls !== DecodeError && cls !== DescriptorError) {
      throw new Error(
        `verifyDescriptor ${error === undefined ? "accepted" : `threw ${describeError(error)}`}`,
      );
    }
  }

  it("on arbitrary bytes", async () => {
    await fc.assert(fc.asyncProperty(anyBytes, expectRejected), {
      numRuns: ASYNC_RUNS,
    });
  });

  it("on mutated, validly signed descriptors (which verify before mutation)", async () => {
    const valid = descriptorArb.map((d) => ({
      ...d,
      origin: ORIGIN,
      signingKey: signing.publicKey,
      issuedAt: NOW_S - 60,
      expiresAt: NOW_S + 3600,
    }));
    await fc.assert(
      fc.asyncProperty(
        valid,
        fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
        async (d, mutations) => {
          const signed = await signDescriptor(d, signing.pair.privateKey);
          expect(await verifyDescriptor(signed, { origin: ORIGIN, now: NOW_S * 1000 })).toEqual(d);
          const bytes = mutations.reduce(applyMutation, signed);
          if (sameBytes(bytes, signed)) return; // an overwrite with the same byte
          await expectRejected(bytes);
        },
      ),
      { numRuns: ASYNC_RUNS },
    );
  });

  it("on validly signed descriptors under arbitrary origins, times and pins", async () => {
    const originArb = fc.oneof(
      { arbitrary: fc.constant(ORIGIN), weight: 6 },
      fc.constantFrom("http://relay.example", "https://RELAY.example:443/x", "ftp://relay.example"),
      fc.webUrl(),
      fc.string({ unit: "grapheme", maxLength: 30 }),
    );
    const nearNow = (spread: number) => fc.integer({ min: NOW_S - spread, max: NOW_S + spread });
    const arb = fc.record({
      descriptor: descriptorArb,
      claimed: originArb,
      fetchedFrom: originArb,
      issuedAt: fc.oneof(u64, nearNow(1_000)),
      expiresAt: fc.oneof(u64, nearNow(1_000)),
      nowSeconds: fc.oneof(
        u64.map((n) => Math.floor(n / 1000)),
        nearNow(1_000),
      ),
      pin: fc.option(fc.constantFrom("own", "other")),
    });
    let accepted = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(arb, async (c) => {
        const d = {
          ...c.descriptor,
          origin: c.claimed,
          signingKey: signing.publicKey,
          issuedAt: c.issuedAt,
          expiresAt: c.expiresAt,
        };
        const signed = await signDescriptor(d, signing.pair.privateKey);
        const pinnedSigningKey =
          c.pin === null
            ? undefined
            : c.pin === "own"
              ? signing.publicKey
              : d.keys[0]?.config.publicKey;
        const now = c.nowSeconds * 1000 + 999;
        let result: Descriptor;
        try {
          result = await verifyDescriptor(signed, {
            origin: c.fetchedFrom,
            now,
            pinnedSigningKey,
          });
        } catch (error) {
          if ((error as object | null)?.constructor !== DescriptorError) {
            throw new Error(`verifyDescriptor threw ${describeError(error)}`, { cause: error });
          }
          refused++;
          return;
        }
        accepted++;
        // Accepted: then every check really held.
        expect(result).toEqual(d);
        expect(d.issuedAt).toBeLessThanOrEqual(c.nowSeconds + 300);
        expect(d.expiresAt).toBeGreaterThanOrEqual(c.nowSeconds);
        expect(new URL(c.claimed).origin).toBe(new URL(c.fetchedFrom).origin);
        if (c.pin === "other") expect(d.keys[0]).toBeUndefined();
      }),
      { numRuns: ASYNC_RUNS },
    );
    // Both outcomes were exercised.
    expect(accepted).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });
});

describe("encode→decode roundtrips", () => {
  function roundtrips<T>(arb: fc.Arbitrary<T>, codec: Codec<T>): void {
    fc.assert(
      fc.property(arb, (value) => {
        const encoded = encode(codec, value);
        expect(encoded.length).toBe(codec.size(value));
        expect(decode(codec, encoded)).toEqual(value);
      }),
      { numRuns: RUNS },
    );
  }

  it("relay requests", () => roundtrips(relayRequestArb, relayRequestCodec));
  it("relay responses", () => roundtrips(relayResponseArb, relayResponseCodec));
  it("key configs", () => roundtrips(keyConfigArb, keyConfigCodec));
  it("key config lists", () =>
    roundtrips(fc.array(keyConfigArb, { maxLength: 4 }), keyConfigListCodec));
  it("descriptor bodies", () => roundtrips(descriptorArb, descriptorBodyCodec));
});
