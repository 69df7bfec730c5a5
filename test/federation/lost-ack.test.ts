/**
 * A lost acknowledgement: B accepts A's batch but A never hears the 200 (the connection drops
 * after the answer), so A sends the same batch again; B answers "duplicate" and nothing is
 * delivered twice. On the embedded store and on two Redis servers.
 */
import { afterAll, expect, it } from "vitest";
import { contactCard, createInbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { MetricName } from "../../src/relay/ports/metrics.js";
import { freePort } from "../../testkit/free-port.js";
import { drainLink, startRelay, type TestRelay } from "./support.js";
import { text, untext } from "../../testkit/text.js";
import { describeEachBackend } from "../../testkit/describe-each-backend.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

const FAST = { maxAttempts: 10, baseDelayMs: 50, maxDelayMs: 100 };

/** Outbound HTTP that drops the answer of the first federation batch B acknowledged. */
function loseFirstAck(inner: typeof fetch): typeof fetch {
  let lost = false;
  return async (input, init) => {
    const response = await inner(input, init);
    const url = new URL(input instanceof Request ? input.url : input.toString());
    if (!lost && url.pathname === "/v1/federation" && response.status === 200) {
      lost = true;
      throw new TypeError("fetch failed (connection reset after the answer)");
    }
    return response;
  };
}

describeEachBackend("lost acknowledgement", ({ a: backendA, b: backendB }) => {
  const relays: TestRelay[] = [];
  afterAll(async () => {
    for (const relay of relays.splice(0)) await relay.close();
  });

  it("resends the batch, which B drops as a duplicate: every deposit arrives once", async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const [urlA, urlB] = [`http://127.0.0.1:${portA}`, `http://127.0.0.3:${portB}`];
    const config = (peer: string) => ({
      roundIntervalMs: 60_000,
      federation: { policy: "allowlist" as const, peers: [peer], delivery: FAST },
    });
    const a = await startRelay({
      host: "127.0.0.1",
      port: portA,
      backend: backendA(),
      config: config(urlB),
      wrapHttp: loseFirstAck,
    });
    relays.push(a);
    const b = await startRelay({
      host: "127.0.0.3",
      port: portB,
      backend: backendB(),
      config: config(urlA),
    });
    relays.push(b);
    const onB = await RelayClient.connectVia(
      b.url,
      await RelayClient.connect(a.url, { shaping: ShapingProfiles.off }),
    );
    const inbox = await createInbox(b.url, onB.descriptor.signingKey);
    const sent = ["one", "two", "three"];
    for (const message of sent) await onB.deposit(contactCard(inbox), text(message));
    await a.relay.closeRound();
    expect(await drainLink(a, b)).toBe(1);
    expect(a.batches.map((w) => `${w.status} ${w.answer}`)).toEqual([
      "200 accepted",
      "200 duplicate",
    ]);
    expect(a.batches[0]!.body).toEqual(a.batches[1]!.body);
    const peerB = { peer: b.url };
    expect(await a.counter(MetricName.federationDeliveryFailures, peerB)).toBe(1);
    expect(await a.counter(MetricName.federationBatchesDelivered, peerB)).toBe(1);
    expect(await b.counter(MetricName.federationBatchesReceived, { peer: a.url })).toBe(1);
    await b.relay.closeRound();
    const fetched = await onB.fetchAll(inbox);
    expect(
      fetched.status === "ok" && fetched.messages.map((m) => untext(m.payload)).sort(),
    ).toEqual([...sent].sort());
    // A lost answer is a failed delivery to A: it says so once, and that B is back.
    expect(a.logs).toEqual([
      `shroud: warn: federation peer unreachable; retrying (peer=${b.url})`,
      `shroud: federation peer reachable again (peer=${b.url})`,
    ]);
    expect(b.logs).toEqual([]);
  });
});
