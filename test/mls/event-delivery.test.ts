/**
 * Every event reaches the application once, in order, even when it was read outside sync():
 * change() reads the group before committing (and, after losing a race, until the winning
 * commit is visible), and a sync can fail part-way after reading (and saving) some items.
 */
import { afterEach, expect, it } from "vitest";
import type { GroupDeps, GroupSession } from "../../src/client/mls/group-session.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { TransportError } from "../../src/protocol/errors.js";
import { startTestRelay, type TestRelay } from "../../testkit/test-relay.js";
import { buildGroup, recordCommitDeposits, savedForm, texts } from "./support.js";
import { GroupSession as Session } from "../../src/client/mls/group-session.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

async function setup(names: string[], maxItems = 10_000) {
  relay = await startTestRelay({
    roundIntervalMs: 0,
    quota: { maxItems, maxBytes: 64 * 1024 * 1024 },
  });
  let failAfter = -1;
  const client = await RelayClient.connect(relay.url, {
    shaping: ShapingProfiles.off,
    fetch: async (input, init) => {
      if (String(input).endsWith("/v1/relay") && failAfter >= 0 && failAfter-- === 0) {
        throw new TypeError("network down");
      }
      return fetch(input, init);
    },
  });
  const recorder = recordCommitDeposits(client);
  const saved = new Map<string, string>();
  const deps = (name: string): GroupDeps => ({
    route: async () => client,
    pollMs: 5,
    save: async (json) => void saved.set(name, json),
  });
  const { sessions } = await buildGroup(client, names, deps);
  /** Fails the request after the next `n` relay requests. */
  const failRequestAfter = (n: number) => void (failAfter = n);
  return { sessions, recorder, saved, deps, failRequestAfter };
}

it("messages read by change() before its commit are reported by the next sync", async () => {
  const { sessions } = await setup(["alice", "bob"]);
  const [alice, bob] = sessions as [GroupSession, GroupSession];
  const e = alice.epoch;
  await bob.send("sent before alice's update");
  expect(await alice.change({})).toMatchObject({ status: "committed", epoch: e + 1n });
  expect(await alice.sync()).toMatchObject([
    { kind: "message", epoch: e, sender: "bob", text: "sent before alice's update" },
  ]);
  expect(await alice.sync()).toEqual([]);
});

it("a race loser reports the winning commit and the messages it read while waiting", async () => {
  const { sessions, recorder } = await setup(["alice", "bob", "carol"]);
  const [alice, bob, carol] = sessions as [GroupSession, GroupSession, GroupSession];
  const e = alice.epoch;
  await carol.send("before the race");
  recorder.setGate(2);
  const outcomes = await Promise.all([
    alice.change({}, { retry: false }),
    bob.change({}, { retry: false }),
  ]);
  expect(outcomes.map((o) => o.status).sort()).toEqual(["committed", "superseded"]);
  const [winner, loser] = outcomes[0]!.status === "committed" ? [alice, bob] : [bob, alice];
  expect(texts(await winner.sync())).toEqual(["before the race"]);
  expect(await loser.sync()).toMatchObject([
    { kind: "message", epoch: e, sender: "carol", text: "before the race" },
    { kind: "commit", epoch: e + 1n, committer: winner.self },
  ]);
  expect(await loser.sync()).toEqual([]);
});

it("what change() read survives a restart before the next sync", async () => {
  const { sessions, saved, deps } = await setup(["alice", "bob"]);
  const [alice, bob] = sessions as [GroupSession, GroupSession];
  await bob.send("read inside change");
  await alice.change({});
  expect(savedForm(alice)).toHaveProperty("events");
  const restarted = await Session.fromJson(saved.get("alice")!, deps("alice"));
  expect(texts(await restarted.sync())).toEqual(["read inside change"]);
  expect(savedForm(restarted)).not.toHaveProperty("events");
  expect(await restarted.sync()).toEqual([]);
});

it("a sync that fails part-way reports what it had read at the next sync", async () => {
  const { sessions, saved, deps, failRequestAfter } = await setup(["alice", "bob"]);
  const [alice, bob] = sessions as [GroupSession, GroupSession];
  const e = alice.epoch;
  await alice.send("m1");
  await alice.change({});
  await alice.send("m2");
  // Bob's first fetch (epoch e's inbox: m1, the commit) works; the next (epoch e+1's) fails.
  failRequestAfter(1);
  await expect(bob.sync()).rejects.toThrow(TransportError);
  expect(bob.epoch).toBe(e + 1n);
  // What was read is saved with the session, so it survives a restart too.
  const restarted = await Session.fromJson(saved.get("bob")!, deps("bob"));
  for (const session of [bob, restarted]) {
    expect(await session.sync()).toMatchObject([
      { kind: "message", epoch: e, text: "m1" },
      { kind: "commit", epoch: e + 1n, committer: "alice" },
      { kind: "message", epoch: e + 1n, text: "m2" },
    ]);
    expect(await session.sync()).toEqual([]);
  }
});

it("a send the relay refuses for good is reported by the next sync", async () => {
  // At most two items per inbox: the third message in an epoch is refused (quota).
  const { sessions } = await setup(["alice", "bob"], 2);
  const [alice, bob] = sessions as [GroupSession, GroupSession];
  await alice.send("one");
  await alice.send("two");
  await alice.send("three");
  expect(alice.outboxSize).toBe(0);
  expect(await alice.sync()).toEqual([
    { kind: "unreadable", reason: "a deposit was refused (quota)" },
  ]);
  expect(texts(await bob.sync())).toEqual(["one", "two"]);
});
