/**
 * A message from the next epoch that arrives before the commit starting that epoch waits in the
 * member's buffer (across a restart) and is read once the commit is applied.
 *
 * Through GroupSession alone this cannot happen: a member sends into the inbox of its own epoch,
 * and the next epoch's inbox is only known once its commit is applied, so the commit is always
 * read first. The test builds the situation at the relay instead: a copy of Alice's session
 * commits and sends its first next-epoch message on a second, shadow relay (where it sees its
 * commit come first and moves on) while both deposits are captured; the message is re-sealed
 * into the current epoch's inbox on the group's relay ahead of the commit (as a client or relay
 * that reorders would place it), and Bob syncs before and after the commit is deposited there.
 */
import { afterEach, expect, it } from "vitest";
import {
  encodeGroupMessage,
  GROUP_SEAL_OVERHEAD,
  openGroupPayload,
  sealGroupPayload,
} from "../../src/client/mls/group-payload.js";
import { GroupSession } from "../../src/client/mls/group-session.js";
import { RelayClient, type DepositOptions } from "../../src/client/relay-client.js";
import { SecretBytes } from "../../src/protocol/secret-bytes.js";
import { startTestRelay, type TestRelay } from "../../testkit/test-relay.js";
import { buildGroup, isCommitDeposit, savedForm, savedReadings } from "./support.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

let relay: TestRelay | undefined;
let shadow: TestRelay | undefined;
afterEach(async () => {
  await relay?.close();
  await shadow?.close();
  relay = shadow = undefined;
});

it("a next-epoch message read before its commit is buffered, kept, and read after the commit", async () => {
  relay = await startTestRelay({ roundIntervalMs: 0 });
  const client = await RelayClient.connect(relay.url, { shaping: ShapingProfiles.off });
  let bobSaved = "";
  const deps = (name: string) => ({
    route: async () => client,
    pollMs: 5,
    ...(name === "bob" ? { save: async (json: string) => void (bobSaved = json) } : {}),
  });
  const { sessions } = await buildGroup(client, ["alice", "bob"], deps);
  const [alice, bob] = sessions as [GroupSession, GroupSession];
  const e = alice.epoch;
  const [inboxE] = (await savedReadings(alice)).filter((r) => r.epoch === e);
  if (!inboxE) throw new Error("no epoch inbox");

  // A copy of Alice's session, on the shadow relay, records its next two deposits.
  shadow = await startTestRelay({ roundIntervalMs: 0 });
  const captured: { payload: Uint8Array; options: DepositOptions; commit: boolean }[] = [];
  const capturing = await RelayClient.connect(shadow.url, { shaping: ShapingProfiles.off });
  const deposit = capturing.depositPayload.bind(capturing);
  capturing.depositPayload = async (target, payload, options = {}) => {
    captured.push({ payload, options, commit: await isCommitDeposit(capturing, target, payload) });
    return deposit(target, payload, options);
  };
  const aliceAhead = await GroupSession.fromJson(alice.toJson(), {
    route: async () => capturing,
    pollMs: 5,
  });
  expect(await aliceAhead.change({})).toMatchObject({ status: "committed", epoch: e + 1n });
  await aliceAhead.send("from the next epoch");
  expect(captured.map((c) => c.commit)).toEqual([true, false]);
  const [commit, message] = captured as [(typeof captured)[0], (typeof captured)[0]];

  // The message, opened with Alice's next-epoch key, re-sealed into epoch e's inbox.
  const [inboxNext] = (await savedReadings(aliceAhead)).filter((r) => r.epoch === e + 1n);
  const opened = await openGroupPayload(
    inboxNext!.payloadKey,
    inboxNext!.inboxId,
    message.payload,
    client.padding,
  );
  const resealed = await sealGroupPayload(
    inboxE.payloadKey,
    inboxE.inboxId,
    client.padPayload(encodeGroupMessage(opened), GROUP_SEAL_OVERHEAD),
  );
  const target = { readId: inboxE.readId, writeToken: new SecretBytes(inboxE.writeToken) };
  expect(await client.depositPayload(target, resealed)).toMatchObject({ status: "accepted" });

  // Bob reads it before the commit: nothing to report yet, the message waits (and is saved).
  expect(await bob.sync()).toEqual([]);
  expect(bob.epoch).toBe(e);
  expect(savedForm(bob)["buffered"]).toHaveLength(1);
  // Bob restarts with the message still waiting.
  const bobAgain = await GroupSession.fromJson(bobSaved, deps("bob"));
  expect(savedForm(bobAgain)["buffered"]).toHaveLength(1);
  expect(await bobAgain.sync()).toEqual([]);

  // The commit arrives: Bob applies it, then reads the buffered message, once.
  expect(
    await client.depositPayload(target, commit.payload, { messageId: commit.options.messageId! }),
  ).toMatchObject({ status: "accepted" });
  const events = await bobAgain.sync();
  expect(events).toMatchObject([
    { kind: "commit", epoch: e + 1n, committer: "alice" },
    { kind: "message", epoch: e + 1n, sender: "alice", text: "from the next epoch" },
  ]);
  expect(bobAgain.epoch).toBe(e + 1n);
  expect(savedForm(bobAgain)["buffered"]).toEqual([]);
  expect(await bobAgain.sync()).toEqual([]);

  // Alice (the session that made the commit) carries on with Bob in the new epoch.
  const aliceNow = await GroupSession.fromJson(aliceAhead.toJson(), deps("alice"));
  expect(await aliceNow.sync()).toEqual([]);
  await bobAgain.send("got it");
  expect(await aliceNow.sync()).toMatchObject([{ kind: "message", text: "got it" }]);
});
