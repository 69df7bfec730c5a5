/**
 * A peer outage on Redis (each relay on its own redis-server): B stops while A keeps accepting
 * forwards for it over several rounds; B comes back on the same data; every forwarded deposit
 * then arrives at B exactly once. (On the embedded store a restarted B would have lost its
 * inboxes and retired its keys, so this runs on Redis only.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contactCard, createInbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { TransportError } from "../../src/protocol/errors.js";
import { MetricName } from "../../src/relay/ports/metrics.js";
import { freePort } from "../../testkit/free-port.js";
import { startRedis, uniquePrefix, type RedisFixture } from "../../testkit/redis-fixture.js";
import { drainLink, newMasterKey, startRelay, type TestRelay } from "./support.js";
import { sleep, waitFor } from "../../testkit/wait.js";
import { text, untext } from "../../testkit/text.js";
import type { Backend } from "../../testkit/describe-each-backend.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

const DELIVERY = { maxAttempts: 50, baseDelayMs: 100, maxDelayMs: 500 };
/** Real deposits forwarded in each round while B is down (20 overflow a round's 16 slots). */
const DOWN_ROUNDS = [3, 0, 20, 5];

describe("peer outage (two Redis servers)", () => {
  const fixtures: RedisFixture[] = [];
  const relays: TestRelay[] = [];
  beforeAll(async () => {
    fixtures.push(...(await Promise.all([startRedis(), startRedis()])));
  });
  afterAll(async () => {
    for (const relay of relays.splice(0)) await relay.close();
    await Promise.all(fixtures.map((f) => f.stop()));
  });

  it("delivers every deposit forwarded while B was down exactly once after B restarts", async () => {
    const backend = (index: number): Backend => ({
      kind: "redis",
      url: fixtures[index]!.url,
      prefix: uniquePrefix(),
      masterKey: newMasterKey(),
    });
    const [backendA, backendB] = [backend(0), backend(1)];
    const [portA, portB] = [await freePort(), await freePort()];
    const [urlA, urlB] = [`http://127.0.0.1:${portA}`, `http://127.0.0.3:${portB}`];
    const config = (peer: string) => ({
      roundIntervalMs: 60_000,
      federation: { policy: "allowlist" as const, peers: [peer], delivery: DELIVERY },
    });
    const a = await startRelay({
      host: "127.0.0.1",
      port: portA,
      backend: backendA,
      config: config(urlB),
    });
    relays.push(a);
    let b = await startRelay({
      host: "127.0.0.3",
      port: portB,
      backend: backendB,
      config: config(urlA),
    });
    relays.push(b);

    const onB = await RelayClient.connectVia(
      b.url,
      await RelayClient.connect(a.url, { shaping: ShapingProfiles.off }),
    );
    const inbox = await createInbox(b.url, onB.descriptor.signingKey);
    const card = contactCard(inbox);
    const expected: string[] = [];
    const deposit = async (message: string) => {
      expect(await onB.deposit(card, text(message))).toEqual({ status: "forwarded" });
      expected.push(message);
    };

    // The link works before the outage.
    await deposit("before the outage");
    await a.relay.closeRound();
    await drainLink(a, b);
    const signingKey = b.relay.keyRing.stored.signing.publicKey;
    const peerB = { peer: b.url };
    const deliveredBefore = await a.counter(MetricName.federationBatchesDelivered, peerB);

    await b.close();
    for (const [round, count] of DOWN_ROUNDS.entries()) {
      for (let i = 0; i < count; i++) await deposit(`round ${round} message ${i}`);
      await a.relay.closeRound();
      await sleep(150);
    }
    // While B is down: fetching through A fails, nothing is delivered, A keeps retrying.
    await expect(onB.fetch(inbox)).rejects.toThrow(TransportError);
    await waitFor(
      () => a.counter(MetricName.federationDeliveryFailures, peerB),
      (n) => n >= 2 * DOWN_ROUNDS.length,
      10_000,
      "A to retry the undelivered batches",
    );
    expect(await a.counter(MetricName.federationBatchesDelivered, peerB)).toBe(deliveredBefore);
    expect(await a.ports.federation.deadLetters()).toEqual([]);

    b = await startRelay({
      host: "127.0.0.3",
      port: portB,
      backend: backendB,
      config: config(urlA),
    });
    relays.push(b);
    expect(b.relay.keyRing.stored.signing.publicKey).toEqual(signingKey);
    const sent = await drainLink(a, b, 20_000);
    // One batch per round: 4 of the 20 deposits waited for the next round's batch.
    expect(sent).toBe(1 + DOWN_ROUNDS.length);
    expect(await b.counter(MetricName.federationBatchesReceived, { peer: a.url })).toBe(sent);
    expect(await a.ports.federation.deadLetters()).toEqual([]);

    await b.relay.closeRound();
    const fetched = await onB.fetchAll(inbox);
    expect(fetched.status).toBe("ok");
    if (fetched.status !== "ok") return;
    expect(fetched.unreadable).toEqual([]);
    expect(fetched.messages.map((m) => untext(m.payload)).sort()).toEqual([...expected].sort());

    // Nothing more trickles in: another round on both sides adds no item.
    await a.relay.closeRound();
    await drainLink(a, b);
    await b.relay.closeRound();
    const later = await onB.fetchAll(inbox);
    expect(later.status === "ok" && later.messages.length).toBe(expected.length);
    // The operator of A heard of the outage once and of its end once, naming only the peer.
    expect(a.logs).toEqual([
      `shroud: warn: federation peer unreachable; retrying (peer=${b.url})`,
      `shroud: federation peer reachable again (peer=${b.url})`,
    ]);
    expect(b.logs).toEqual([]);
  });
});
