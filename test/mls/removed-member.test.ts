/**
 * Forward secrecy at the Shroud layer: once Carol is removed she cannot derive the group's
 * later epoch inboxes, the later deposits do not open under any key she holds, and her own
 * session reports her removal and none of the later messages.
 */
import { decodeMlsMessage, makePskIndex, processPrivateMessage } from "ts-mls";
import { afterEach, expect, it } from "vitest";
import { epochInbox } from "../../src/client/mls/epoch-inbox.js";
import { GroupSession } from "../../src/client/mls/group-session.js";
import { openGroupPayload } from "../../src/client/mls/group-payload.js";
import { mlsClientConfig, mlsSuite } from "../../src/client/mls/mls-suite.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { CryptoError } from "../../src/protocol/errors.js";
import { SecretBytes } from "../../src/protocol/secret-bytes.js";
import { expectExactly, rejection } from "../../testkit/protocol-checks.js";
import { startTestRelay, type TestRelay } from "../../testkit/test-relay.js";
import { buildGroup, hex, mlsState, savedReadings, texts, type SavedReading } from "./support.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

it("a removed member cannot derive the next inboxes or open what is deposited there", async () => {
  relay = await startTestRelay({ roundIntervalMs: 0 });
  const client = await RelayClient.connect(relay.url, { shaping: ShapingProfiles.off });
  const deps = { route: async () => client, pollMs: 5 };
  const { sessions } = await buildGroup(client, ["alice", "bob", "carol", "dave"], deps);
  const [alice, bob, carol, dave] = sessions as [
    (typeof sessions)[0],
    (typeof sessions)[0],
    (typeof sessions)[0],
    (typeof sessions)[0],
  ];
  // A first message, which Carol reads: the keys she holds do work while she is a member.
  await bob.send("before the removal");
  expect(texts(await carol.sync())).toEqual(["before the removal"]);
  const removedAt = alice.epoch;

  expect(await alice.change({ remove: ["carol"] })).toMatchObject({ status: "committed" });
  await alice.send("after 1");
  await bob.sync();
  await bob.send("after 2");
  expect(await dave.change({})).toMatchObject({ status: "committed" });
  await alice.sync();
  await alice.send("after 3");
  for (const s of [alice, bob, dave]) await s.sync();
  expect(alice.epoch).toBe(removedAt + 2n);

  // Carol syncs: she learns of her removal and reads nothing sent afterwards.
  const events = await carol.sync();
  expect(events).toEqual([{ kind: "removed", epoch: removedAt + 1n, committer: "alice" }]);
  expect(carol.removed).toBe(true);
  expect(await carol.sync()).toEqual([]);
  await expect(carol.send("still here?")).rejects.toThrow("removed");

  // Every inbox Carol can name: those her session reads, and the one her last MLS state
  // derives (the exporter of her last epoch).
  const carolState = { ...mlsState(carol), clientConfig: mlsClientConfig };
  expect(carolState.groupContext.epoch).toBe(removedAt);
  const derived = await epochInbox(carolState, client.origin);
  const carolKeys: { inboxId: Uint8Array; payloadKey: Uint8Array }[] = [
    ...(await savedReadings(carol)),
    { inboxId: derived.inboxId, payloadKey: derived.payloadKey.expose() },
  ];
  const carolInboxes = new Set(carolKeys.map((k) => hex(k.inboxId)));

  // The group's inboxes after her removal, from a member's saved state.
  const later: SavedReading[] = (await savedReadings(alice)).filter((r) => r.epoch > removedAt);
  expect(later.map((r) => r.epoch).sort()).toEqual([removedAt + 1n, removedAt + 2n]);
  expect(hex(later.find((r) => r.epoch === alice.epoch)!.inboxId)).toBe(hex(alice.currentInboxId));
  for (const r of later) expect(carolInboxes.has(hex(r.inboxId))).toBe(false);
  // Control: the inbox of her last epoch is one she names, and the group's too.
  const last = (await savedReadings(alice)).find((r) => r.epoch === removedAt)!;
  expect(carolInboxes.has(hex(last.inboxId))).toBe(true);
  expect(hex(derived.inboxId)).toBe(hex(last.inboxId));

  // The later deposits, as the relay holds them, open under the group's key and under no key
  // Carol has, whichever inbox id she tries as associated data.
  const suite = await mlsSuite();
  let deposits = 0;
  for (const r of later) {
    const page = await client.fetchAllItems({
      readSecret: new SecretBytes(r.readSecret),
      writeTokenHash: r.writeTokenHash,
    });
    if (page.status !== "ok") throw new Error(page.status);
    for (const item of page.items) {
      deposits++;
      const opened = await openGroupPayload(r.payloadKey, r.inboxId, item.payload, client.padding);
      for (const key of carolKeys) {
        for (const inboxId of [r.inboxId, key.inboxId]) {
          expectExactly(
            await rejection(
              openGroupPayload(key.payloadKey, inboxId, item.payload, client.padding),
            ),
            CryptoError,
          );
        }
      }
      // Even handed the MLS message, Carol's last state cannot process it.
      const decoded = decodeMlsMessage(opened.mlsMessage, 0)!;
      expect(decoded[0].wireformat).toBe("mls_private_message");
      if (decoded[0].wireformat !== "mls_private_message") continue;
      await expect(
        processPrivateMessage(
          carolState,
          decoded[0].privateMessage,
          makePskIndex(carolState, {}),
          suite,
        ),
      ).rejects.toThrow();
    }
  }
  // after 1, after 2, dave's commit (epoch +1); after 3 (epoch +2)
  expect(deposits).toBe(4);
});

it("a removed member's copy of its old state cannot post into the old epoch's inbox", async () => {
  relay = await startTestRelay({ roundIntervalMs: 0 });
  const client = await RelayClient.connect(relay.url, { shaping: ShapingProfiles.off });
  const deps = { route: async () => client, pollMs: 5 };
  const { sessions } = await buildGroup(client, ["alice", "bob", "carol"], deps);
  const [alice, bob, carol] = sessions as [
    (typeof sessions)[0],
    (typeof sessions)[0],
    (typeof sessions)[0],
  ];
  await carol.send("while a member");
  expect(texts(await alice.sync())).toEqual(["while a member"]);
  // Carol keeps a copy of her state, then is removed.
  const kept = carol.toJson();
  expect(await alice.change({ remove: ["carol"] })).toMatchObject({ status: "committed" });
  await bob.sync();
  // With the copy she still holds her last epoch's write token and MLS keys.
  const ghost = await GroupSession.fromJson(kept, deps);
  await ghost.send("sneaking in after my removal");
  await bob.send("hello alice");
  const aliceEvents = await alice.sync();
  const bobEvents = await bob.sync();
  // Read from the old epoch's inbox with retained keys, but refused: she is no longer a member.
  expect(texts(aliceEvents)).toEqual(["hello alice"]);
  expect(texts(bobEvents)).toEqual([]);
  for (const events of [aliceEvents, bobEvents]) {
    expect(events.filter((e) => e.kind === "unreadable")).toEqual([
      { kind: "unreadable", reason: expect.stringContaining("no longer in the group (carol)") },
    ]);
  }
  expect(texts(await alice.sync())).toEqual([]);
});
