/**
 * A member who wants to keep the group in its epoch (and so never be removed) floods the epoch
 * inbox before anyone commits: random junk, items that open but hold no MLS message, a commit
 * of its own whose ciphertext it broke, and deposits with a write token of its own making. In
 * protocol v1 the first commit-flagged junk took the epoch's one-shot commit slot and the group
 * could never move on; a made-up token took an inbox for good. Here every member skips what is
 * not a valid commit, and the first valid commit in the inbox's order removes the attacker.
 */
import { createCommit, decodeMlsMessage, encodeMlsMessage } from "ts-mls";
import { afterEach, expect, it } from "vitest";
import {
  encodeGroupMessage,
  GROUP_SEAL_OVERHEAD,
  sealGroupPayload,
} from "../../src/client/mls/group-payload.js";
import type { GroupSession } from "../../src/client/mls/group-session.js";
import { mlsClientConfig, mlsSuite } from "../../src/client/mls/mls-suite.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { randomBytes, utf8 } from "../../src/protocol/bytes.js";
import { SecretBytes } from "../../src/protocol/secret-bytes.js";
import { startTestRelay, type TestRelay } from "../../testkit/test-relay.js";
import { buildGroup, hex, mlsState, savedReadings, texts } from "./support.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

it("junk, a broken commit and squatting deposits first: the group still removes the attacker", async () => {
  relay = await startTestRelay({ roundIntervalMs: 0, quota: { maxItems: 50, maxBytes: 1 << 24 } });
  const client = await RelayClient.connect(relay.url, { shaping: ShapingProfiles.off });
  const deps = { route: async () => client, pollMs: 5, commitWaitMs: 10_000 };
  const { sessions } = await buildGroup(client, ["alice", "bob", "mallory"], deps);
  const [alice, bob, mallory] = sessions as [GroupSession, GroupSession, GroupSession];
  const e = alice.epoch;
  const [current] = (await savedReadings(mallory)).filter((r) => r.epoch === e);
  if (!current) throw new Error("no epoch inbox");
  const epochInbox = { readId: current.readId, writeToken: new SecretBytes(current.writeToken) };
  const seal = (message: Uint8Array) =>
    sealGroupPayload(
      current.payloadKey,
      current.inboxId,
      client.padPayload(
        encodeGroupMessage({ messageId: randomBytes(16), mlsMessage: message }),
        GROUP_SEAL_OVERHEAD,
      ),
    );

  // 1. Random bytes, and items that open under the epoch key but are no MLS message.
  for (let i = 0; i < 5; i++) {
    expect((await client.depositPayload(epochInbox, randomBytes(900))).status).toBe("accepted");
    expect((await client.depositPayload(epochInbox, await seal(utf8("junk")))).status).toBe(
      "accepted",
    );
  }
  // 2. A real commit of Mallory's (adding nobody, removing Alice) with its ciphertext broken:
  //    it reads as a commit of this epoch, and no member can process it.
  const malloryState = { ...mlsState(mallory), clientConfig: mlsClientConfig };
  const { commit } = await createCommit(
    { state: malloryState, cipherSuite: await mlsSuite() },
    { extraProposals: [{ proposalType: "remove", remove: { removed: 0 } }] },
  );
  const broken = encodeMlsMessage(commit);
  broken[broken.length - 1]! ^= 0xff;
  const decoded = decodeMlsMessage(broken, 0)?.[0];
  expect(decoded?.wireformat === "mls_private_message" && decoded.privateMessage.contentType).toBe(
    "commit",
  );
  expect((await client.depositPayload(epochInbox, await seal(broken))).status).toBe("accepted");
  // 3. Squatting: the epoch inbox's read id with a write token of Mallory's own.
  const squat = { readId: current.readId, writeToken: SecretBytes.random(32) };
  for (let i = 0; i < 3; i++) {
    expect((await client.depositPayload(squat, await seal(utf8("squat")))).status).toBe("accepted");
  }

  // Alice removes Mallory: her commit comes after all of that in the inbox's order.
  expect(await alice.change({ remove: ["mallory"] })).toMatchObject({
    status: "committed",
    epoch: e + 1n,
    attempts: 1,
  });
  const bobEvents = await bob.sync();
  expect(bobEvents.filter((ev) => ev.kind === "commit")).toMatchObject([
    { committer: "alice", removed: ["mallory"] },
  ]);
  // Bob was told about each piece of junk, and applied nothing of it.
  expect(bobEvents.filter((ev) => ev.kind === "unreadable")).toHaveLength(11);
  expect(bob.epoch).toBe(e + 1n);
  expect(hex(bob.treeHash)).toBe(hex(alice.treeHash));
  expect(await mallory.sync()).toContainEqual(expect.objectContaining({ kind: "removed" }));
  expect(mallory.removed).toBe(true);

  // The group goes on without her.
  await bob.send("she is gone");
  expect(texts(await alice.sync())).toEqual(["she is gone"]);
  expect(alice.members).toEqual(["alice", "bob"]);
});

it("a member flooding the epoch inbox is held to its quota like everyone else", async () => {
  relay = await startTestRelay({ roundIntervalMs: 0, quota: { maxItems: 8, maxBytes: 1 << 24 } });
  const client = await RelayClient.connect(relay.url, { shaping: ShapingProfiles.off });
  const deps = { route: async () => client, pollMs: 5 };
  const { sessions } = await buildGroup(client, ["alice", "mallory"], deps);
  const [, mallory] = sessions as [GroupSession, GroupSession];
  const [current] = await savedReadings(mallory);
  const epochInbox = { readId: current!.readId, writeToken: new SecretBytes(current!.writeToken) };
  const answers: string[] = [];
  for (let i = 0; i < 12; i++) {
    answers.push((await client.depositPayload(epochInbox, randomBytes(900))).status);
  }
  // The add commit and its welcome did not use this inbox: 8 items fit, the rest are refused.
  expect(answers.filter((a) => a === "accepted")).toHaveLength(8);
  expect(answers.filter((a) => a === "quota")).toHaveLength(4);
});
