/**
 * A poisoned batch: B does not allow A yet, so every delivery of A's batch is refused (403).
 * After `maxAttempts` the batch waits in A's dead-letter queue; once B allows A it is replayed
 * and delivered exactly once, and A's shroud_federation_* counters for B move as they should.
 * On Redis B is restarted with the new policy (same data) and A is restarted too (its dead
 * letters are durable); on the embedded store B's policy is changed in place.
 */
import { afterAll, expect, it } from "vitest";
import { contactCard, createInbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { MetricName } from "../../src/relay/ports/metrics.js";
import { freePort } from "../../testkit/free-port.js";
import { drainLink, startRelay, type TestRelay } from "./support.js";
import { text, untext } from "../../testkit/text.js";
import { waitFor } from "../../testkit/wait.js";
import { describeEachBackend } from "../../testkit/describe-each-backend.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

const DELIVERY = { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 100 };

describeEachBackend("dead letters", ({ a: backendA, b: backendB, durable }) => {
  const relays: TestRelay[] = [];
  afterAll(async () => {
    for (const relay of relays.splice(0)) await relay.close();
  });

  it("dead-letters a refused batch, then replays it once B allows A", async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const [urlA, urlB] = [`http://127.0.0.1:${portA}`, `http://127.0.0.3:${portB}`];
    const configA = {
      roundIntervalMs: 60_000,
      federation: { policy: "allowlist" as const, peers: [urlB], delivery: DELIVERY },
    };
    const configB = (peers: string[]) => ({
      roundIntervalMs: 60_000,
      federation: { policy: "allowlist" as const, peers, delivery: DELIVERY },
    });
    const aBackend = backendA();
    const bBackend = backendB();
    let a = await startRelay({
      host: "127.0.0.1",
      port: portA,
      backend: aBackend,
      config: configA,
    });
    relays.push(a);
    /** What every instance of A sent to B, in order. */
    const instancesA = [a];
    const wire = () => instancesA.flatMap((instance) => instance.batches);
    let b = await startRelay({
      host: "127.0.0.3",
      port: portB,
      backend: bBackend,
      config: configB([]),
    });
    relays.push(b);

    const viaA = await RelayClient.connect(a.url, { shaping: ShapingProfiles.off });
    const onB = await RelayClient.connectVia(b.url, viaA);
    const inbox = await createInbox(b.url, onB.descriptor.signingKey);
    expect(await onB.deposit(contactCard(inbox), text("poisoned, then replayed"))).toEqual({
      status: "forwarded",
    });
    await a.relay.closeRound();

    const peerB = { peer: b.url };
    const dead = await waitFor(
      () => a.ports.federation.deadLetters(),
      (letters) => letters.length === 1,
      10_000,
      "the batch to be dead-lettered",
    );
    expect(dead[0]).toMatchObject({ peer: b.url, attempts: DELIVERY.maxAttempts });
    expect(a.batches.map((w) => w.status)).toEqual([403, 403, 403]);
    expect(await a.counter(MetricName.federationBatchesSent, peerB)).toBe(1);
    expect(await a.counter(MetricName.federationDeliveryFailures, peerB)).toBe(3);
    expect(await a.counter(MetricName.federationBatchesDelivered, peerB)).toBe(0);
    await a.relay.maintain();
    await a.relay.maintain();
    expect(await a.counter(MetricName.federationDeadLettered, peerB)).toBe(1);
    expect(await b.counter(MetricName.federationBatchesReceived, { peer: a.url })).toBe(0);

    if (durable) {
      // B comes back allowing A, on the same data (keys, inboxes); A restarts on its own.
      await b.close();
      b = await startRelay({
        host: "127.0.0.3",
        port: portB,
        backend: bBackend,
        config: configB([urlA]),
      });
      relays.push(b);
      await a.close();
      a = await startRelay({
        host: "127.0.0.1",
        port: portA,
        backend: aBackend,
        config: configA,
      });
      relays.push(a);
      instancesA.push(a);
      expect((await a.ports.federation.deadLetters()).map((d) => d.id)).toEqual([dead[0]!.id]);
      await a.relay.maintain();
    } else {
      // The embedded store loses everything on restart: change B's allowlist in place.
      b.relay.config.federation.peers.push(a.url);
    }

    const beforeReplay = wire().length;
    expect(await a.ports.federation.replay(dead[0]!.id)).toBe(true);
    expect(await a.ports.federation.replay(dead[0]!.id)).toBe(false);
    // Every batch A built for B (the replayed one, and on Redis the cover batch A's stop sent)
    // is acknowledged; `drainLink` waits for delivered == sent.
    const sent = await drainLink(a, b);
    expect(await a.ports.federation.deadLetters()).toEqual([]);
    expect(await a.counter(MetricName.federationBatchesDelivered, peerB)).toBe(sent);
    expect(await b.counter(MetricName.federationBatchesReceived, { peer: a.url })).toBe(sent);
    expect(wire().slice(beforeReplay).at(-1)).toMatchObject({ status: 200, answer: "accepted" });

    await b.relay.closeRound();
    const fetched = await onB.fetchAll(inbox);
    expect(fetched.status === "ok" && fetched.messages.map((m) => untext(m.payload))).toEqual([
      "poisoned, then replayed",
    ]);
    // The replayed batch is gone, and later rounds deliver nothing again.
    await a.relay.closeRound();
    const total = await drainLink(a, b);
    expect(total).toBe(sent + 1);
    await b.relay.closeRound();
    const again = await onB.fetchAll(inbox);
    expect(again.status === "ok" && again.messages.length).toBe(1);

    // One failure per refused attempt: the dead batch's three 403s, and on Redis possibly a
    // 503 from the new B while A was shutting down (B could not fetch A's descriptor then).
    const refused = wire().filter((w) => w.status !== 200);
    expect(refused.slice(0, 3).map((w) => w.status)).toEqual([403, 403, 403]);
    expect(refused.slice(3).every((w) => w.status === 503)).toBe(true);
    expect(await a.counter(MetricName.federationDeliveryFailures, peerB)).toBe(refused.length);
    expect(await a.counter(MetricName.federationBatchesDelivered, peerB)).toBe(total);
    expect(await b.counter(MetricName.federationBatchesReceived, { peer: a.url })).toBe(total);
    await a.relay.maintain();
    // One batch was dead-lettered once; restarts and maintenance runs must not recount it.
    expect.soft(await a.counter(MetricName.federationDeadLettered, peerB)).toBe(1);
    // Said to A's operator, naming only the peer: the refusals, the dead letter, and that B
    // took batches again (A's logs start again with the restarted A).
    const warnings = [
      `shroud: warn: federation peer unreachable; retrying (peer=${b.url})`,
      `shroud: warn: a federation batch ran out of attempts: moved to the dead-letter queue (peer=${b.url})`,
      `shroud: federation peer reachable again (peer=${b.url})`,
    ];
    expect(
      a.logs.every((line) => warnings.includes(line)),
      a.logs.join("\n"),
    ).toBe(true);
    expect(b.logs).toEqual([]);
  });
});
