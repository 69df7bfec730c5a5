/**
 * A commit's Welcome is stored once on the group's relay and each joiner's invitation only names
 * it: an add of k members costs k small invitations plus one Welcome, not k Welcomes, and an
 * invitation is the same size whatever the group's size. A joiner whose Welcome the relay does
 * not hold waits for it a while, then reports the invitation and drops it (keeping its key package).
 * More adds than maxAddsPerCommit go in successive commits.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { acceptInvitations } from "../../src/client/mls/accept-invitations.js";
import {
  encodeInvitation,
  decodeInvitation,
  type GroupInvitation,
} from "../../src/client/mls/group-invitation.js";
import { Member } from "../../src/client/mls/member.js";
import { loadWelcome, storeWelcome } from "../../src/client/mls/welcome-blob.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";
import { MetricName } from "../../src/relay/ports/metrics.js";
import { startTestRelay, type TestRelay } from "../../testkit/test-relay.js";
import { buildGroup } from "./support.js";

let relay: TestRelay;
let client: RelayClient;
/** Bytes the relay's rounds have written to inboxes (the inbox store's own count of them). */
let bytesStored = 0;
beforeAll(async () => {
  relay = await startTestRelay({ roundIntervalMs: 0 });
  const inboxes = relay.ports.inboxes;
  const appendRound = inboxes.appendRound.bind(inboxes);
  inboxes.appendRound = async (entries, expiresDay) => {
    const appended = await appendRound(entries, expiresDay);
    bytesStored += entries.reduce((sum, entry) => sum + entry.item.length, 0);
    return appended;
  };
  client = await RelayClient.connect(relay.url, { shaping: ShapingProfiles.off });
});
afterAll(async () => relay?.close());

const deps = () => ({ route: async () => client, pollMs: 5 });

/** The items a member's personal inbox holds at the relay, as stored. */
async function personalItems(member: Member): Promise<Uint8Array[]> {
  const page = await relay.ports.inboxes.fetch(member.inbox.inboxId, 0, 1000);
  return (page?.items ?? []).map((stored) => stored.item);
}

it("an add of 40 stores one Welcome and 40 invitations the size of an add of 1's", async () => {
  const small = await buildGroup(client, ["s-0"], deps(), "small");
  const one = await Member.create("s-1", client.origin, undefined, 1);
  expect(await small.sessions[0]!.change({ add: [one.card()] })).toMatchObject({
    status: "committed",
  });
  const [oneInvitation] = await personalItems(one);
  expect(oneInvitation).toBeDefined();

  const big = await buildGroup(client, ["b-0"], deps(), "big");
  const joiners: Member[] = [];
  for (let i = 1; i <= 40; i++)
    joiners.push(await Member.create(`b-${i}`, client.origin, undefined, 1));
  const before = bytesStored;
  const welcomeDeposits = relay.ports.metrics.counter(MetricName.requests, {
    kind: "deposit",
    status: "accepted",
  });
  expect(await big.sessions[0]!.change({ add: joiners.map((m) => m.card()) })).toMatchObject({
    status: "committed",
  });
  const stored = bytesStored - before;
  for (const joiner of joiners) {
    const items = await personalItems(joiner);
    expect(items).toHaveLength(1);
    expect(items[0]!.length).toBe(oneInvitation!.length);
  }
  // Everything the add stored: 40 invitations, the commit and the Welcome once. The Welcome of
  // an add of 40 is ~15 KB; 40 copies of it would be ~600 KB.
  const invitationBytes = 40 * oneInvitation!.length;
  const page = await client.fetchAll(joiners[0]!.inbox);
  if (page.status !== "ok") throw new Error(page.status);
  const welcome = await loadWelcome(client, decodeInvitation(page.messages[0]!.payload).welcome);
  expect(welcome?.length).toBeGreaterThan(10_000);
  expect(stored).toBeLessThan(invitationBytes + 3 * welcome!.length);
  expect(
    relay.ports.metrics.counter(MetricName.requests, { kind: "deposit", status: "accepted" }) -
      welcomeDeposits,
  ).toBeLessThan(40 + 20);

  // Every joiner joins from the one stored Welcome (none acknowledges it away for the others).
  for (const joiner of [joiners[0]!, joiners[19]!, joiners[39]!]) {
    const { joined, problems } = await acceptInvitations(joiner, client, deps());
    expect(problems).toEqual([]);
    expect(joined[0]!.members).toHaveLength(41);
    expect(await personalItems(joiner)).toHaveLength(0);
  }
});

/** A group `name` of one, adding `joiner`; its invitation taken out of the inbox, and its Welcome. */
async function addAndTake(name: string, joiner: Member) {
  const group = await buildGroup(client, [`${name}-0`], deps(), name);
  expect(await group.sessions[0]!.change({ add: [joiner.card()] })).toMatchObject({
    status: "committed",
  });
  const page = await client.fetchAll(joiner.inbox);
  if (page.status !== "ok") throw new Error(page.status);
  const invitation: GroupInvitation = decodeInvitation(page.messages[0]!.payload);
  const welcome = await loadWelcome(client, invitation.welcome);
  if (!welcome) throw new Error("the committed add stored no Welcome");
  expect(await client.ack(joiner.inbox, page.lastSeq)).toMatchObject({ status: "ok" });
  return { invitation, welcome };
}

it("an invitation whose Welcome is not on the relay is reported and dropped, holding up nothing", async () => {
  const joiner = await Member.create("x-1", client.origin, undefined, 1);
  const { invitation, welcome } = await addAndTake("x", joiner);
  // Someone holding the card names the same key package with a Welcome that was never stored,
  // ahead of the real invitation.
  const never = await storeWelcome(client, welcome);
  const bogus = encodeInvitation({ ...invitation, welcome: never.blob });
  expect(await client.deposit(joiner.card(), bogus)).toMatchObject({ status: "accepted" });
  expect(await client.deposit(joiner.card(), encodeInvitation(invitation))).toMatchObject({
    status: "accepted",
  });
  const result = await acceptInvitations(joiner, client, deps(), { welcomeWaitMs: 30 });
  expect(result.problems).toEqual(['the Welcome of an invitation to "x" is not on its relay']);
  expect(result.joined.map((g) => g.members)).toEqual([["x-0", "x-1"]]);
  expect(await personalItems(joiner)).toHaveLength(0);
});

it("a Welcome that is complete while the joiner waits for it is joined", async () => {
  const joiner = await Member.create("y-1", client.origin, undefined, 1);
  const { invitation, welcome } = await addAndTake("y", joiner);
  const later = await storeWelcome(client, welcome);
  const invitationLater = encodeInvitation({ ...invitation, welcome: later.blob });
  expect(await client.deposit(joiner.card(), invitationLater)).toMatchObject({
    status: "accepted",
  });
  const accepting = acceptInvitations(joiner, client, deps(), { welcomeWaitMs: 10_000 });
  // Deposited once the joiner is waiting: it finds the inbox empty, then the Welcome whole.
  await new Promise((resolve) => setTimeout(resolve, 50));
  for (const entry of later.deposits) {
    expect(
      await client.depositPayload(entry, entry.payload, { messageId: entry.messageId }),
    ).toMatchObject({ status: "accepted" });
  }
  const result = await accepting;
  expect(result.problems).toEqual([]);
  expect(result.joined[0]!.members).toEqual(["y-0", "y-1"]);
  expect(joiner.keyPackageCount).toBe(0);
});

it("adds more members than maxAddsPerCommit in successive commits, one invitation each", async () => {
  const group = await buildGroup(client, ["c-0"], deps(), "steps");
  const creator = group.sessions[0]!;
  const joiners: Member[] = [];
  for (let i = 1; i <= 7; i++)
    joiners.push(await Member.create(`c-${i}`, client.origin, undefined, 1));
  const from = creator.epoch;
  await expect(
    creator.change({ add: [joiners[0]!.card()] }, { maxAddsPerCommit: 0 }),
  ).rejects.toThrow("maxAddsPerCommit");
  const outcome = await creator.change(
    { add: joiners.map((m) => m.card()) },
    { maxAddsPerCommit: 3 },
  );
  expect(outcome).toMatchObject({ status: "committed", epoch: from + 3n });
  expect(creator.members).toHaveLength(8);
  for (const joiner of joiners) expect(await personalItems(joiner)).toHaveLength(1);
  // The first joined two epochs before the last, and reads its way to the same members.
  const first = (await acceptInvitations(joiners[0]!, client, deps())).joined[0]!;
  const last = (await acceptInvitations(joiners[6]!, client, deps())).joined[0]!;
  expect(first.epoch).toBe(from + 1n);
  expect(last.epoch).toBe(from + 3n);
  expect(await first.sync()).toMatchObject([
    { kind: "commit", added: ["c-4", "c-5", "c-6"] },
    { kind: "commit", added: ["c-7"] },
  ]);
  expect(first.members).toEqual(last.members);
});

it("stores and reads back a Welcome larger than the largest bucket", async () => {
  // A 5,000-member group's Welcome is about 1.7 MB: more than the 1 MiB bucket, in fragments.
  const welcome = new Uint8Array(1_700_000);
  for (let offset = 0; offset < welcome.length; offset += 65536) {
    crypto.getRandomValues(welcome.subarray(offset, offset + 65536));
  }
  const stored = await storeWelcome(client, welcome);
  expect(stored.deposits.length).toBeGreaterThan(1);
  for (const entry of stored.deposits) {
    expect(
      await client.depositPayload(entry, entry.payload, { messageId: entry.messageId }),
    ).toMatchObject({ status: "accepted" });
  }
  const read = await loadWelcome(client, stored.blob);
  expect(read && Buffer.from(read).equals(Buffer.from(welcome))).toBe(true);
});
