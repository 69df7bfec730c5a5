/**
 * A group message is one deposit at the relay, whatever the group's size: the relay sees one
 * request of one bucket size and adds one item to one inbox, for 2 members as for 50. Reading it
 * is one fetch per epoch inbox the reader reads.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { acceptInvitations } from "../../src/client/mls/accept-invitations.js";
import type { GroupSession } from "../../src/client/mls/group-session.js";
import { Member } from "../../src/client/mls/member.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { MetricName } from "../../src/relay/ports/metrics.js";
import { recordingFetch, type Exchange } from "../../testkit/recording-fetch.js";
import { startTestRelay, type TestRelay } from "../../testkit/test-relay.js";
import { buildGroup, texts } from "./support.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

let relay: TestRelay;
beforeAll(async () => {
  relay = await startTestRelay({ roundIntervalMs: 0 });
});
afterAll(async () => relay?.close());

interface Cost {
  requests: Exchange[];
  depositsAccepted: number;
  itemsDelivered: number;
  /** Items added to the group's current epoch inbox. */
  epochInboxItems: number;
}

/** What one send costs at the relay. */
async function sendCost(group: GroupSession, exchanges: Exchange[], text: string): Promise<Cost> {
  const counter = (name: MetricName, labels?: Record<string, string>) =>
    relay.ports.metrics.counter(name, labels);
  const accepted = { kind: "deposit", status: "accepted" };
  const epochInboxItems = async () =>
    (await relay.ports.inboxes.fetch(group.currentInboxId, 0, 10_000))?.items.length ?? 0;
  const before = {
    exchanges: exchanges.length,
    accepted: counter(MetricName.requests, accepted),
    delivered: counter(MetricName.itemsDelivered),
    inboxItems: await epochInboxItems(),
  };
  await group.send(text);
  return {
    requests: exchanges.slice(before.exchanges),
    depositsAccepted: counter(MetricName.requests, accepted) - before.accepted,
    itemsDelivered: counter(MetricName.itemsDelivered) - before.delivered,
    epochInboxItems: (await epochInboxItems()) - before.inboxItems,
  };
}

it("a message to 50 members costs what a message to 2 costs: one deposit", async () => {
  const exchanges: Exchange[] = [];
  const client = await RelayClient.connect(relay.url, {
    shaping: ShapingProfiles.off,
    fetch: recordingFetch(exchanges),
  });
  const deps = { route: async () => client, pollMs: 5 };
  const names = (prefix: string, n: number) =>
    Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

  const pair = await buildGroup(client, names("p", 2), deps, "pair");
  const started = Date.now();
  const crowd = await buildGroup(client, ["c-0", "c-1"], deps, "crowd");
  // One add-48 commit; the 48 joiners' invitations wait in their personal inboxes.
  const joiners = [];
  for (const name of names("c", 50).slice(2)) {
    joiners.push(await Member.create(name, client.origin, undefined, 1));
  }
  const creator = crowd.sessions[0]!;
  expect(await creator.change({ add: joiners.map((m) => m.card()) })).toMatchObject({
    status: "committed",
    attempts: 1,
  });
  expect(creator.members).toHaveLength(50);
  console.log(`50-member group built in ${Date.now() - started} ms`);
  // c-1 was a member before: it reads the add-48 commit, larger than a 16 KiB fetch.
  const early = crowd.sessions[1]!;
  expect(await early.sync()).toMatchObject([{ kind: "commit", committer: "c-0" }]);
  expect(early.members).toHaveLength(50);
  expect(early.epoch).toBe(creator.epoch);
  // Two of the 48 join (the first and the last leaf); the others need not for this count.
  const readers: GroupSession[] = [early];
  for (const m of [joiners[0]!, joiners[47]!]) {
    const { joined } = await acceptInvitations(m, client, deps);
    readers.push(joined[0]!);
  }
  expect(readers[2]!.members).toHaveLength(50);

  const small = await sendCost(pair.sessions[0]!, exchanges, "the same words");
  const large = await sendCost(creator, exchanges, "the same words");
  for (const cost of [small, large]) {
    expect(cost.requests).toHaveLength(1);
    expect(cost.depositsAccepted).toBe(1);
    expect(cost.itemsDelivered).toBe(1);
    expect(cost.epochInboxItems).toBe(1);
  }
  // And the one request is the same size for both groups.
  expect(large.requests[0]!.requestLength).toBe(small.requests[0]!.requestLength);
  expect(large.requests[0]!.responseLength).toBe(small.requests[0]!.responseLength);

  // The one deposit reaches every reader.
  expect(texts(await pair.sessions[1]!.sync())).toEqual(["the same words"]);
  for (const reader of readers) expect(texts(await reader.sync())).toEqual(["the same words"]);
});

it("a sync that finds one message fetches each epoch inbox once", async () => {
  const exchanges: Exchange[] = [];
  const client = await RelayClient.connect(relay.url, {
    shaping: ShapingProfiles.off,
    fetch: recordingFetch(exchanges),
  });
  const deps = { route: async () => client, pollMs: 5 };
  const { sessions } = await buildGroup(client, ["r-0", "r-1"], deps, "reads");
  const [writer, reader] = [sessions[0]!, sessions[1]!];
  await reader.sync();
  await writer.send("one");
  const before = exchanges.length;
  expect(texts(await reader.sync())).toEqual(["one"]);
  // The joiner reads the epoch it joined in: one inbox, one fetch (not a second pass to find
  // nothing more).
  expect(exchanges.length - before).toBe(1);
  // A key update moves both to the next epoch: the reader then reads two inboxes.
  expect(await writer.change({})).toMatchObject({ status: "committed" });
  await writer.send("two");
  expect(texts(await reader.sync())).toEqual(["two"]);
  await writer.send("three");
  const again = exchanges.length;
  expect(texts(await reader.sync())).toEqual(["three"]);
  expect(exchanges.length - again).toBe(2);
});
