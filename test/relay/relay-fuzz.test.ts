import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { memoryPorts, type MemoryPorts } from "../../src/adapters/memory/memory-ports.js";
import { contactCard, createInbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { decode } from "../../src/protocol/codec.js";
import { openResponse, REQUEST_OVERHEAD, sealRequest } from "../../src/protocol/envelope.js";
import { MediaTypes } from "../../src/protocol/labels.js";
import { relayResponseCodec } from "../../src/protocol/relay-response.js";
import { RelayStatus } from "../../src/protocol/relay-status.js";
import { createRelayApp } from "../../src/relay/app.js";
import { relayConfig } from "../../src/relay/relay-config.js";
import { Relay } from "../../src/relay/relay.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";
import { collectingLogger } from "../../testkit/collecting-logger.js";

const ORIGIN = "http://relay.test";
let relay: Relay;
let ports: MemoryPorts;
let app: ReturnType<typeof createRelayApp>;
let valid: Uint8Array;
const logs: string[] = [];

function post(body: Uint8Array): Promise<Response> {
  return Promise.resolve(
    app.fetch(
      new Request(`${ORIGIN}/v1/relay`, {
        method: "POST",
        headers: { "content-type": MediaTypes.request },
        body: new Uint8Array(body),
      }),
    ),
  );
}

const state = () => ports.inboxes.snapshot() + ports.pool.snapshot();

beforeAll(async () => {
  ports = { ...memoryPorts(), logger: collectingLogger(logs) };
  relay = await Relay.open(relayConfig({ origin: ORIGIN, roundIntervalMs: 60_000 }), ports);
  app = createRelayApp(relay);
  const appFetch = ((input: RequestInfo | URL, init?: RequestInit) =>
    app.fetch(new Request(input, init))) as typeof fetch;
  // One real deposit gives a valid envelope to mutate, and some state that must not change.
  const captured: Uint8Array[] = [];
  const client = await RelayClient.connect(ORIGIN, {
    shaping: ShapingProfiles.off,
    fetch: async (input, init) => {
      if (init?.body instanceof Uint8Array) captured.push(new Uint8Array(init.body));
      return appFetch(input, init);
    },
  });
  const inbox = await createInbox(ORIGIN);
  await client.deposit(contactCard(inbox), new TextEncoder().encode("seed"));
  await relay.closeRound();
  await client.deposit(contactCard(inbox), new TextEncoder().encode("pending"));
  valid = captured[0]!;
});

describe("relay under arbitrary input", () => {
  it("answers arbitrary bodies with an opaque error and changes nothing", async () => {
    const before = state();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 2048 }),
          fc.constantFrom(1024, 4096).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
        ),
        async (body) => {
          const res = await post(body);
          expect([400, 422]).toContain(res.status);
          expect(["bad request", "unknown key"]).toContain(await res.text());
        },
      ),
      { numRuns: 300 },
    );
    expect(state()).toBe(before);
  });

  it("refuses mutated valid envelopes (bit flips, truncation, extension) and changes nothing", async () => {
    const before = state();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc
            .tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 1, max: 255 }))
            .map(([i, x]) => {
              const copy = valid.slice();
              copy[i]! ^= x;
              return copy;
            }),
          fc.nat({ max: valid.length - 1 }).map((n) => valid.slice(0, n)),
          fc.uint8Array({ minLength: 1, maxLength: 64 }).map((tail) => {
            const out = new Uint8Array(valid.length + tail.length);
            out.set(valid);
            out.set(tail, valid.length);
            return out;
          }),
        ),
        async (body) => {
          const res = await post(body);
          expect([400, 413, 422]).toContain(res.status);
        },
      ),
      { numRuns: 400 },
    );
    expect(state()).toBe(before);
  });

  it("answers well-sealed garbage with a sealed bad_request of the request's bucket", async () => {
    const before = state();
    const descriptor = (
      await RelayClient.connect(ORIGIN, {
        shaping: ShapingProfiles.off,
        fetch: ((i: RequestInfo | URL, init?: RequestInit) =>
          app.fetch(new Request(i, init))) as typeof fetch,
      })
    ).descriptor;
    const config = descriptor.keys[0]!.config;
    const padding = relay.config.padding;
    let badRequests = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          // Correctly padded, arbitrary inner bytes.
          fc.uint8Array({ maxLength: 900 }).map((inner) => padding.pad(inner, REQUEST_OVERHEAD)),
          // Arbitrary bytes of a bucket's plaintext length: the padding itself is bad.
          fc.uint8Array({ minLength: 1024 - REQUEST_OVERHEAD, maxLength: 1024 - REQUEST_OVERHEAD }),
        ),
        async (plaintext) => {
          const { sealed, keying } = await sealRequest(config, plaintext);
          const res = await post(sealed);
          expect(res.status).toBe(200);
          const body = new Uint8Array(await res.arrayBuffer());
          expect(padding.buckets).toContain(body.length);
          const answer = decode(
            relayResponseCodec,
            padding.unpad(await openResponse(keying, body)),
          );
          // A random inner request can occasionally be valid (e.g. a cover or an ack of an
          // unknown inbox); it must then still not change stored state.
          expect([
            RelayStatus.bad_request,
            RelayStatus.ok,
            RelayStatus.not_found,
            RelayStatus.forbidden,
            RelayStatus.too_large,
            RelayStatus.unsupported,
          ]).toContain(answer.status);
          if (answer.status === RelayStatus.bad_request) badRequests++;
        },
      ),
      { numRuns: 200 },
    );
    expect(badRequests).toBeGreaterThan(180);
    expect(state()).toBe(before);
    expect(logs).toEqual([]);
  });
});
