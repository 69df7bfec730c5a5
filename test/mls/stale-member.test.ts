/**
 * A member that does not sync while the group moves on three epochs (three commits, messages in
 * every epoch, one of them sent late into an epoch that had already ended) catches up with one
 * sync: every commit applied, every message read once, in order within its epoch.
 */
import { afterEach, expect, it } from "vitest";
import type { GroupEvent, GroupSession } from "../../src/client/mls/group-session.js";
import { Member } from "../../src/client/mls/member.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { startTestRelay, type TestRelay } from "../../testkit/test-relay.js";
import { buildGroup, hex, texts } from "./support.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

/** Events without their byte payloads, for readable comparisons. */
function summary(events: GroupEvent[]) {
  return events.map((e) => {
    switch (e.kind) {
      case "message":
        return `${e.epoch}: ${e.sender}: ${e.text}`;
      case "commit":
        return `commit -> ${e.epoch} by ${e.committer} +[${e.added}] -[${e.removed}]`;
      default:
        return e.kind;
    }
  });
}

it("a member three epochs behind catches up in one sync, every message in order per epoch", async () => {
  relay = await startTestRelay({ roundIntervalMs: 0 });
  const client = await RelayClient.connect(relay.url, { shaping: ShapingProfiles.off });
  const deps = { route: async () => client, pollMs: 5 };
  const { sessions } = await buildGroup(client, ["alice", "bob", "carol", "dave"], deps);
  const [alice, bob, carol, dave] = sessions as [
    GroupSession,
    GroupSession,
    GroupSession,
    GroupSession,
  ];
  const active = [alice, bob, carol];
  const e = dave.epoch;
  const syncActive = async () => {
    for (const s of active) await s.sync();
  };
  const frank = await Member.create("frank", client.origin, undefined, 1);

  // Epoch e: three messages, bob's key update, then a message alice sends late into epoch e.
  await alice.send("e1");
  await bob.send("e2");
  await carol.send("e3");
  await bob.change({});
  await alice.send("e late");
  await syncActive();
  // Epoch e+1: two messages, carol adds frank.
  await carol.send("f1");
  await alice.send("f2");
  await carol.change({ add: [frank.card()] });
  await syncActive();
  // Epoch e+2: a message, alice removes bob.
  await bob.send("g1");
  await alice.change({ remove: ["bob"] });
  active.splice(active.indexOf(bob), 1);
  await syncActive();
  // Epoch e+3: two messages.
  await alice.send("h1");
  await carol.send("h2");
  expect(alice.epoch).toBe(e + 3n);
  expect(dave.epoch).toBe(e);

  const events = await dave.sync();
  expect(summary(events)).toEqual([
    `${e}: alice: e1`,
    `${e}: bob: e2`,
    `${e}: carol: e3`,
    `commit -> ${e + 1n} by bob +[] -[]`,
    // Deposited after bob's commit, still an epoch-e message: read with the retained keys.
    `${e}: alice: e late`,
    `${e + 1n}: carol: f1`,
    `${e + 1n}: alice: f2`,
    `commit -> ${e + 2n} by carol +[frank] -[]`,
    `${e + 2n}: bob: g1`,
    `commit -> ${e + 3n} by alice +[] -[bob]`,
    `${e + 3n}: alice: h1`,
    `${e + 3n}: carol: h2`,
  ]);
  expect(dave.epoch).toBe(alice.epoch);
  expect(hex(dave.treeHash)).toBe(hex(alice.treeHash));
  expect(hex(dave.currentInboxId)).toBe(hex(alice.currentInboxId));
  expect(dave.members.sort()).toEqual(["alice", "carol", "dave", "frank"]);
  // Nothing is read twice.
  expect(await dave.sync()).toEqual([]);
  // And dave takes part again.
  await dave.send("back");
  expect(texts(await alice.sync())).toEqual(["h2", "back"]);
  expect(texts(await carol.sync())).toEqual(["h1", "back"]);
});
