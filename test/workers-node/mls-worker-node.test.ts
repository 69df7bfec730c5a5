/**
 * The demo's MLS scenario (src/demo/demo-scenario.ts) with one provider's relay on Node and the
 * other's on a Worker (wrangler's local runtime), played with the client SDK: once with provider
 * A (the group's relay) on Node and B on the Worker, once the other way round.
 *
 * Alice's personal inbox is on A, Bob's and Carol's on B, the group's epoch inboxes on A. Every
 * member reaches relays only through the other provider's relay: Alice's messages (her commits
 * too, like any deposit) cross the link in B's federation batches, her fetches are proxied by B,
 * and Bob and Carol read their personal inboxes through A. Alice creates the group and adds Bob
 * and Carol, who join from their Welcomes; everyone chats; Bob and Carol commit at the same
 * moment; Alice removes Carol; Alice and Bob chat on. Checked at every step: each member reads
 * exactly the others' messages (texts, senders, each sender's order) and nothing else; the race
 * has one winner (the first valid commit in the epoch inbox's order) and the loser's commit lands
 * in the next epoch; Carol learns of her removal, reads nothing later, and holds no key to the
 * later inbox or its deposits; Alice and Bob end on one epoch, tree and inbox; batches went both
 * ways, with Alice's messages in them, and nothing failed.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { acceptInvitations } from "../../src/client/mls/accept-invitations.js";
import { epochInbox } from "../../src/client/mls/epoch-inbox.js";
import { openGroupPayload } from "../../src/client/mls/group-payload.js";
import {
  GroupSession,
  type GroupDeps,
  type GroupEvent,
} from "../../src/client/mls/group-session.js";
import { Member } from "../../src/client/mls/member.js";
import { mlsClientConfig } from "../../src/client/mls/mls-suite.js";
import { ingressRouter } from "../../src/client/ingress-router.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { toHex } from "../../src/protocol/bytes.js";
import { CryptoError } from "../../src/protocol/errors.js";
import { SecretBytes } from "../../src/protocol/secret-bytes.js";
import { MetricName } from "../../src/relay/ports/metrics.js";
import { mlsState, savedReadings } from "../mls/support.js";
import { commitBarrier, startRelayPair, type Provider, type RelayPair } from "./mls-support.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

const ROUND_MS = 200;
const POLL_MS = 50;
/** Longest wait for one expected outcome. */
const WAIT_MS = 20_000;
const GROUP_NAME = "hiking-club";

let pair: RelayPair | undefined;
beforeAll(async () => {
  pair = await startRelayPair(ROUND_MS);
}, 60_000);
afterAll(async () => {
  await pair?.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A member in the group and every event its syncs reported. */
interface Participant {
  name: string;
  session: GroupSession;
  events: GroupEvent[];
}

/** Texts of the messages from `sender` among `events`, in the order the reader got them. */
function textsFrom(events: GroupEvent[], sender: string): string[] {
  return events.flatMap((e) => (e.kind === "message" && e.sender === sender ? [e.text] : []));
}

/** Syncs until `done`; an item that does not open fails at once rather than at the deadline. */
async function readUntil(member: Participant, done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const events = await member.session.sync();
    member.events.push(...events);
    const bad = events.filter((e) => e.kind === "unreadable");
    if (bad.length > 0) throw new Error(`${member.name} met ${JSON.stringify(bad)}`);
    if (done()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(POLL_MS);
  }
}

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
 * The speakers send their bursts at once (each its own in order); once all of them are in the
 * epoch inbox, each reads until it has the others'. What each read must be exactly the others'
 * messages, each sender's in the order sent. Reading only then is deliberate: the SDK restores a
 * sender's order within what one fetch returns, but a forwarded burst can land in the inbox relay's
 * rounds in any order (batch slots are shuffled and handled one by one while rounds close), so a
 * reader polling meanwhile may get a sender's later message first.
 */
async function chat(
  observer: RelayClient,
  speakers: Participant[],
  texts: Map<string, string[]>,
): Promise<void> {
  const marks = new Map(speakers.map((s) => [s.name, s.events.length]));
  const since = (p: Participant) => p.events.slice(marks.get(p.name));
  const session = speakers[0]!.session;
  const { lastSeq } = await epochItems(observer, session);
  const total = speakers.reduce((n, s) => n + texts.get(s.name)!.length, 0);
  await Promise.all(
    speakers.map(async (s) => {
      for (const text of texts.get(s.name)!) await s.session.send(text);
    }),
  );
  const deadline = Date.now() + WAIT_MS;
  while ((await epochItems(observer, session, lastSeq)).items.length < total) {
    if (Date.now() > deadline) throw new Error("the messages never all reached the inbox");
    await sleep(POLL_MS);
  }
  await Promise.all(
    speakers.map((reader) =>
      readUntil(
        reader,
        () =>
          speakers.every(
            (s) =>
              s === reader || textsFrom(since(reader), s.name).length >= texts.get(s.name)!.length,
          ),
        `${reader.name} has read the others' messages`,
      ),
    ),
  );
  expect((await epochItems(observer, session, lastSeq)).items).toHaveLength(total);
  for (const reader of speakers) {
    const read = since(reader);
    expect(read.filter((e) => e.kind !== "message")).toEqual([]);
    for (const s of speakers) {
      expect(textsFrom(read, s.name), `${reader.name} read ${s.name}`).toEqual(
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
  const ingress = {
    alice: await RelayClient.connect(b.url, { shaping: ShapingProfiles.off }),
    bob: await RelayClient.connect(a.url, { shaping: ShapingProfiles.off }),
    carol: await RelayClient.connect(a.url, { shaping: ShapingProfiles.off }),
  };
  const routes = {
    alice: ingressRouter(ingress.alice),
    bob: ingressRouter(ingress.bob),
    carol: ingressRouter(ingress.carol),
  };
  const deps = (route: GroupDeps["route"]): GroupDeps => ({
    route,
    pollMs: POLL_MS,
    commitWaitMs: WAIT_MS,
  });
  const aliceToA = await routes.alice(a.url);
  const bobToB = await routes.bob(b.url);
  const carolToB = await routes.carol(b.url);
  expect(aliceToA.via).toBe(ingress.alice);
  expect(bobToB.via).toBe(ingress.bob);
  expect(carolToB.via).toBe(ingress.carol);
  const alice = await Member.create("alice", a.url, aliceToA.descriptor.signingKey);
  const bob = await Member.create("bob", b.url, bobToB.descriptor.signingKey);
  const carol = await Member.create("carol", b.url, carolToB.descriptor.signingKey);

  // ---- 2. Alice creates the group on A and adds Bob and Carol (Welcomes to their inboxes on B).
  const group = await GroupSession.create(GROUP_NAME, alice, aliceToA, deps(routes.alice));
  const inboxes = [toHex(group.currentInboxId)];
  expect(await group.change({ add: [bob.card(), carol.card()] })).toEqual({
    status: "committed",
    epoch: 1n,
    attempts: 1,
  });
  inboxes.push(toHex(group.currentInboxId));

  // ---- 3. Bob and Carol join from their Welcomes, read on B through A.
  const join = async (member: Member, route: GroupDeps["route"]): Promise<GroupSession> => {
    const personal = await route(member.inbox.relay);
    const deadline = Date.now() + WAIT_MS;
    const problems: string[] = [];
    for (;;) {
      const found = await acceptInvitations(member, personal, deps(route));
      problems.push(...found.problems);
      if (found.joined.length > 0) {
        expect(problems).toEqual([]);
        expect(found.joined).toHaveLength(1);
        return found.joined[0]!;
      }
      if (Date.now() > deadline) throw new Error(`${member.name}'s Welcome never arrived`);
      await sleep(POLL_MS);
    }
  };
  const [bobGroup, carolGroup] = await Promise.all([
    join(bob, routes.bob),
    join(carol, routes.carol),
  ]);
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
  const aliceM: Participant = { name: "alice", session: group, events: [] };
  const bobM: Participant = { name: "bob", session: bobGroup, events: [] };
  const carolM: Participant = { name: "carol", session: carolGroup, events: [] };
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
  await chat(observer, [aliceM, bobM, carolM], firstTexts);

  // ---- 5. Bob and Carol commit in epoch 1 at the same moment; with retry, the loser's lands too.
  const race = commitBarrier([
    { name: "bob", client: await routes.bob(a.url) },
    { name: "carol", client: await routes.carol(a.url) },
  ]);
  const marks = new Map([aliceM, bobM, carolM].map((p) => [p.name, p.events.length]));
  const since = (p: Participant) => p.events.slice(marks.get(p.name));
  const [bobOutcome, carolOutcome] = await Promise.all([
    bobGroup.change({}),
    carolGroup.change({}),
  ]);
  const bobWon = bobOutcome.attempts === 1;
  const [winner, loser] = bobWon ? [bobM, carolM] : [carolM, bobM];
  const [won, lost] = bobWon ? [bobOutcome, carolOutcome] : [carolOutcome, bobOutcome];
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
    await readUntil(p, () => p.session.epoch === 3n, `${p.name} is at epoch 3`);
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
  expect(await group.change({ remove: ["carol"] })).toEqual({
    status: "committed",
    epoch: 4n,
    attempts: 1,
  });
  inboxes.push(toHex(group.currentInboxId));
  const bobMark = bobM.events.length;
  await readUntil(bobM, () => bobGroup.epoch === 4n, "bob has applied the removal");
  expect(bobM.events.slice(bobMark)).toEqual([
    { kind: "commit", epoch: 4n, committer: "alice", added: [], removed: ["carol"] },
  ]);
  const carolMark = carolM.events.length;
  await readUntil(carolM, () => carolGroup.removed, "carol has learnt of her removal");
  expect(carolM.events.slice(carolMark)).toEqual([
    { kind: "removed", epoch: 4n, committer: "alice" },
  ]);
  expect(group.members).toEqual(["alice", "bob"]);
  expect(bobGroup.members).toEqual(["alice", "bob"]);
  expect(toHex(bobGroup.treeHash)).toBe(toHex(group.treeHash));
  expect(toHex(bobGroup.currentInboxId)).toBe(inboxes[4]);

  // ---- 7. Alice and Bob chat on; Carol reads nothing and can neither send nor find the inbox.
  await chat(
    observer,
    [aliceM, bobM],
    new Map([
      ["alice", ["Carol is gone: this epoch's inbox is new.", "She cannot derive it."]],
      ["bob", ["Nor read anything in it.", "Only the two of us hold epoch four."]],
    ]),
  );
  expect(await carolGroup.sync()).toEqual([]);
  await expect(carolGroup.send("still here?")).rejects.toThrow("removed");
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
  // Alice's five messages and her two commits (and nothing else) reached A inside batches from B.
  expect((await forwardedDeposits(a)) - forwardedBefore).toBe(7);
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
