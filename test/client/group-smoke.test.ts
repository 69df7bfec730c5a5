import { afterEach, expect, it } from "vitest";
import { RelayClient } from "../../src/client/relay-client.js";
import { GroupSession, type GroupDeps } from "../../src/client/mls/group-session.js";
import { Member } from "../../src/client/mls/member.js";
import { decodeInvitation } from "../../src/client/mls/group-invitation.js";
import { loadWelcome } from "../../src/client/mls/welcome-blob.js";
import { startTestRelay, type TestRelay } from "../../testkit/test-relay.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

let relay: TestRelay | undefined;
afterEach(async () => relay?.close());

it("smoke: create, add, chat, race, remove", async () => {
  relay = await startTestRelay({ roundIntervalMs: 0 });
  const client = await RelayClient.connect(relay.url, { shaping: ShapingProfiles.off });
  const deps: GroupDeps = { route: async () => client, pollMs: 20 };
  const alice = await Member.create("alice", relay.url);
  const bob = await Member.create("bob", relay.url);
  const carol = await Member.create("carol", relay.url);
  const group = await GroupSession.create("friends", alice, client, deps);
  expect(await group.change({ add: [bob.card(), carol.card()] })).toMatchObject({
    status: "committed",
  });
  const join = async (m: Member) => {
    const page = await client.fetchAll(m.inbox);
    if (page.status !== "ok") throw new Error(page.status);
    const inv = decodeInvitation(page.messages[0]!.payload);
    const welcome = await loadWelcome(client, inv.welcome);
    if (!welcome) throw new Error("no Welcome");
    return GroupSession.join(inv, welcome, (await m.takeKeyPackage(inv.keyPackageHash))!, deps);
  };
  const b = await join(bob);
  const c = await join(carol);
  expect(b.members).toEqual(["alice", "bob", "carol"]);
  await group.send("hi all");
  const got = await b.sync();
  expect(got).toMatchObject([{ kind: "message", sender: "alice", text: "hi all" }]);
  const [rb, rc] = await Promise.all([
    b.change({}, { retry: false }),
    c.change({}, { retry: false }),
  ]);
  console.log(rb, rc);
  await group.sync();
  await b.sync();
  await c.sync();
  expect(new Set([group.epoch, b.epoch, c.epoch]).size).toBe(1);
  expect(Buffer.from(group.treeHash).equals(Buffer.from(c.treeHash))).toBe(true);
  await group.change({ remove: ["carol"] });
  await group.send("after carol");
  expect((await b.sync()).filter((e) => e.kind === "message")).toMatchObject([
    { text: "after carol" },
  ]);
  const cev = await c.sync();
  console.log(cev);
  expect(c.removed).toBe(true);
  const restored = await GroupSession.fromJson(b.toJson(), deps);
  expect(restored.epoch).toBe(b.epoch);
});
