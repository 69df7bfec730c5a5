/**
 * An application may call send, sync and change on one session without waiting for the previous
 * call (a timer syncs while the user types). Each call reads and replaces the MLS state across
 * awaits, so the session must run them one at a time: otherwise two sends take the same ratchet
 * generation and the receivers can read only one of them.
 */
import { afterEach, expect, it } from "vitest";
import type { GroupSession } from "../../src/client/mls/group-session.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { startTestRelay, type TestRelay } from "../../testkit/test-relay.js";
import { buildGroup, hex, texts } from "./support.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

it("sends, syncs and a change started together on one session all take effect", async () => {
  relay = await startTestRelay({ roundIntervalMs: 0 });
  const client = await RelayClient.connect(relay.url, { shaping: ShapingProfiles.off });
  const deps = { route: async () => client, pollMs: 5 };
  const { sessions } = await buildGroup(client, ["alice", "bob"], deps);
  const [alice, bob] = sessions as [GroupSession, GroupSession];
  for (let i = 0; i < 5; i++) await alice.send(`a${i}`);

  const [synced, , , , outcome, synced2] = await Promise.all([
    bob.sync(),
    bob.send("b0"),
    bob.send("b1"),
    bob.send("b2"),
    bob.change({}),
    bob.sync(),
    bob.send("b3"),
  ]);
  // Calls run in the order made: the first sync reads alice's messages, the change commits.
  expect(texts(synced)).toEqual(["a0", "a1", "a2", "a3", "a4"]);
  expect(synced2).toEqual([]);
  expect(outcome).toMatchObject({ status: "committed", attempts: 1 });

  const events = await alice.sync();
  expect(events.filter((e) => e.kind === "unreadable")).toEqual([]);
  expect(texts(events)).toEqual(["b0", "b1", "b2", "b3"]);
  expect(alice.epoch).toBe(bob.epoch);
  expect(hex(alice.treeHash)).toBe(hex(bob.treeHash));
});

it("a failing call does not block the calls queued after it", async () => {
  relay = await startTestRelay({ roundIntervalMs: 0 });
  const client = await RelayClient.connect(relay.url, { shaping: ShapingProfiles.off });
  const deps = { route: async () => client, pollMs: 5 };
  const { sessions } = await buildGroup(client, ["alice", "bob"], deps);
  const [alice, bob] = sessions as [GroupSession, GroupSession];
  const results = await Promise.allSettled([
    alice.change({ remove: ["alice"] }), // refused: a member cannot remove itself
    alice.send("after the refusal"),
  ]);
  expect(results.map((r) => r.status)).toEqual(["rejected", "fulfilled"]);
  expect(texts(await bob.sync())).toEqual(["after the refusal"]);
});
