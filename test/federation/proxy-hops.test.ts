/**
 * Proxying through relay A to a next hop, over real HTTP on loopback:
 * - a next hop that answers at once but drips its body is cut off at A's deadline and the client
 *   gets `unavailable`, with no log line (a counter instead);
 * - a peer that restarted with a new HPKE key (embedded store: same signing key, new HPKE key)
 *   answers 422 to a request sealed to its old key; A then refreshes its copy of the peer's
 *   descriptor (at most once per peer per 10 s), so the client's next peer_descriptor through
 *   A carries the new key.
 */
import { afterAll, describe, expect, it } from "vitest";
import { memoryPorts } from "../../src/adapters/memory/memory-ports.js";
import { startNodeRelay, type RunningRelay } from "../../src/node.js";
import { randomBytes } from "../../src/protocol/bytes.js";
import { encode } from "../../src/protocol/codec.js";
import { verifyDescriptor, type Descriptor } from "../../src/protocol/descriptor.js";
import {
  relayRequestCodec,
  RequestKind,
  type RelayRequest,
} from "../../src/protocol/relay-request.js";
import { RelayStatus } from "../../src/protocol/relay-status.js";
import { MetricName } from "../../src/relay/ports/metrics.js";
import { freePort } from "../../testkit/free-port.js";
import { startStandIns, type StandIns } from "./peer-stand-in.js";
import {
  bucketFor,
  descriptorOf,
  postSealed,
  sealFor,
  startRelay,
  type TestRelay,
} from "./support.js";

function proxyRequest(nextHop: string, envelope: Uint8Array): RelayRequest {
  const request: RelayRequest = { kind: RequestKind.proxy, responseSize: 0, nextHop, envelope };
  request.responseSize = bucketFor(encode(relayRequestCodec, request).length);
  return request;
}

function peerDescriptorRequest(origin: string): RelayRequest {
  return { kind: RequestKind.peer_descriptor, responseSize: 4096, origin };
}

/** B's descriptor as A hands it to a client. */
async function peerDescriptorVia(a: TestRelay, descriptorA: Descriptor, origin: string) {
  const answer = await postSealed(a.url, descriptorA, peerDescriptorRequest(origin));
  if (answer.status !== RelayStatus.ok || answer.kind !== RequestKind.peer_descriptor) {
    throw new Error(`peer_descriptor answered ${answer.status}`);
  }
  return verifyDescriptor(answer.descriptor, { origin, now: Date.now() });
}

describe("proxy through a relay", () => {
  const relays: TestRelay[] = [];
  const nodeRelays: RunningRelay[] = [];
  const standIns: StandIns[] = [];
  afterAll(async () => {
    for (const relay of relays.splice(0)) await relay.close();
    for (const relay of nodeRelays.splice(0)) await relay.close();
    for (const s of standIns.splice(0)) await s.close();
  });

  it("answers unavailable when the next hop drips its answer past the deadline", async () => {
    const drips = await startStandIns(1, { relay: "drip" });
    standIns.push(drips);
    const hop = drips.peers[0]!.url;
    const a = await startRelay({
      host: "127.0.0.1",
      backend: { kind: "memory" },
      config: {
        roundIntervalMs: 60_000,
        federation: { policy: "allowlist", peers: [hop], proxyTimeoutMs: 1000 },
      },
    });
    relays.push(a);
    const descriptorA = await descriptorOf(a.url);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push(
        (await postSealed(a.url, descriptorA, proxyRequest(hop, randomBytes(1024)))).status,
      );
    }
    expect(statuses).toEqual([
      RelayStatus.unavailable,
      RelayStatus.unavailable,
      RelayStatus.unavailable,
    ]);
    expect(a.logs).toEqual([]);
    expect(await a.counter(MetricName.federationProxyFailures, { peer: hop })).toBe(3);
  }, 60_000);

  it("refreshes a peer's descriptor after it answers 422, at most once per 10 s", async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const [urlA, urlB] = [`http://127.0.0.1:${portA}`, `http://127.0.0.3:${portB}`];
    const firstB = memoryPorts();
    const startB = (ports = firstB) =>
      startNodeRelay({
        host: "127.0.0.3",
        port: portB,
        ports,
        config: { roundIntervalMs: 60_000, federation: { policy: "allowlist", peers: [urlA] } },
      });
    let b = await startB();
    nodeRelays.push(b);
    let descriptorFetches = 0;
    const a = await startRelay({
      host: "127.0.0.1",
      port: portA,
      backend: { kind: "memory" },
      config: { roundIntervalMs: 60_000, federation: { policy: "allowlist", peers: [urlB] } },
      wrapHttp: (inner) => (input, init) => {
        const url = new URL(input instanceof Request ? input.url : input.toString());
        if (url.origin === urlB && url.pathname === "/.well-known/shroud") descriptorFetches++;
        return inner(input, init);
      },
    });
    relays.push(a);
    const descriptorA = await descriptorOf(a.url);
    const before = await peerDescriptorVia(a, descriptorA, urlB);

    // B restarts on the embedded store: same signing key, a new HPKE key, the old one gone.
    await b.close();
    nodeRelays.splice(nodeRelays.indexOf(b), 1);
    b = await startB(memoryPorts({ keys: firstB.keys }));
    nodeRelays.push(b);
    const current = await descriptorOf(urlB);
    const hex = (d: Descriptor) =>
      d.keys.map((k) => Buffer.from(k.config.publicKey).toString("hex"));
    expect(hex(current)).not.toContain(hex(before)[0]);

    const fetchesBefore = descriptorFetches;
    const proxyToOldKey = async () => {
      const { sealed } = await sealFor(before, { kind: RequestKind.cover, responseSize: 1024 });
      const answer = await postSealed(a.url, descriptorA, proxyRequest(urlB, sealed));
      return answer.status === RelayStatus.ok && answer.kind === RequestKind.proxy
        ? answer.httpStatus
        : -answer.status;
    };
    expect(await proxyToOldKey()).toBe(422);
    const after = await peerDescriptorVia(a, descriptorA, urlB);
    expect(after.keys.map((k) => k.config.publicKey)).toEqual(
      current.keys.map((k) => k.config.publicKey),
    );
    expect(descriptorFetches - fetchesBefore).toBe(1);
    // Another 422 right away (a client that did not refresh): no second fetch.
    expect(await proxyToOldKey()).toBe(422);
    expect(descriptorFetches - fetchesBefore).toBe(1);
    expect(a.logs).toEqual([]);
  }, 60_000);
});
