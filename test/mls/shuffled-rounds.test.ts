/**
 * The relay shuffles each round before delivering it, so deposits made within one round reach
 * the inbox in random order. ts-mls keeps only 10 skipped generations of a sender's ratchet:
 * a member must not lose messages when one sender's burst (say an outbox flushed after an
 * outage) arrives shuffled, and it reads one sender's messages of an epoch in the order sent.
 */
import { afterEach, expect, it } from "vitest";
import type { GroupSession } from "../../src/client/mls/group-session.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { TransportError } from "../../src/protocol/errors.js";
import { startTestRelay, type TestRelay } from "../../testkit/test-relay.js";
import { buildGroup, texts } from "./support.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

async function setup(names: string[]) {
  // Rounds close only when the test says so.
  relay = await startTestRelay({ roundIntervalMs: 60_000 });
  let offline = false;
  const client = await RelayClient.connect(relay.url, {
    shaping: ShapingProfiles.off,
    fetch: async (input, init) => {
      if (offline && String(input).endsWith("/v1/relay")) throw new TypeError("offline");
      return fetch(input, init);
    },
  });
  const deps = { route: async () => client, pollMs: 5 };
  const closeRound = async () => {
    await relay!.relay.closeRound();
  };
  // Building the group needs its add commit delivered: rounds close on their own until then.
  const building = setInterval(() => void closeRound(), 20);
  const { sessions } = await buildGroup(client, names, deps, "friends", closeRound).finally(() =>
    clearInterval(building),
  );
  return { sessions, closeRound, setOffline: (v: boolean) => void (offline = v) };
}

/** Resolves once the relay's open round holds more than `count` deposits. */
async function pendingAbove(count: number): Promise<void> {
  while (relay!.ports.pool.pending <= count) await new Promise((r) => setTimeout(r, 5));
}

it("a burst of 30 messages from one sender in one round is read whole, in the order sent", async () => {
  const { sessions, closeRound, setOffline } = await setup(["alice", "bob"]);
  const [alice, bob] = sessions as [GroupSession, GroupSession];
  await closeRound();
  expect(await bob.sync()).toEqual([]);
  // Alice writes while offline; her outbox leaves in one go when she is back.
  setOffline(true);
  const sent = Array.from({ length: 30 }, (_, i) => `burst ${i}`);
  for (const text of sent) await expect(alice.send(text)).rejects.toThrow(TransportError);
  expect(alice.outboxSize).toBe(30);
  setOffline(false);
  await alice.sync();
  expect(alice.outboxSize).toBe(0);
  await closeRound();
  const events = await bob.sync();
  expect(events.filter((e) => e.kind === "unreadable")).toEqual([]);
  expect(texts(events)).toEqual(sent);
});

it("messages from several senders and a commit in one round: nothing is lost", async () => {
  const { sessions, closeRound } = await setup(["alice", "bob", "carol", "dave"]);
  const [alice, bob, carol, dave] = sessions as [
    GroupSession,
    GroupSession,
    GroupSession,
    GroupSession,
  ];
  const e = alice.epoch;
  await closeRound();
  for (let i = 0; i < 12; i++) await alice.send(`a${i}`);
  for (let i = 0; i < 12; i++) await carol.send(`c${i}`);
  // Bob's commit joins the same round; it decides the epoch once that round closes.
  const before = relay!.ports.pool.pending;
  const change = bob.change({});
  await pendingAbove(before);
  for (let i = 12; i < 15; i++) await alice.send(`a${i}`); // still epoch e: alice has not synced
  await closeRound();
  expect(await change).toMatchObject({ status: "committed", epoch: e + 1n });
  const events = await dave.sync();
  expect(events.filter((ev) => ev.kind === "unreadable")).toEqual([]);
  expect(events.filter((ev) => ev.kind === "commit")).toHaveLength(1);
  const got = texts(events);
  // Each sender's messages in the order sent; the senders' interleaving is the round's.
  expect(got.filter((t) => t.startsWith("a"))).toEqual(
    Array.from({ length: 15 }, (_, i) => `a${i}`),
  );
  expect(got.filter((t) => t.startsWith("c"))).toEqual(
    Array.from({ length: 12 }, (_, i) => `c${i}`),
  );
  expect(dave.epoch).toBe(e + 1n);
});
