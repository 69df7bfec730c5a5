/**
 * The ingress relay's release per round (`ingressRelease: "round"`, the default), over real HTTP
 * on loopback against stand-in next hops that record when each proxied request reached them:
 * proxied requests made at different moments of one round reach the next hop together once the
 * round's boundary has passed, in an order unrelated to the one they came in, and every client
 * still gets its own answer; forwards and proxied requests for one next hop are answered
 * together, once that hop has answered; a next hop that misses the deadline is `unavailable`
 * as before; with "immediate" a proxied request leaves at once.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "../../src/protocol/bytes.js";
import type { Descriptor } from "../../src/protocol/descriptor.js";
import { RequestKind } from "../../src/protocol/relay-request.js";
import type { RelayResponse } from "../../src/protocol/relay-response.js";
import { RelayStatus } from "../../src/protocol/relay-status.js";
import { nextRelease } from "../../src/relay/ingress-release.js";
import { startStandIns, type StandIn, type StandIns } from "./peer-stand-in.js";
import {
  descriptorOf,
  forwardRequest,
  postSealed,
  proxyRequest,
  startRelay,
  type TestRelay,
} from "./support.js";
import { sleep } from "../../testkit/wait.js";

const ROUND_MS = 1500;
/** A next hop slow enough that "answered with it" cannot be confused with "answered at once". */
const SLOW_MS = 2000;
const PROXY_TIMEOUT_MS = 3000;
/** Timers may fire a millisecond before Date.now() shows their time. */
const SLACK_MS = 2;

interface Sent {
  envelope: Uint8Array;
  sentAt: number;
  answer: RelayResponse;
  answeredAt: number;
}

const sha256 = (bytes: Uint8Array) => new Uint8Array(createHash("sha256").update(bytes).digest());
const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/** The next hop's HTTP status and body inside a proxied answer (it must be one). */
function proxied(answer: RelayResponse): { httpStatus: number; response: Uint8Array } {
  if (!("kind" in answer) || answer.kind !== RequestKind.proxy) {
    throw new Error(`not a proxied answer: ${JSON.stringify(answer)}`);
  }
  return answer;
}

/** When `hop` received `envelope` (it must have). */
function arrivalOf(hop: StandIn, envelope: Uint8Array): number {
  const found = hop.relayRequests.find((r) => sameBytes(r.body, envelope));
  if (!found) throw new Error("the next hop never received this request");
  return found.at;
}

/** Waits until just after the next round boundary, so a test's requests share one round. */
async function roundStart(roundMs = ROUND_MS): Promise<void> {
  await sleep(nextRelease(Date.now(), roundMs) - Date.now() + 20);
}

describe("ingress release per round", () => {
  let echo: StandIns;
  let slow: StandIns;
  let drip: StandIns;
  let a: TestRelay;
  let descriptorA: Descriptor;

  beforeAll(async () => {
    echo = await startStandIns(1, { relay: "echo" });
    slow = await startStandIns(1, { relay: "echo", relayDelayMs: SLOW_MS });
    drip = await startStandIns(1, { relay: "drip" });
    a = await startRelay({
      host: "127.0.0.1",
      backend: { kind: "memory" },
      config: {
        roundIntervalMs: ROUND_MS,
        federation: {
          policy: "allowlist",
          peers: [echo, slow, drip].map((s) => s.peers[0]!.url),
          ingressRelease: "round",
          proxyTimeoutMs: PROXY_TIMEOUT_MS,
        },
      },
    });
    descriptorA = await descriptorOf(a.url);
  });

  afterAll(async () => {
    await a?.close();
    for (const s of [echo, slow, drip]) await s?.close();
  });

  /** Sends `request` through A at once, recording when it left and when its answer came. */
  const send = (request: ReturnType<typeof proxyRequest>, envelope: Uint8Array) => {
    const sentAt = Date.now();
    return postSealed(a.url, descriptorA, request).then((answer): Sent => ({
      envelope,
      sentAt,
      answer,
      answeredAt: Date.now(),
    }));
  };

  it("sends a round's proxied requests together after its boundary, in random order, each answered", async () => {
    const hop = echo.peers[0]!;
    const WINDOWS = 3;
    const PER_WINDOW = 5;
    const windows: Sent[][] = [];
    for (let w = 0; w < WINDOWS; w++) {
      await roundStart();
      const pending: Promise<Sent>[] = [];
      for (let i = 0; i < PER_WINDOW; i++) {
        const envelope = randomBytes(1024);
        pending.push(send(proxyRequest(hop.url, envelope), envelope));
        await sleep(120);
      }
      windows.push(await Promise.all(pending));
    }
    let reordered = 0;
    for (const sent of windows) {
      for (const s of sent) {
        // Its own answer: the next hop's digest of its own envelope.
        expect(s.answer.status).toBe(RelayStatus.ok);
        const { httpStatus, response } = proxied(s.answer);
        expect(httpStatus).toBe(200);
        expect(sameBytes(response, sha256(s.envelope))).toBe(true);
        // Held to the round boundary, both ways.
        const boundary = nextRelease(s.sentAt, ROUND_MS);
        expect(arrivalOf(hop, s.envelope)).toBeGreaterThanOrEqual(boundary - SLACK_MS);
        expect(s.answeredAt).toBeGreaterThanOrEqual(boundary - SLACK_MS);
        // Together: none reached the next hop before the round's last one was even sent.
        for (const other of sent) {
          if (nextRelease(other.sentAt, ROUND_MS) !== boundary) continue;
          expect(arrivalOf(hop, s.envelope)).toBeGreaterThanOrEqual(other.sentAt);
        }
      }
      const byArrival = [...sent].sort(
        (x, y) => arrivalOf(hop, x.envelope) - arrivalOf(hop, y.envelope),
      );
      if (byArrival.some((s, i) => s !== sent[i])) reordered += 1;
    }
    // In the order they came in, all three rounds of five would have 1 chance in 120^3.
    expect(reordered).toBeGreaterThan(0);
  }, 60_000);

  it("answers forwards for a next hop together with its proxied requests, not at once", async () => {
    const slowHop = slow.peers[0]!;
    const fastHop = echo.peers[0]!;
    await roundStart();
    const forwardEnvelope = randomBytes(1024);
    const forward = send(forwardRequest(slowHop.url, forwardEnvelope), forwardEnvelope);
    await sleep(150);
    const otherEnvelope = randomBytes(1024);
    const otherForward = send(forwardRequest(fastHop.url, otherEnvelope), otherEnvelope);
    await sleep(150);
    const proxyEnvelope = randomBytes(1024);
    const proxy = send(proxyRequest(slowHop.url, proxyEnvelope), proxyEnvelope);
    const [f, o, p] = await Promise.all([forward, otherForward, proxy]);
    expect(f.answer).toEqual({ status: RelayStatus.accepted, kind: RequestKind.forward });
    expect(o.answer).toEqual({ status: RelayStatus.accepted, kind: RequestKind.forward });
    expect(p.answer.status).toBe(RelayStatus.ok);
    expect(sameBytes(proxied(p.answer).response, sha256(proxyEnvelope))).toBe(true);
    const boundary = nextRelease(f.sentAt, ROUND_MS);
    const reached = arrivalOf(slowHop, proxyEnvelope);
    expect(reached).toBeGreaterThanOrEqual(boundary - SLACK_MS);
    // The forward's answer waited for the slow hop's answer to the proxied request ...
    expect(f.answeredAt).toBeGreaterThanOrEqual(reached + SLOW_MS - SLACK_MS);
    expect(p.answeredAt).toBeGreaterThanOrEqual(reached + SLOW_MS - SLACK_MS);
    // ... while a forward for another hop was answered at the boundary, not held by that hop.
    expect(o.answeredAt).toBeGreaterThanOrEqual(boundary - SLACK_MS);
    expect(o.answeredAt).toBeLessThan(p.answeredAt);
  }, 30_000);

  it("answers unavailable when a held request's next hop misses the deadline", async () => {
    const hop = drip.peers[0]!;
    const envelope = randomBytes(1024);
    const s = await send(proxyRequest(hop.url, envelope), envelope);
    expect(s.answer).toEqual({ status: RelayStatus.unavailable });
    // The deadline runs from the release, not from the client's request.
    const released = nextRelease(s.sentAt, ROUND_MS);
    expect(s.answeredAt).toBeGreaterThanOrEqual(released + PROXY_TIMEOUT_MS - SLACK_MS);
  }, 30_000);
});

describe('ingressRelease "immediate"', () => {
  let echo: StandIns;
  let a: TestRelay;

  beforeAll(async () => {
    echo = await startStandIns(1, { relay: "echo" });
    a = await startRelay({
      host: "127.0.0.1",
      backend: { kind: "memory" },
      config: {
        // A round release would hold a request for up to ten minutes.
        roundIntervalMs: 600_000,
        federation: {
          policy: "allowlist",
          peers: [echo.peers[0]!.url],
          ingressRelease: "immediate",
        },
      },
    });
  });

  afterAll(async () => {
    await a?.close();
    await echo?.close();
  });

  it("passes a proxied request on at once", async () => {
    const hop = echo.peers[0]!;
    const envelope = randomBytes(1024);
    const sentAt = Date.now();
    const answer = await postSealed(
      a.url,
      await descriptorOf(a.url),
      proxyRequest(hop.url, envelope),
    );
    expect(answer).toMatchObject({ status: RelayStatus.ok, kind: RequestKind.proxy });
    expect(arrivalOf(hop, envelope)).toBeLessThan(nextRelease(sentAt, 600_000));
  });
});
