/**
 * Sessions saved with toJson and restored with fromJson keep working across epochs: here every
 * member restarts from its last save before every single operation, through messages, key
 * updates, an add and a remove. A restored session saves exactly what it was restored from.
 */
import { afterEach, expect, it } from "vitest";
import { GroupSession, type GroupDeps } from "../../src/client/mls/group-session.js";
import { Member } from "../../src/client/mls/member.js";
import { acceptInvitations } from "../../src/client/mls/accept-invitations.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { ConfigError } from "../../src/protocol/errors.js";
import { startTestRelay, type TestRelay } from "../../testkit/test-relay.js";
import { buildGroup, hex, texts } from "./support.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

it("a member restarting before every operation follows the group across epochs", async () => {
  relay = await startTestRelay({ roundIntervalMs: 0 });
  const client = await RelayClient.connect(relay.url, { shaping: ShapingProfiles.off });
  const saved = new Map<string, string>();
  const deps = (name: string): GroupDeps => ({
    route: async () => client,
    pollMs: 5,
    save: async (json) => void saved.set(name, json),
  });
  await buildGroup(client, ["alice", "bob", "carol"], deps);
  let restarts = 0;
  /** The member as a fresh process would load it. */
  const as = async (name: string): Promise<GroupSession> => {
    const json = saved.get(name)!;
    const session = await GroupSession.fromJson(json, deps(name));
    expect(session.toJson()).toBe(json);
    restarts++;
    return session;
  };
  const start = (await as("alice")).epoch;

  await (await as("alice")).send("one");
  expect(texts(await (await as("bob")).sync())).toEqual(["one"]);
  expect(await (await as("carol")).change({})).toMatchObject({ status: "committed" });
  await (await as("bob")).send("two"); // bob has not seen carol's commit: sent in the old epoch
  expect(await (await as("alice")).sync()).toMatchObject([
    { kind: "commit", epoch: start + 1n, committer: "carol" },
    { kind: "message", epoch: start, text: "two" },
  ]);
  expect(await (await as("bob")).sync()).toMatchObject([{ kind: "commit", committer: "carol" }]);
  // "one" was read inside carol's change() and is reported now, with "two".
  expect(texts(await (await as("carol")).sync())).toEqual(["one", "two"]);

  const dave = await Member.create("dave", client.origin, undefined, 1);
  expect(await (await as("bob")).change({ add: [dave.card()] })).toMatchObject({
    status: "committed",
    epoch: start + 2n,
  });
  const { joined } = await acceptInvitations(dave, client, deps("dave"));
  expect(joined).toHaveLength(1);
  await (await as("dave")).send("three");
  for (const name of ["alice", "carol"]) {
    expect(await (await as(name)).sync()).toMatchObject([
      { kind: "commit", added: ["dave"] },
      { kind: "message", sender: "dave", text: "three" },
    ]);
  }
  expect(texts(await (await as("bob")).sync())).toEqual(["three"]);

  expect(await (await as("dave")).change({ remove: ["alice"] })).toMatchObject({
    status: "committed",
    epoch: start + 3n,
  });
  expect(await (await as("alice")).sync()).toMatchObject([{ kind: "removed" }]);
  const removed = await as("alice");
  expect(removed.removed).toBe(true);
  await expect(removed.send("hello?")).rejects.toThrow("removed");
  for (const name of ["bob", "carol"]) await (await as(name)).sync();
  await (await as("carol")).send("four");
  for (const name of ["bob", "dave"])
    expect(texts(await (await as(name)).sync())).toEqual(["four"]);

  const finals = await Promise.all(["bob", "carol", "dave"].map(as));
  expect(finals.map((s) => s.epoch)).toEqual([start + 3n, start + 3n, start + 3n]);
  expect(new Set(finals.map((s) => hex(s.treeHash))).size).toBe(1);
  expect([...finals[0]!.members].sort()).toEqual(["bob", "carol", "dave"]);
  expect(restarts).toBeGreaterThan(20);
});

it("fromJson refuses what is not a saved session with ConfigError", async () => {
  relay = await startTestRelay({ roundIntervalMs: 0 });
  const client = await RelayClient.connect(relay.url, { shaping: ShapingProfiles.off });
  const deps = { route: async () => client };
  const group = await GroupSession.create("solo", { name: "alice" }, client, deps);
  const good = JSON.parse(group.toJson()) as Record<string, unknown>;
  const attempts = [
    "not json",
    JSON.stringify({ ...good, shroud: "group/v3" }),
    JSON.stringify({ ...good, shroud: "group/v1" }),
    JSON.stringify({ ...good, state: "AAAA" }),
    JSON.stringify({ ...good, readings: [] }),
    JSON.stringify({ ...good, readings: "x" }),
    JSON.stringify({ ...good, outbox: undefined }),
  ];
  for (const text of attempts) {
    await expect(GroupSession.fromJson(text, deps)).rejects.toBeInstanceOf(ConfigError);
  }
  expect((await GroupSession.fromJson(JSON.stringify(good), deps)).epoch).toBe(group.epoch);
});

it("an add of 40 saves the session a few times, not once per invitation", async () => {
  relay = await startTestRelay({ roundIntervalMs: 0 });
  const client = await RelayClient.connect(relay.url, { shaping: ShapingProfiles.off });
  const saves: number[] = [];
  const deps: GroupDeps = {
    route: async () => client,
    pollMs: 5,
    save: async (json) => void saves.push(json.length),
  };
  const creator = await GroupSession.create("many", { name: "m-0" }, client, deps);
  const joiners: Member[] = [];
  for (let i = 1; i <= 40; i++) {
    joiners.push(await Member.create(`m-${i}`, client.origin, undefined, 1));
  }
  saves.length = 0;
  expect(await creator.change({ add: joiners.map((m) => m.card()) })).toMatchObject({
    status: "committed",
  });
  // Saved with the pending commit, as the epoch is read and won, and once the invitations left.
  expect(saves.length).toBeLessThanOrEqual(6);
});
