/**
 * A shaping client keeps every request one cell: a message larger than a cell (a long text, a
 * big group's commit or Welcome) goes as fragments, one per write slot, and readers get it back
 * whole at the place of its first fragment.
 */
import { afterEach, describe, expect, it } from "vitest";
import { decodeFragment, giveUpWindow } from "../../src/client/fragment.js";
import { contactCard, createInbox } from "../../src/client/inbox.js";
import type { GroupSession } from "../../src/client/mls/group-session.js";
import { Member } from "../../src/client/mls/member.js";
import { openPayload } from "../../src/client/payload-seal.js";
import { RelayClient, type DepositTarget } from "../../src/client/relay-client.js";
import { ShapingProfiles, type ShapingProfile } from "../../src/client/shaping-profile.js";
import { randomBytes } from "../../src/protocol/bytes.js";
import { MESSAGE_ID_LENGTH } from "../../src/protocol/relay-request.js";
import { startTestRelay, type TestRelay } from "../../testkit/test-relay.js";
import { text, untext } from "../../testkit/text.js";
import { buildGroup, hex, texts } from "../mls/support.js";

// No drop cover here (dropShare 0): these tests count requests; drop cover has its own test.
const FAST: ShapingProfile = { kind: "constant", intervalMs: 20, cellSize: 4096, dropShare: 0 };

let relay: TestRelay | undefined;
const clients: RelayClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await relay?.close();
  relay = undefined;
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

async function shapedClient(sizes?: { request: number; response: number }[]) {
  relay ??= await startTestRelay({ roundIntervalMs: 0 });
  const client = await RelayClient.connect(relay.url, {
    shaping: FAST,
    ...(sizes ? { fetch: sizesOf(sizes) } : {}),
  });
  clients.push(client);
  return client;
}

// Slots run on real timers: a busy machine needs room.
describe("cell splitting", { timeout: 120_000 }, () => {
  it("sends a message larger than a cell as cell-sized fragments that arrive whole", async () => {
    const sizes: { request: number; response: number }[] = [];
    const client = await shapedClient(sizes);
    const inbox = await createInbox(client.origin, client.descriptor.signingKey);
    const card = contactCard(inbox);
    const big = crypto.getRandomValues(new Uint8Array(20_000));
    const parts = await client.sealParts(card, big);
    const capacity = client.partCapacity(48);
    expect(parts.length).toBe(Math.ceil(big.length / (capacity - 24)));
    // Each part opens under the fragment label only: the relay stores items it cannot tell apart.
    const first = await openPayload(inbox, parts[0]!, client.padding, "fragment");
    expect(decodeFragment(first)).toMatchObject({ index: 0, count: parts.length });
    await expect(openPayload(inbox, parts[0]!, client.padding)).rejects.toThrow();

    expect(await client.deposit(card, big)).toEqual({ status: "accepted", duplicate: false });
    expect(await client.deposit(card, text("small"))).toMatchObject({ status: "accepted" });
    const got = await client.fetchAll(inbox);
    if (got.status !== "ok") throw new Error(got.status);
    expect(got.unreadable).toEqual([]);
    expect(got.messages).toHaveLength(2);
    expect(got.messages[0]!.payload).toEqual(big);
    expect(untext(got.messages[1]!.payload)).toBe("small");
    // The big message sits where its first fragment does; lastSeq covers every item.
    expect(got.messages[0]!.seq).toBe(1);
    expect(got.lastSeq).toBe(parts.length + 1);
    client.close();
    // Every request on the wire was one cell, the big message's included.
    expect(sizes.length).toBeGreaterThan(parts.length);
    expect(sizes.every((s) => s.request === 4096 && s.response === 4096)).toBe(true);
  });

  it("retries deliver each fragment once: deposit ids derive from the message id", async () => {
    const client = await shapedClient();
    const inbox = await createInbox(client.origin, client.descriptor.signingKey);
    const card = contactCard(inbox);
    const big = crypto.getRandomValues(new Uint8Array(9_000));
    const messageId = randomBytes(MESSAGE_ID_LENGTH);
    const parts = await client.sealParts(card, big);
    expect(await client.depositParts(card, parts, { messageId })).toEqual({
      status: "accepted",
      duplicate: false,
    });
    expect(await client.depositParts(card, parts, { messageId })).toEqual({
      status: "accepted",
      duplicate: true,
    });
    const got = await client.fetchAll(inbox);
    if (got.status !== "ok") throw new Error(got.status);
    expect(got.messages.map((m) => m.payload)).toEqual([big]);
  });

  it("holds back what follows a message missing fragments, and acknowledges nothing past it", async () => {
    const client = await shapedClient();
    const inbox = await createInbox(client.origin, client.descriptor.signingKey);
    const card = contactCard(inbox);
    await client.deposit(card, text("before"));
    const big = crypto.getRandomValues(new Uint8Array(12_000));
    const parts = await client.sealParts(card, big);
    // The first fragments arrive, then another message, then (later) the rest.
    for (const part of parts.slice(0, 2)) await client.depositPayload(card, part);
    await client.deposit(card, text("after"));

    const partial = await client.fetch(inbox);
    if (partial.status !== "ok") throw new Error(partial.status);
    expect(partial.messages.map((m) => untext(m.payload))).toEqual(["before"]);
    expect(partial.lastSeq).toBe(1);
    expect(await client.ack(inbox, partial.lastSeq)).toEqual({ status: "ok", removed: 1 });

    for (const part of parts.slice(2)) await client.depositPayload(card, part);
    const whole = await client.fetch(inbox, { afterSeq: partial.lastSeq });
    if (whole.status !== "ok") throw new Error(whole.status);
    expect(whole.messages.map((m) => m.payload.length)).toEqual([big.length, 5]);
    expect(whole.messages[0]!.payload).toEqual(big);
    expect(untext(whole.messages[1]!.payload)).toBe("after");
  });

  it("drops a message whose fragments never all arrive, once its window has passed", async () => {
    const client = await RelayClient.connect(
      (relay = await startTestRelay({ roundIntervalMs: 0 })).url,
      { shaping: ShapingProfiles.off },
    );
    clients.push(client);
    const inbox = await createInbox(client.origin, client.descriptor.signingKey);
    const card = contactCard(inbox);
    const shaped = await shapedClient();
    const parts = await shaped.sealParts(card, new Uint8Array(9_000));
    await client.depositPayload(card, parts[0]!);
    const later = Array.from({ length: giveUpWindow(parts.length) }, (_, i) => `later ${i}`);
    for (const message of later.slice(0, -1)) await client.deposit(card, text(message));
    const waiting = await client.fetchAll(inbox);
    expect(waiting).toMatchObject({ status: "ok", messages: [], lastSeq: 0 });
    await client.deposit(card, text(later.at(-1)!));
    const dropped = await client.fetchAll(inbox);
    if (dropped.status !== "ok") throw new Error(dropped.status);
    expect(dropped.unreadable).toEqual([1]);
    expect(dropped.messages.map((m) => untext(m.payload))).toEqual(later);
    expect(dropped.lastSeq).toBe(later.length + 1);
  });

  it("a group too big for one cell: fragmented commits and Welcomes, every request one cell", async () => {
    const sizes: { request: number; response: number }[] = [];
    const client = await shapedClient(sizes);
    const parts: number[] = [];
    const depositParts = client.depositParts.bind(client);
    client.depositParts = (target, payloads, options) => {
      parts.push(payloads.length);
      return depositParts(target, payloads, options);
    };
    const deps = { route: async () => client, pollMs: 5 };
    const names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"];
    const { sessions } = await buildGroup(client, names, deps);
    // The commit (seven key packages) and the seven invitations were each larger than a cell.
    expect(parts.slice(0, 8).every((n) => n > 1)).toBe(true);
    await sessions[3]!.send("a".repeat(6000));
    for (const s of sessions.filter((_, i) => i !== 3)) {
      expect(texts(await s.sync())).toEqual(["a".repeat(6000)]);
    }
    client.close();
    expect(sizes.every((s) => s.request === 4096 && s.response === 4096)).toBe(true);
  });

  it("a race of fragmented commits: one wins at its first fragment, everyone converges", async () => {
    const client = await shapedClient();
    const deps = { route: async () => client, pollMs: 5 };
    const { sessions } = await buildGroup(client, ["alice", "bob", "carol"], deps);
    const [alice, bob, carol] = sessions as [GroupSession, GroupSession, GroupSession];
    // Both commits wait until both are ready, then go out fragment by fragment together.
    const depositParts = client.depositParts.bind(client);
    let held: (() => void)[] = [];
    client.depositParts = async (target: DepositTarget, payloads, options) => {
      if (payloads.length > 1 && held.length < 2) {
        await new Promise<void>((resolve) => {
          held.push(resolve);
          if (held.length === 2) for (const release of held) release();
        });
      }
      return depositParts(target, payloads, options);
    };
    const newcomers = async (prefix: string) =>
      Promise.all(
        [1, 2, 3, 4].map(async (i) =>
          (await Member.create(`${prefix}${i}`, client.origin, undefined, 1)).card(),
        ),
      );
    const start = alice.epoch;
    const outcomes = await Promise.all([
      alice.change({ add: await newcomers("a") }, { retry: false }),
      bob.change({ add: await newcomers("b") }, { retry: false }),
    ]);
    // Both commits were larger than a cell, and went out together.
    expect(held).toHaveLength(2);
    held = [];
    expect(outcomes.map((o) => o.status).sort()).toEqual(["committed", "superseded"]);
    for (const s of sessions) await s.sync();
    expect(sessions.map((s) => s.epoch)).toEqual([start + 1n, start + 1n, start + 1n]);
    expect(new Set(sessions.map((s) => hex(s.treeHash))).size).toBe(1);
    await carol.send("after the race");
    expect(texts(await alice.sync())).toEqual(["after the race"]);
    expect(texts(await bob.sync())).toEqual(["after the race"]);
  });
});
