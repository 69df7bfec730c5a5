/**
 * A member crashes right after saving a pending commit, before the relay's answer. The session
 * restored from that save resolves the commit on its next sync: it reads the epoch's inbox
 * first, adopts its commit if that comes first (sent before the crash or now), or applies the
 * commit that came first instead, without ever sending its own.
 */
import { afterEach, expect, it } from "vitest";
import { GroupSession, type GroupDeps } from "../../src/client/mls/group-session.js";
import { acceptInvitations } from "../../src/client/mls/accept-invitations.js";
import { Member } from "../../src/client/mls/member.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { startTestRelay, type TestRelay } from "../../testkit/test-relay.js";
import { buildGroup, hex, recordCommitDeposits, savedForm, texts } from "./support.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

class Crash extends Error {}

/**
 * Alice's saves are kept; `crashAfterPendingSave` makes the save that first holds a pending
 * commit "crash" the process (the save itself completed). With `loseAnswer`, the save succeeds
 * and the next request (the commit deposit) reaches the relay but its answer is lost.
 */
async function setup(options: { loseAnswer?: boolean } = {}) {
  relay = await startTestRelay({ roundIntervalMs: 0 });
  let dropNextAnswer = false;
  const aliceClient = await RelayClient.connect(relay.url, {
    shaping: ShapingProfiles.off,
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      if (dropNextAnswer && String(input).endsWith("/v1/relay")) {
        dropNextAnswer = false;
        throw new TypeError("connection reset");
      }
      return response;
    },
  });
  const client = await RelayClient.connect(relay.url, { shaping: ShapingProfiles.off });
  const recorder = recordCommitDeposits(client);
  const aliceRecorder = recordCommitDeposits(aliceClient);
  let crashArmed = false;
  let lastSave = "";
  const deps = (name: string): GroupDeps => ({
    route: async () => (name === "alice" ? aliceClient : client),
    pollMs: 5,
    save: async (json: string) => {
      if (name !== "alice") return;
      lastSave = json;
      if (crashArmed && "pending" in (JSON.parse(json) as object)) {
        crashArmed = false;
        if (options.loseAnswer) dropNextAnswer = true;
        else throw new Crash("crashed right after saving");
      }
    },
  });
  const { sessions } = await buildGroup(client, ["alice", "bob", "carol"], deps);
  recorder.log.length = 0;
  aliceRecorder.log.length = 0;
  return {
    sessions: sessions as [GroupSession, GroupSession, GroupSession],
    deps,
    recorder,
    aliceRecorder,
    armCrash: () => void (crashArmed = true),
    lastSave: () => lastSave,
  };
}

async function expectConverged(sessions: GroupSession[], epoch: bigint) {
  for (const s of sessions) await s.sync();
  expect(sessions.map((s) => s.epoch)).toEqual(sessions.map(() => epoch));
  expect(new Set(sessions.map((s) => hex(s.treeHash))).size).toBe(1);
  for (const s of sessions) {
    await s.send(`hi from ${s.self}`);
    for (const o of sessions)
      if (o !== s) expect(texts(await o.sync())).toEqual([`hi from ${s.self}`]);
  }
}

it("crash before the commit left: the restored session sends it and adopts it", async () => {
  const { sessions, deps, aliceRecorder, armCrash, lastSave } = await setup();
  const [alice, bob, carol] = sessions;
  const e = alice.epoch;
  armCrash();
  await expect(alice.change({ remove: ["carol"] })).rejects.toThrow(Crash);
  expect(aliceRecorder.log).toEqual([]); // nothing reached the relay
  expect(savedForm(alice)).toHaveProperty("pending");

  const restored = await GroupSession.fromJson(lastSave(), deps("alice"));
  expect(restored.epoch).toBe(e);
  expect(await restored.sync()).toEqual([]);
  expect(aliceRecorder.log.map((c) => c.status)).toEqual(["accepted"]);
  expect(restored.epoch).toBe(e + 1n);
  expect(restored.members).toEqual(["alice", "bob"]);
  expect(savedForm(restored)).not.toHaveProperty("pending");
  expect(await bob.sync()).toMatchObject([
    { kind: "commit", epoch: e + 1n, committer: "alice", removed: ["carol"] },
  ]);
  expect(await carol.sync()).toMatchObject([{ kind: "removed" }]);
  await expectConverged([restored, bob], e + 1n);
});

it("crash after the relay took the commit: the retry is the same deposit, adopted once", async () => {
  const { sessions, deps, aliceRecorder, armCrash, lastSave } = await setup({ loseAnswer: true });
  const [alice, bob, carol] = sessions;
  const e = alice.epoch;
  armCrash();
  await expect(alice.change({})).rejects.toThrow("cannot reach relay");
  // The relay has the commit: the others move on while Alice is down.
  expect(await bob.sync()).toMatchObject([{ kind: "commit", epoch: e + 1n, committer: "alice" }]);
  await bob.send("while alice was down");
  const restored = await GroupSession.fromJson(lastSave(), deps("alice"));
  expect(restored.epoch).toBe(e);
  const events = await restored.sync();
  // Alice does not process her own commit as someone else's; she reads Bob's message.
  expect(events).toMatchObject([{ kind: "message", epoch: e + 1n, text: "while alice was down" }]);
  expect(restored.epoch).toBe(e + 1n);
  // She found her commit first in the inbox: no need to send it again (the lost try is unlogged).
  expect(aliceRecorder.log).toEqual([]);
  await expectConverged([restored, bob, carol], e + 1n);
});

it("crash before the commit left, and another commit won meanwhile: the restored session applies it", async () => {
  const { sessions, deps, recorder, aliceRecorder, armCrash, lastSave } = await setup();
  const [alice, bob, carol] = sessions;
  const e = alice.epoch;
  armCrash();
  await expect(alice.change({ remove: ["carol"] })).rejects.toThrow(Crash);
  expect(await bob.change({})).toMatchObject({ status: "committed", epoch: e + 1n });
  const restored = await GroupSession.fromJson(lastSave(), deps("alice"));
  const events = await restored.sync();
  expect(events).toMatchObject([{ kind: "commit", epoch: e + 1n, committer: "bob" }]);
  // Bob's commit had decided the epoch: Alice's never left.
  expect(aliceRecorder.log).toEqual([]);
  expect(recorder.log.map((c) => c.status)).toEqual(["accepted"]);
  expect(savedForm(restored)).not.toHaveProperty("pending");
  // Alice's change was not made; she can make it again in the new epoch.
  expect(restored.members).toContain("carol");
  expect(await restored.change({ remove: ["carol"] })).toMatchObject({
    status: "committed",
    epoch: e + 2n,
  });
  expect(await carol.sync()).toMatchObject([{ kind: "commit" }, { kind: "removed" }]);
  await expectConverged([restored, bob], e + 2n);
});

it("crash with a pending add: the restored session sends the commit, then the one invitation", async () => {
  const { sessions, deps, armCrash, lastSave } = await setup();
  const [alice, bob] = sessions;
  const client = await RelayClient.connect(relay!.url, { shaping: ShapingProfiles.off });
  const dave = await Member.create("dave", client.origin, undefined, 1);
  armCrash();
  await expect(alice.change({ add: [dave.card()] })).rejects.toThrow(Crash);
  // Nothing left: no commit, no invitation.
  const before = await client.fetchAll(dave.inbox);
  expect(before.status === "ok" ? before.messages.length : before.status).toBe("not_found");
  const restored = await GroupSession.fromJson(lastSave(), deps("alice"));
  expect(await restored.sync()).toEqual([]);
  expect(restored.members).toContain("dave");
  const { joined, problems } = await acceptInvitations(dave, client, deps("dave"));
  expect(problems).toEqual([]);
  expect(joined).toHaveLength(1);
  expect(await bob.sync()).toMatchObject([{ kind: "commit", added: ["dave"] }]);
  await expectConverged([restored, bob, joined[0]!], restored.epoch);
});
