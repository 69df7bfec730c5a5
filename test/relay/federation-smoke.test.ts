import { afterEach, describe, expect, it } from "vitest";
import { memoryPorts } from "../../src/adapters/memory/memory-ports.js";
import { contactCard, createInbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { startNodeRelay, type RunningRelay } from "../../src/node.js";
import { freePort } from "../../testkit/free-port.js";
import { text, untext } from "../../testkit/text.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

const running: RunningRelay[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.close();
});

/** Relays A and B federating with each other, rounds closed by hand. */
async function startPair(): Promise<{
  a: RunningRelay;
  b: RunningRelay;
  urlA: string;
  urlB: string;
}> {
  const [portA, portB] = [await freePort(), await freePort()];
  const [urlA, urlB] = [`http://127.0.0.1:${portA}`, `http://127.0.0.1:${portB}`];
  const fast = { maxAttempts: 5, baseDelayMs: 50, maxDelayMs: 200 };
  const a = await startNodeRelay({
    port: portA,
    ports: memoryPorts(),
    config: {
      roundIntervalMs: 60_000,
      // Rounds are closed by hand: answer the ingress's clients at once, not per round.
      federation: {
        policy: "allowlist",
        peers: [urlB],
        delivery: fast,
        ingressRelease: "immediate",
      },
    },
  });
  running.push(a);
  const b = await startNodeRelay({
    port: portB,
    ports: memoryPorts(),
    config: {
      roundIntervalMs: 60_000,
      federation: { policy: "allowlist", peers: [urlA], delivery: fast },
    },
  });
  running.push(b);
  return { a, b, urlA, urlB };
}

describe("federation smoke", () => {
  it("deposits into B through A and fetches from B through A", async () => {
    const { a, b, urlA, urlB } = await startPair();
    const viaA = await RelayClient.connect(urlA, { shaping: ShapingProfiles.off });
    const onB = await RelayClient.connectVia(urlB, viaA);
    const inbox = await createInbox(urlB, onB.descriptor.signingKey);
    expect(await onB.deposit(contactCard(inbox), text("hello through A"))).toEqual({
      status: "forwarded",
    });
    await a.relay.closeRound();
    await expect
      .poll(
        async () => {
          await b.relay.closeRound();
          const r = await onB.fetchAll(inbox);
          return r.status === "ok" ? r.messages.map((m) => untext(m.payload)) : r.status;
        },
        { timeout: 5000 },
      )
      .toEqual(["hello through A"]);
    // Later rounds' batches from the same sender are new batches, not duplicates of the first.
    for (const round of [2, 3]) {
      expect((await onB.deposit(contactCard(inbox), text(`round ${round}`))).status).toBe(
        "forwarded",
      );
      await a.relay.closeRound();
    }
    await expect
      .poll(
        async () => {
          await b.relay.closeRound();
          const r = await onB.fetchAll(inbox);
          return r.status === "ok" ? r.messages.map((m) => untext(m.payload)).sort() : r.status;
        },
        { timeout: 5000 },
      )
      .toEqual(["hello through A", "round 2", "round 3"]);
    // Too big for a 4 KiB batch slot: proxied instead of forwarded, and answered by B.
    const big = "x".repeat(10_000);
    expect(await onB.deposit(contactCard(inbox), text(big))).toEqual({
      status: "accepted",
      duplicate: false,
    });
    await b.relay.closeRound();
    const r = await onB.fetchAll(inbox);
    expect(r.status === "ok" && r.messages.some((m) => untext(m.payload) === big)).toBe(true);
  });

  it("reads through A a 600 KB message deposited straight into B by a client that does not shape", async () => {
    const { b, urlA, urlB } = await startPair();
    const direct = await RelayClient.connect(urlB, { shaping: ShapingProfiles.off });
    const inbox = await createInbox(urlB, direct.descriptor.signingKey);
    const large = "y".repeat(600_000);
    expect(await direct.deposit(contactCard(inbox), text(large))).toMatchObject({
      status: "accepted",
    });
    await b.relay.closeRound();
    // The reader's answers come wrapped in A's: its deposits were cut to fit them.
    const viaA = await RelayClient.connect(urlA, { shaping: ShapingProfiles.off });
    const onB = await RelayClient.connectVia(urlB, viaA);
    const page = await onB.fetchAll(inbox);
    expect(page.status === "ok" && page.messages.map((m) => untext(m.payload))).toEqual([large]);
  });
});
