/**
 * The demo's story (the steps in src/demo/story, which src/demo/demo-scenario.ts runs in order)
 * with one provider's relay on Node and the other's on a Worker (wrangler's local runtime): once
 * with provider A (the group's relay) on Node and B on the Worker, once the other way round. The
 * story's own checks become assertions here; this file adds what only a test can look at.
 *
 * Alice's personal inbox is on A, Bob's and Carol's on B, the group's epoch inboxes on A. Every
 * member reaches relays only through the other provider's relay: Alice's messages (her commits
 * too, like any deposit) cross the link in B's federation batches, her fetches are proxied by B,
 * and Bob and Carol read their personal inboxes through A. Alice creates the group and adds Bob
 * and Carol, who join from their Welcomes; everyone chats; Bob and Carol commit at the same
 * moment (both retrying, so the loser commits again in the next epoch); Alice removes Carol;
 * Alice and Bob chat on. Checked at every step: each member reads exactly the others' messages
 * (texts, senders, each sender's order) and nothing else; the race has one winner (the first
 * valid commit in the epoch inbox's order) and the loser's commit lands in the next epoch; Carol
 * learns of her removal, reads nothing later, and holds no key to the later inbox or its
 * deposits; Alice and Bob end on one epoch, tree and inbox; batches went both ways, with Alice's
 * messages in them, and nothing failed.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import type { GroupEvent, GroupSession } from "../../src/client/mls/group-session.js";
import { epochInbox } from "../../src/client/mls/epoch-inbox.js";
import { openGroupPayload } from "../../src/client/mls/group-payload.js";
import { mlsClientConfig } from "../../src/client/mls/mls-suite.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";
import { acceptWelcomes } from "../../src/demo/story/accept-welcomes.js";
import { meetCast } from "../../src/demo/story/cast.js";
import { chat } from "../../src/demo/story/chat.js";
import { checkShutOut } from "../../src/demo/story/check-shut-out.js";
import { commitRace } from "../../src/demo/story/commit-race.js";
import { createGroup, GROUP_NAME } from "../../src/demo/story/create-group.js";
import { inviteMembers } from "../../src/demo/story/invite-members.js";
import {
  participant,
  readUntil,
  textsFrom,
  type Participant,
} from "../../src/demo/story/participant.js";
import { removeMember } from "../../src/demo/story/remove-member.js";
import type { StoryContext } from "../../src/demo/story/story-context.js";
import { toHex } from "../../src/protocol/bytes.js";
import { CryptoError } from "../../src/protocol/errors.js";
import { SecretBytes } from "../../src/protocol/secret-bytes.js";
import { MetricName } from "../../src/relay/ports/metrics.js";
import { mlsState, savedReadings } from "../mls/support.js";
import { commitBarrier, startRelayPair, type Provider, type RelayPair } from "./mls-support.js";

const ROUND_MS = 200;
const POLL_MS = 50;
/** Longest wait for one expected outcome. */
const WAIT_MS = 20_000;

/** The story with its checks as assertions; its transcript notes are not needed here. */
const story: StoryContext = {
  waitMs: WAIT_MS,
  pollMs: POLL_MS,
  log: {
    note: () => undefined,
    check: (ok, description, detail) => {
      expect(ok, ok || !detail ? description : `${description} (${detail()})`).toBe(true);
    },
  },
};

let pair: RelayPair | undefined;
beforeAll(async () => {
  pair = await startRelayPair(ROUND_MS);
}, 60_000);
afterAll(async () => {
  await pair?.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Items after `afterSeq` in the inbox of `session`'s current epoch, as its relay holds them. */
async function epochItems(observer: RelayClient, session: GroupSession, afterSeq = 0) {
  const reading = (await savedReadings(session)).find((r) => r.epoch === session.epoch)!;
  const page = await observer.fetchAllItems(
    { readSecret: new SecretBytes(reading.readSecret), writeTokenHash: reading.writeTokenHash },
    afterSeq,
  );
  if (page.status === "not_found") return { items: [], lastSeq: afterSeq };
  if (page.status !== "ok") throw new Error(`epoch inbox fetch: ${page.status}`);
  return page;
}

/**
 * The story's chat with the speakers sending their bursts at once (each its own in order); once
 * all of them are in the epoch inbox, each reads until it has the others'. What each read must be
 * exactly the others' messages, each sender's in the order sent. Reading only then is deliberate:
 * the SDK restores a sender's order within what one fetch returns, but a forwarded burst can land
 * in the inbox relay's rounds in any order (batch slots are shuffled and handled one by one while
 * rounds close), so a reader polling meanwhile may get a sender's later message first.
 */
async function chatInBursts(
  observer: RelayClient,
  speakers: Participant[],
  texts: Map<string, string[]>,
): Promise<void> {
  const session = speakers[0]!.session;
  const { lastSeq } = await epochItems(observer, session);
  const total = speakers.reduce((n, s) => n + texts.get(s.name)!.length, 0);
  const read = await chat(story, speakers, texts, {
    together: true,
    beforeReading: async () => {
      const deadline = Date.now() + WAIT_MS;
      while ((await epochItems(observer, session, lastSeq)).items.length < total) {
        if (Date.now() > deadline) throw new Error("the messages never all reached the inbox");
        await sleep(POLL_MS);
      }
    },
  });
  expect((await epochItems(observer, session, lastSeq)).items).toHaveLength(total);
  for (const reader of speakers) {
    const events: GroupEvent[] = read.get(reader.name)!;
    expect(events.filter((e) => e.kind !== "message")).toEqual([]);
    for (const s of speakers) {
      expect(textsFrom(events, s.name), `${reader.name} read ${s.name}`).toEqual(
        s === reader ? [] : texts.get(s.name),
      );
    }
  }
}

/** Both ways of the link: batches delivered (acknowledged), received, and failed attempts. */
async function linkCounters(a: Provider, b: Provider) {
  const side = async (from: Provider, to: Provider) => ({
    delivered: await from.counter(MetricName.federationBatchesDelivered, { peer: to.url }),
    received: await to.counter(MetricName.federationBatchesReceived, { peer: from.url }),
    failures: await from.counter(MetricName.federationDeliveryFailures, { peer: to.url }),
  });
  return { aToB: await side(a, b), bToA: await side(b, a) };
}

const forwardedDeposits = (p: Provider) =>
  p.counter(MetricName.requests, { kind: "forwarded_deposit", status: "accepted" });

async function playDemo(a: Provider, b: Provider): Promise<void> {
  const linkBefore = await linkCounters(a, b);
  const forwardedBefore = await forwardedDeposits(a);

  // ---- 1. Providers and members: each member reaches the other provider only via its own.
  const cast = await meetCast(story, { a: a.url, b: b.url });
  expect(cast.aliceToA.via).toBe(cast.ingress.alice);
  expect((await cast.routes.bob(b.url)).via).toBe(cast.ingress.bob);
  expect((await cast.routes.carol(b.url)).via).toBe(cast.ingress.carol);

  // ---- 2. Alice creates the group on A and adds Bob and Carol (Welcomes to their inboxes on B).
  const group = await createGroup(story, cast);
  const inboxes = [toHex(group.currentInboxId)];
  expect(await inviteMembers(story, cast, group)).toEqual({
    status: "committed",
    epoch: 1n,
    attempts: 1,
  });
  inboxes.push(toHex(group.currentInboxId));

  // ---- 3. Bob and Carol join from their Welcomes, read on B through A (each finds exactly one
  // good invitation: a story check).
  const joined = await acceptWelcomes(story, cast, group);
  const [bobGroup, carolGroup] = [joined.bob, joined.carol];
  for (const session of [bobGroup, carolGroup]) {
    expect(session.name).toBe(GROUP_NAME);
    expect(session.relay).toBe(a.url);
    expect(session.epoch).toBe(1n);
    expect(toHex(session.treeHash)).toBe(toHex(group.treeHash));
    expect(toHex(session.currentInboxId)).toBe(inboxes[1]);
  }
  for (const session of [group, bobGroup, carolGroup]) {
    expect(session.members).toEqual(["alice", "bob", "carol"]);
  }

  // ---- 4. Everyone chats, several messages each.
  const aliceM = participant("alice", group);
  const bobM = participant("bob", bobGroup);
  const carolM = participant("carol", carolGroup);
  const firstTexts = new Map([
    [
      "alice",
      [
        "Welcome, both of you.",
        "The relays carry this but cannot read it.",
        "Mine reach A only inside B's batches.",
      ],
    ],
    ["bob", ["Hi!", "My requests reach B only through A.", "Shall we plan the next hike?"]],
    ["carol", ["Same here.", "A never learns which inbox is mine.", "Saturday suits me."]],
  ]);
  // The test's own view of A's inboxes (fetches with a member's read secret, never acked).
  const observer = await RelayClient.connect(a.url, { shaping: ShapingProfiles.off });
  await chatInBursts(observer, [aliceM, bobM, carolM], firstTexts);

  // ---- 5. Bob and Carol commit in epoch 1 at the same moment; with retry, the loser's lands too.
  const race = commitBarrier([
    { name: "bob", client: await cast.routes.bob(a.url) },
    { name: "carol", client: await cast.routes.carol(a.url) },
  ]);
  const marks = new Map([aliceM, bobM, carolM].map((p) => [p.name, p.events.length]));
  const since = (p: Participant) => p.events.slice(marks.get(p.name));
  const { winner, loser, won, lost } = await commitRace(story, [bobM, carolM], { retry: true });
  expect(won).toEqual({ status: "committed", epoch: 2n, attempts: 1 });
  expect(lost).toEqual({ status: "committed", epoch: 3n, attempts: 2 });
  // The winner has not synced since, so it still reads epoch 2's inbox.
  inboxes.push(toHex(winner.session.currentInboxId));
  // Both commits of epoch 1 went in like any deposit (forwarded by each member's own
  // provider); the loser's second try went into epoch 2's inbox.
  const sorted = (attempts: object[]) => attempts.map((x) => JSON.stringify(x)).sort();
  expect(sorted(race.map(({ by, inbox }) => ({ by, inbox })))).toEqual(
    sorted([
      { by: winner.name, inbox: inboxes[1] },
      { by: loser.name, inbox: inboxes[1] },
      { by: loser.name, inbox: inboxes[2] },
    ]),
  );
  expect(race.every((attempt) => ["accepted", "forwarded"].includes(attempt.status))).toBe(true);
  for (const p of [aliceM, winner, loser]) {
    await readUntil(story, p, () => p.session.epoch === 3n, `${p.name} is at epoch 3`);
  }
  const commitBy = (epoch: bigint, committer: string) => ({
    kind: "commit",
    epoch,
    committer,
    added: [],
    removed: [],
  });
  expect(since(aliceM)).toEqual([commitBy(2n, winner.name), commitBy(3n, loser.name)]);
  expect(since(winner)).toEqual([commitBy(3n, loser.name)]);
  expect(since(loser)).toEqual([commitBy(2n, winner.name)]);
  inboxes.push(toHex(group.currentInboxId));
  for (const session of [bobGroup, carolGroup]) {
    expect(session.epoch).toBe(3n);
    expect(toHex(session.treeHash)).toBe(toHex(group.treeHash));
    expect(toHex(session.currentInboxId)).toBe(inboxes[3]);
  }

  // ---- 6. Alice removes Carol.
  const removal = await removeMember(story, aliceM, carolM, [bobM]);
  expect(removal.outcome).toEqual({ status: "committed", epoch: 4n, attempts: 1 });
  inboxes.push(toHex(group.currentInboxId));
  expect(removal.read.get("bob")).toEqual([
    { kind: "commit", epoch: 4n, committer: "alice", added: [], removed: ["carol"] },
  ]);
  expect(removal.read.get("carol")).toEqual([{ kind: "removed", epoch: 4n, committer: "alice" }]);
  expect(group.members).toEqual(["alice", "bob"]);
  expect(bobGroup.members).toEqual(["alice", "bob"]);
  expect(toHex(bobGroup.treeHash)).toBe(toHex(group.treeHash));
  expect(toHex(bobGroup.currentInboxId)).toBe(inboxes[4]);

  // ---- 7. Alice and Bob chat on; Carol reads nothing and can neither send nor find the inbox.
  await chatInBursts(
    observer,
    [aliceM, bobM],
    new Map([
      ["alice", ["Carol is gone: this epoch's inbox is new.", "She cannot derive it."]],
      ["bob", ["Nor read anything in it.", "Only the two of us hold epoch four."]],
    ]),
  );
  const shutOut = await checkShutOut(story, carolM);
  expect(shutOut.events).toEqual([]);
  expect(shutOut.sendError).toBeInstanceOf(Error);
  expect((shutOut.sendError as Error).message).toContain("removed");
  const carolState = { ...mlsState(carolGroup), clientConfig: mlsClientConfig };
  expect(carolState.groupContext.epoch).toBe(3n);
  const derived = await epochInbox(carolState, a.url);
  // Control: her last state does derive the inbox of her last epoch.
  expect(toHex(derived.inboxId)).toBe(inboxes[3]);
  const carolKeys = [
    ...(await savedReadings(carolGroup)),
    { inboxId: derived.inboxId, payloadKey: derived.payloadKey.expose() },
  ];
  expect(carolKeys.map((k) => toHex(k.inboxId))).not.toContain(inboxes[4]);
  // What A holds in epoch 4's inbox, read as the members would (with the epoch's read secret).
  const epoch4 = (await savedReadings(group)).find((r) => r.epoch === 4n)!;
  expect(toHex(epoch4.inboxId)).toBe(inboxes[4]);
  const { items } = await epochItems(observer, group);
  expect(items).toHaveLength(4);
  for (const item of items) {
    await openGroupPayload(epoch4.payloadKey, epoch4.inboxId, item.payload, observer.padding);
    for (const key of carolKeys) {
      for (const inboxId of [epoch4.inboxId, key.inboxId]) {
        await expect(
          openGroupPayload(key.payloadKey, inboxId, item.payload, observer.padding),
        ).rejects.toBeInstanceOf(CryptoError);
      }
    }
  }

  // ---- 8. Where everyone ended, and what crossed the link.
  expect(new Set(inboxes).size).toBe(5);
  expect([group.epoch, bobGroup.epoch]).toEqual([4n, 4n]);
  expect(carolGroup.removed).toBe(true);
  for (const p of [aliceM, bobM, carolM]) {
    expect(p.events.filter((e) => e.kind === "unreadable")).toEqual([]);
  }
  // Alice's five messages, her two commits and the Welcome of her add, stored once (one deposit),
  // and nothing else reached A inside batches from B.
  expect((await forwardedDeposits(a)) - forwardedBefore).toBe(8);
  const linkAfter = await linkCounters(a, b);
  for (const way of ["aToB", "bToA"] as const) {
    const [before, after] = [linkBefore[way], linkAfter[way]];
    expect(after.delivered - before.delivered, `${way} delivered`).toBeGreaterThan(0);
    expect(after.received - before.received, `${way} received`).toBeGreaterThan(0);
    expect(after.failures, `${way} delivery failures`).toBe(0);
  }
  expect(await a.deadLetters()).toBe(0);
  expect(await b.deadLetters()).toBe(0);
  expect(pair!.nodeLogs).toEqual([]);
}

it("plays the demo with provider A on Node and provider B on a Worker", async () => {
  await playDemo(pair!.node, pair!.worker);
}, 180_000);

it("plays the demo with provider A on a Worker and provider B on Node", async () => {
  await playDemo(pair!.worker, pair!.node);
}, 180_000);
