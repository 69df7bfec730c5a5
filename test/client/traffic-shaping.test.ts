/**
 * A shaping client sends on its own schedule: one request per slot, write and read slots in
 * turn, every request and answer one cell, cover (a loop through its own sink inbox) when the app
 * has nothing to send, and never a request outside a slot, whatever the app does.
 */
import { afterEach, describe, expect, it } from "vitest";
import { memoryPorts } from "../../src/adapters/memory/memory-ports.js";
import { contactCard, createInbox, type Inbox } from "../../src/client/inbox.js";
import { DEFAULT_SHAPING, MAX_COVER_CONTACTS, RelayClient } from "../../src/client/relay-client.js";
import { ShapingProfiles, type ShapingProfile } from "../../src/client/shaping-profile.js";
import { MAX_IN_FLIGHT, slotGap } from "../../src/client/traffic-shaper.js";
import { TransportError } from "../../src/protocol/errors.js";
import { RelayStatus } from "../../src/protocol/relay-status.js";
import { MetricName } from "../../src/relay/ports/metrics.js";
import { startNodeRelay, type RunningRelay } from "../../src/node.js";
import { freePort } from "../../testkit/free-port.js";
import { startTestRelay, type TestRelay } from "../../testkit/test-relay.js";
import { text, untext } from "../../testkit/text.js";
import { buildGroup, hex, texts } from "../mls/support.js";

// No drop cover here (dropShare 0): these tests count requests; drop cover has its own test.
const FAST: ShapingProfile = { kind: "constant", intervalMs: 20, cellSize: 4096, dropShare: 0 };

let relay: TestRelay | undefined;
const clients: RelayClient[] = [];
const running: RunningRelay[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await relay?.close();
  relay = undefined;
  for (const r of running.splice(0)) await r.close();
});

/** A fetch that records the size of every /v1/relay request and answer. */
function sizesOf(log: { request: number; response: number }[]): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    if (!String(input).endsWith("/v1/relay")) return response;
    const body = new Uint8Array(await response.arrayBuffer());
    const request = init?.body instanceof Uint8Array ? init.body.length : -1;
    log.push({ request, response: body.length });
    return new Response(body, { status: response.status, headers: response.headers });
  };
}

const until = async (done: () => boolean) => {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 10));
};

/**
 * A fresh relay, a shaping client whose every write slot goes to its contacts' lanes
 * (`dropShare` 1), and a client that does not shape to read the contacts' inboxes.
 */
async function laneClients() {
  relay = await startTestRelay({ roundIntervalMs: 0 });
  const client = await RelayClient.connect(relay.url, {
    shaping: { kind: "constant", intervalMs: 20, cellSize: 4096, dropShare: 1 },
  });
  const reader = await RelayClient.connect(relay.url, { shaping: ShapingProfiles.off });
  clients.push(client, reader);
  return { client, reader };
}

/** Items an inbox holds (none for an inbox nobody deposited into yet). */
async function storedItems(reader: RelayClient, inbox: Inbox): Promise<number> {
  const items = await reader.fetchAllItems(inbox);
  if (items.status === "not_found") return 0;
  if (items.status !== "ok") throw new Error(items.status);
  return items.items.length;
}

// Slots, rounds and loops run on real timers: a busy machine needs room.
describe("traffic shaping", { timeout: 120_000 }, () => {
  it("sends only in its slots, one cell each, real or cover, and the app's messages get through", async () => {
    relay = await startTestRelay({ roundIntervalMs: 0 });
    const sizes: { request: number; response: number }[] = [];
    const client = await RelayClient.connect(relay.url, { shaping: FAST, fetch: sizesOf(sizes) });
    clients.push(client);
    const inbox = await createInbox(client.origin, client.descriptor.signingKey);
    // Idle: cover only, both ways round the loop.
    await until(() => (client.shapingStats?.loopReceived ?? 0) >= 3);
    // Busy: the app deposits and reads at once, all of it queued for slots.
    const sent = Array.from({ length: 8 }, (_, i) => `message ${i}`);
    const answers = await Promise.all(sent.map((m) => client.deposit(contactCard(inbox), text(m))));
    expect(answers.every((a) => a.status === "accepted")).toBe(true);
    const got = await client.fetchAll(inbox);
    if (got.status !== "ok") throw new Error(got.status);
    expect(got.messages.map((m) => untext(m.payload)).sort()).toEqual(sent.sort());
    await until(() => (client.shapingStats?.loopReceived ?? 0) >= 6);
    client.close();

    const stats = client.shapingStats!;
    // Nothing left outside a slot: every request on the wire is a slot's (the last one may still
    // be on its way), and every one is a cell.
    await expect.poll(() => sizes.length, { timeout: 20_000 }).toBe(stats.real + stats.cover);
    // Eight deposits, and two fetch pages: payloads fill the bucket below the cell, so a 4 KiB
    // answer carries four of them.
    expect(stats.real).toBe(8 + 2);
    expect(sizes.every((s) => s.request === 4096 && s.response === 4096)).toBe(true);
    expect(stats.coverFailures).toBe(0);
    // The loop came back: what was sent into the sink was read out of it.
    expect(stats.loopReceived).toBeGreaterThanOrEqual(6);
    expect(stats.loopReceived).toBeLessThanOrEqual(stats.loopSent);
    // Write and read slots alternate: the relay saw as many writes as reads, give or take one.
    // Whatever the outcome (a first read of the sink may come before it exists: not_found).
    const count = (kind: string) =>
      Object.keys(RelayStatus).reduce(
        (sum, status) => sum + relay!.ports.metrics.counter(MetricName.requests, { kind, status }),
        0,
      );
    const writes = count("deposit");
    const reads = count("fetch") + count("ack");
    expect(writes + reads).toBe(sizes.length);
    expect(Math.abs(writes - reads)).toBeLessThanOrEqual(1);
  });

  it("through an ingress: the ingress sees forwards and proxied reads in turn, all one cell", async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const [urlA, urlB] = [`http://127.0.0.1:${portA}`, `http://127.0.0.1:${portB}`];
    const fast = { maxAttempts: 5, baseDelayMs: 50, maxDelayMs: 200 };
    const start = async (port: number, peer: string) => {
      const ports = memoryPorts();
      const r = await startNodeRelay({
        port,
        ports,
        // Every client here is on 127.0.0.1: the per-address caps are not what is tested.
        limits: { maxConnectionsPerAddress: 0, requestsPerSecond: 0 },
        config: {
          roundIntervalMs: 50,
          federation: { policy: "allowlist", peers: [peer], delivery: fast },
        },
      });
      running.push(r);
      return ports;
    };
    const a = await start(portA, urlB);
    await start(portB, urlA);
    const sizes: { request: number; response: number }[] = [];
    const viaA = await RelayClient.connect(urlA, {
      shaping: ShapingProfiles.off,
      fetch: sizesOf(sizes),
    });
    // Slots slower than A's rounds, which hold every hop request to the round's end; two rounds
    // a slot leaves a busy machine room for each slot's sealing and proxying.
    const onB = await RelayClient.connectVia(urlB, viaA, {
      shaping: { kind: "constant", intervalMs: 100, cellSize: 4096 },
    });
    clients.push(viaA, onB);
    const inbox = await createInbox(urlB, onB.descriptor.signingKey);
    expect(await onB.deposit(contactCard(inbox), text("hello through A"))).toEqual({
      status: "forwarded",
    });
    await until(() => (onB.shapingStats?.loopReceived ?? 0) >= 3);
    onB.close();
    // Every request A saw from this client was a slot's, one 4 KiB cell each way.
    const stats = onB.shapingStats!;
    const descriptorFetch = 1; // connectVia asked A for B's descriptor before the slots began
    await expect
      .poll(() => sizes.length - descriptorFetch, { timeout: 20_000 })
      .toBe(stats.real + stats.cover - onB.shapingStats!.coverFailures);
    expect(
      sizes.slice(descriptorFetch).every((s) => s.request === 4096 && s.response === 4096),
    ).toBe(true);
    const seen = (kind: string) =>
      Object.keys(RelayStatus).reduce(
        (sum, status) => sum + a.metrics.counter(MetricName.requests, { kind, status }),
        0,
      );
    const forwards = seen("forward");
    const proxied = seen("proxy");
    expect(forwards + proxied).toBe(stats.real + stats.cover);
    expect(Math.abs(forwards - proxied)).toBeLessThanOrEqual(1);
  });

  it("group members read their epoch inboxes on the client's schedule, not only when they sync", async () => {
    relay = await startTestRelay({ roundIntervalMs: 0 });
    const client = await RelayClient.connect(relay.url, { shaping: FAST });
    clients.push(client);
    const deps = { route: async () => client, pollMs: 5 };
    const { sessions } = await buildGroup(client, ["alice", "bob"], deps);
    const [alice, bob] = sessions as [(typeof sessions)[0], (typeof sessions)[0]];
    await alice.send("shaped hello");
    expect(texts(await bob.sync())).toEqual(["shaped hello"]);
    // From now on nobody syncs; the relay still sees the epoch inbox read, slot after slot.
    const fetched: string[] = [];
    const fetch = relay.ports.inboxes.fetch.bind(relay.ports.inboxes);
    relay.ports.inboxes.fetch = (inboxId, afterSeq, maxItems) => {
      fetched.push(hex(inboxId));
      return fetch(inboxId, afterSeq, maxItems);
    };
    const epochInbox = hex(bob.currentInboxId);
    await until(() => fetched.filter((id) => id === epochInbox).length >= 3);
    // The loop keeps going beside the watched inboxes: its deposits come back.
    const back = client.shapingStats!.loopReceived;
    await until(() => client.shapingStats!.loopReceived >= back + 3);
    expect(client.shapingStats!.coverFailures).toBe(0);
  });

  it("drop cover: a contact's inbox gets the same deposits idle or busy, and its reader skips the drops", async () => {
    // Every write slot is the contact's lane: each one deposits into its inbox, real or drop.
    const { client, reader } = await laneClients();
    const inbox = await createInbox(client.origin, client.descriptor.signingKey);
    const card = contactCard(inbox);
    client.coverContact(card);
    const stored = () => storedItems(reader, inbox);
    // Idle: the user writes nothing, and the inbox fills with drops its reader does not show.
    await until(() => (client.shapingStats?.cover ?? 0) >= 20);
    const idle = await reader.fetchAll(inbox);
    expect(idle).toMatchObject({ status: "ok", messages: [], unreadable: [] });
    if (idle.status !== "ok") throw new Error(idle.status);
    expect(idle.lastSeq).toBeGreaterThanOrEqual(5);
    // Busy: real messages take the lane's slots (in the order they were sealed).
    const sent = ["one", "two", "three", "four", "five"];
    const answers = await Promise.all(sent.map((m) => client.deposit(card, text(m))));
    expect(answers.every((a) => a.status === "accepted")).toBe(true);
    client.close();
    const busy = await reader.fetchAll(inbox, idle.lastSeq);
    if (busy.status !== "ok") throw new Error(busy.status);
    expect(busy.messages.map((m) => untext(m.payload)).sort()).toEqual([...sent].sort());
    expect(busy.unreadable).toEqual([]);
    // Every deposit the relay took, drops and messages alike, went into the contact's inbox,
    // but for loop deposits from slots that came before the lane did: once there is a lane, no
    // write slot goes elsewhere, so the deposits it sees follow the slots, not the user.
    const deposits = Object.keys(RelayStatus).reduce(
      (sum, status) =>
        sum + relay!.ports.metrics.counter(MetricName.requests, { kind: "deposit", status }),
      0,
    );
    const loop = client.shapingStats!.loopSent;
    await expect.poll(async () => (await stored()) + loop, { timeout: 20_000 }).toBe(deposits);
  });

  it("keeps lanes for the MAX_COVER_CONTACTS most recent contacts, and ends a lane on request", async () => {
    const { client, reader } = await laneClients();
    const inboxes = await Promise.all(
      Array.from({ length: MAX_COVER_CONTACTS + 1 }, () =>
        createInbox(client.origin, client.descriptor.signingKey),
      ),
    );
    const counts = () => Promise.all(inboxes.map((inbox) => storedItems(reader, inbox)));
    // Nine contacts in a row: the first is pushed out before any slot could serve it.
    const stops = inboxes.map((inbox) => client.coverContact(contactCard(inbox)));
    await until(() => (client.shapingStats?.cover ?? 0) >= 120);
    const first = await counts();
    expect(first[0]).toBe(0);
    expect(first.slice(1).every((n) => n > 0)).toBe(true);
    // Ending a lane: no more drops into that inbox (one may have been under way).
    stops[8]!();
    const ended = (await counts())[8]!;
    const cover = client.shapingStats!.cover;
    await until(() => client.shapingStats!.cover >= cover + 60);
    const later = await counts();
    expect(later[8]).toBeLessThanOrEqual(ended + 1);
    expect(later[1]).toBeGreaterThan(first[1]!);
    // A client that does not shape keeps no lanes.
    expect(reader.coverContact(contactCard(inboxes[0]!))).toBeTypeOf("function");
    expect((await counts())[0]).toBe(0);
  });

  it("a deposit opens a lane for its conversation, which ends after autoLaneDrops idle drops", async () => {
    relay = await startTestRelay({ roundIntervalMs: 0 });
    const profile = { kind: "constant", intervalMs: 20, cellSize: 4096, dropShare: 1 } as const;
    const client = await RelayClient.connect(relay.url, {
      shaping: { ...profile, autoLaneDrops: 5 },
    });
    const withoutLanes = await RelayClient.connect(relay.url, {
      shaping: { ...profile, autoLaneDrops: 0 },
    });
    const reader = await RelayClient.connect(relay.url, { shaping: ShapingProfiles.off });
    clients.push(client, withoutLanes, reader);
    const inbox = await createInbox(client.origin, client.descriptor.signingKey);
    const other = await createInbox(client.origin, client.descriptor.signingKey);
    const card = contactCard(inbox);
    const slotsLater = async (n: number) => {
      const cover = client.shapingStats!.cover;
      await until(() => client.shapingStats!.cover >= cover + n);
    };
    // No lane before the first message: nothing goes into the contact's inbox.
    await slotsLater(10);
    expect(await storedItems(reader, inbox)).toBe(0);
    // The message, then five drops in the lane's slots, then the lane ends: six items, and no
    // more however long the client goes on.
    expect((await client.deposit(card, text("hello"))).status).toBe("accepted");
    await expect.poll(() => storedItems(reader, inbox), { timeout: 20_000 }).toBe(6);
    await slotsLater(40);
    expect(await storedItems(reader, inbox)).toBe(6);
    // The next message opens it again.
    expect((await client.deposit(card, text("again"))).status).toBe("accepted");
    await expect.poll(() => storedItems(reader, inbox), { timeout: 20_000 }).toBe(12);
    const read = await reader.fetchAll(inbox);
    if (read.status !== "ok") throw new Error(read.status);
    expect(read.messages.map((m) => untext(m.payload))).toEqual(["hello", "again"]);
    expect(read.unreadable).toEqual([]);
    // With autoLaneDrops 0 a deposit opens no lane: the message alone.
    expect((await withoutLanes.deposit(contactCard(other), text("solo"))).status).toBe("accepted");
    const cover = withoutLanes.shapingStats!.cover;
    await until(() => withoutLanes.shapingStats!.cover >= cover + 40);
    expect(await storedItems(reader, other)).toBe(1);
  });

  it("shapes by default: a client made without a profile sends on ShapingProfiles.constant", async () => {
    relay = await startTestRelay({ roundIntervalMs: 0 });
    const client = await RelayClient.connect(relay.url);
    clients.push(client);
    expect(DEFAULT_SHAPING).toEqual(ShapingProfiles.constant);
    expect(client.shapingStats).toBeDefined();
    const unshaped = await RelayClient.connect(relay.url, { shaping: ShapingProfiles.off });
    expect(unshaped.shapingStats).toBeUndefined();
  });

  it("fails requests still waiting when closed, and sends nothing after", async () => {
    relay = await startTestRelay({ roundIntervalMs: 0 });
    const sizes: { request: number; response: number }[] = [];
    const client = await RelayClient.connect(relay.url, {
      shaping: { kind: "constant", intervalMs: 60_000, cellSize: 4096 },
      fetch: sizesOf(sizes),
    });
    const inbox = await createInbox(client.origin);
    const waiting = client.deposit(contactCard(inbox), text("never"));
    client.close();
    await expect(waiting).rejects.toThrow(TransportError);
    await expect(client.deposit(contactCard(inbox), text("after"))).rejects.toThrow(TransportError);
    expect(sizes).toEqual([]);
  });

  it("holds at most MAX_IN_FLIGHT unanswered requests when the relay stops answering", async () => {
    relay = await startTestRelay({ roundIntervalMs: 0 });
    let hang = false;
    let sentWhileHanging = 0;
    const client = await RelayClient.connect(relay.url, {
      shaping: { kind: "constant", intervalMs: 5, cellSize: 4096 },
      fetch: (input, init) => {
        if (!hang) return fetch(input, init);
        sentWhileHanging++;
        return new Promise<Response>(() => undefined);
      },
    });
    clients.push(client);
    hang = true;
    await until(() => client.shapingStats!.skipped >= 10);
    expect(sentWhileHanging).toBeLessThanOrEqual(MAX_IN_FLIGHT);
  });

  it("draws Poisson gaps: exponential around the mean, not a fixed beat", () => {
    const profile: ShapingProfile = { kind: "poisson", meanIntervalMs: 100, cellSize: 4096 };
    const gaps = Array.from({ length: 20_000 }, () => slotGap(profile));
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    expect(mean).toBeGreaterThan(95);
    expect(mean).toBeLessThan(105);
    // An exponential distribution has P(gap > mean) = 1/e.
    const above = gaps.filter((g) => g > 100).length / gaps.length;
    expect(above).toBeGreaterThan(0.34);
    expect(above).toBeLessThan(0.4);
    expect(gaps.every((g) => g > 0)).toBe(true);
  });
});
