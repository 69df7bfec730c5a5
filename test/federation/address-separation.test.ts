/**
 * Two-hop split over real HTTP: a client of relay A (connecting from 127.0.0.2) deposits into an
 * inbox on relay B (127.0.0.3) through A (127.0.0.1) and fetches and acks it through A. B must
 * never see the client's address, A must never hold the inbox id (nor the inbox's capabilities),
 * and neither relay logs anything. Run on the embedded store (both relays in this process, the
 * demo's configuration) and on two Redis servers.
 */
import { afterAll, expect, it } from "vitest";
import { contactCard, createInbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { freePort } from "../../testkit/free-port.js";
import { containsAny, drainLink, encodings, startRelay, type TestRelay } from "./support.js";
import { boundFetch } from "../../testkit/bound-fetch.js";
import { text, untext } from "../../testkit/text.js";
import { describeEachBackend } from "../../testkit/describe-each-backend.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

const CLIENT_ADDRESS = "127.0.0.2";
const HOST_A = "127.0.0.1";
const HOST_B = "127.0.0.3";
const FAST = { maxAttempts: 20, baseDelayMs: 50, maxDelayMs: 200 };

describeEachBackend("address separation", ({ a: backendA, b: backendB }) => {
  const relays: TestRelay[] = [];
  afterAll(async () => {
    for (const relay of relays.splice(0)) await relay.close();
  });

  it("B never sees the client, A never holds the inbox, nobody logs", async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const [urlA, urlB] = [`http://${HOST_A}:${portA}`, `http://${HOST_B}:${portB}`];
    const config = (peer: string) => ({
      roundIntervalMs: 60_000,
      federation: { policy: "allowlist" as const, peers: [peer], delivery: FAST },
    });
    const a = await startRelay({
      host: HOST_A,
      port: portA,
      backend: backendA(),
      config: config(urlB),
    });
    relays.push(a);
    const b = await startRelay({
      host: HOST_B,
      port: portB,
      backend: backendB(),
      config: config(urlA),
    });
    relays.push(b);

    const clientFetch = boundFetch(CLIENT_ADDRESS);
    const viaA = await RelayClient.connect(a.url, {
      shaping: ShapingProfiles.off,
      fetch: clientFetch,
    });
    // Should the SDK ever contact B directly, it would do so from the client's address.
    const onB = await RelayClient.connectVia(b.url, viaA, { fetch: clientFetch });
    const inbox = await createInbox(b.url, onB.descriptor.signingKey);
    const card = contactCard(inbox);
    const sent = ["first through A", "second through A", "third through A"];
    for (const message of sent) {
      expect(await onB.deposit(card, text(message))).toEqual({ status: "forwarded" });
    }

    // A now holds the three envelopes for B; then they leave in this round's batch.
    const aHolding = (await a.state()).blob;
    await a.relay.closeRound();
    await drainLink(a, b);
    await b.relay.closeRound();
    const fetched = await onB.fetchAll(inbox);
    expect(fetched.status).toBe("ok");
    if (fetched.status !== "ok") return;
    expect(fetched.messages.map((m) => untext(m.payload)).sort()).toEqual([...sent].sort());
    expect(fetched.unreadable).toEqual([]);
    expect(await onB.ack(inbox, fetched.lastSeq)).toEqual({ status: "ok", removed: 3 });
    const after = await onB.fetchAll(inbox);
    expect(after.status === "ok" && after.messages).toEqual([]);

    // The client really came from its own address; B only ever saw A.
    expect(a.connections).toContain(CLIENT_ADDRESS);
    expect(b.connections.length).toBeGreaterThan(0);
    expect(b.connections).not.toContain(CLIENT_ADDRESS);
    expect(new Set(b.connections)).toEqual(new Set([HOST_A]));

    // A: nothing it stored, or handed to a port, names the inbox or its capabilities.
    const secrets = [
      ...encodings(inbox.inboxId),
      ...encodings(inbox.readSecret.expose()),
      ...encodings(inbox.writeToken.expose()),
    ];
    expect(containsAny(a.written(), secrets)).toBe(false);
    const aState = Buffer.concat([aHolding, (await a.state()).blob]);
    expect(containsAny(aState, secrets)).toBe(false);
    // The relay really stored B's inbox (so the search above would have found it at A).
    const bState = (await b.state()).blob;
    expect(containsAny(Buffer.concat([bState, b.written()]), encodings(inbox.inboxId))).toBe(true);

    // B: no client address anywhere it stored or was handed.
    const address = [Buffer.from(CLIENT_ADDRESS), Buffer.from(`::ffff:${CLIENT_ADDRESS}`)];
    expect(containsAny(bState, address)).toBe(false);
    expect(containsAny(b.written(), address)).toBe(false);
    expect(containsAny(aState, address)).toBe(false);
    expect(containsAny(a.written(), address)).toBe(false);

    expect(a.logs).toEqual([]);
    expect(b.logs).toEqual([]);
  });
});
