/**
 * Five members commit at the same moment on one relay. The relay stores every commit like any
 * deposit; every member applies the first valid one in the epoch inbox's order, so exactly one
 * wins each epoch; the losers apply the winner's commit and (with retry) try again in the next
 * epoch. Everyone ends on the same epoch, tree and keys.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { ChangeOutcome, GroupSession } from "../../src/client/mls/group-session.js";
import { acceptInvitations } from "../../src/client/mls/accept-invitations.js";
import { Member } from "../../src/client/mls/member.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { startTestRelay, type TestRelay } from "../../testkit/test-relay.js";
import { buildGroup, hex, recordCommitDeposits, texts, type CommitDeposit } from "./support.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

const NAMES = ["alice", "bob", "carol", "dave", "erin"];

async function setup(names = NAMES, roundIntervalMs = 0) {
  relay = await startTestRelay({ roundIntervalMs });
  const client = await RelayClient.connect(relay.url, { shaping: ShapingProfiles.off });
  const recorder = recordCommitDeposits(client);
  const deps = { route: async () => client, pollMs: 5 };
  const roundClosed = () =>
    new Promise<void>((resolve) => setTimeout(resolve, 2 * roundIntervalMs));
  const group = await buildGroup(client, names, deps, "friends", roundClosed);
  await roundClosed();
  // Joiners start in the creator's epoch; nothing is waiting for anyone.
  for (const s of group.sessions) expect(await s.sync()).toEqual([]);
  recorder.log.length = 0;
  return { relay, client, deps, recorder, ...group };
}

/** Commit deposits per epoch inbox, in the order the inboxes were first used. */
function byInbox(log: CommitDeposit[]) {
  const inboxes = new Map<string, { accepted: number; other: number }>();
  for (const entry of log) {
    const counts = inboxes.get(entry.inbox) ?? { accepted: 0, other: 0 };
    if (entry.status === "accepted") counts.accepted++;
    else counts.other++;
    inboxes.set(entry.inbox, counts);
  }
  return inboxes;
}

/**
 * All racers commit for the first epoch (a gate holds them); a loser retries in the next epoch,
 * unless it reads that epoch's winning commit before its retry goes in (likelier on a busy
 * machine), and then it skips that epoch. So epoch i holds at most one commit per member still
 * wanting one (racers - i), at least the winner's, and every attempt is in some epoch's inbox.
 */
function expectRaceCounts(
  inboxes: Map<string, { accepted: number }>,
  racers: number,
  outcomes: ChangeOutcome[],
) {
  const counts = [...inboxes.values()].map((c) => c.accepted);
  expect(counts).toHaveLength(racers);
  expect(counts[0]).toBe(racers);
  for (const [i, c] of counts.entries()) {
    expect(c).toBeGreaterThanOrEqual(1);
    expect(c).toBeLessThanOrEqual(racers - i);
  }
  expect(counts.reduce((a, b) => a + b, 0)).toBe(outcomes.reduce((a, o) => a + o.attempts, 0));
}

/** Everyone on one epoch and tree, and every member reads every other member's message. */
async function expectConverged(sessions: GroupSession[], epoch: bigint) {
  for (const s of sessions) await s.sync();
  expect(sessions.map((s) => s.epoch)).toEqual(sessions.map(() => epoch));
  expect(new Set(sessions.map((s) => hex(s.treeHash))).size).toBe(1);
  expect(new Set(sessions.map((s) => hex(s.currentInboxId))).size).toBe(1);
  for (const s of sessions) await s.send(`from ${s.self} in ${epoch}`);
  for (const s of sessions) {
    const got = texts(await s.sync()).sort();
    const expected = sessions.filter((o) => o !== s).map((o) => `from ${o.self} in ${epoch}`);
    expect(got).toEqual(expected.sort());
  }
}

describe("commit race among five members on one relay", () => {
  it("retry on: one commit wins each epoch, each member commits once, all converge", async () => {
    const { recorder, sessions } = await setup();
    const start = sessions[0]!.epoch;
    // All five first commits are held until all five are ready: they all target one epoch.
    recorder.setGate(5);
    const outcomes = await Promise.all(sessions.map((s) => s.change({})));

    expect(outcomes.map((o) => o.status)).toEqual(NAMES.map(() => "committed"));
    // Each commit made its own epoch: five epochs, start+1 .. start+5.
    expect(outcomes.map((o) => o.epoch).sort()).toEqual([1n, 2n, 3n, 4n, 5n].map((n) => start + n));
    const attempts = outcomes.reduce((sum, o) => sum + o.attempts, 0);
    // In the first epoch everybody lost but one.
    expect(outcomes.filter((o) => o.attempts === 1)).toHaveLength(1);

    // The relay took every commit, each in the inbox of the epoch it was made for.
    const log = recorder.log;
    expect(log.every((e) => e.status === "accepted")).toBe(true);
    expect(log).toHaveLength(attempts);
    expectRaceCounts(byInbox(log), 5, outcomes);

    await expectConverged(sessions, start + 5n);
  });

  it("retry off: one committed, four superseded, all on the winner's epoch", async () => {
    const { recorder, sessions } = await setup();
    const start = sessions[0]!.epoch;
    recorder.setGate(5);
    const outcomes: ChangeOutcome[] = await Promise.all(
      sessions.map((s) => s.change({}, { retry: false })),
    );
    const statuses = outcomes.map((o) => o.status).sort();
    expect(statuses).toEqual(["committed", "superseded", "superseded", "superseded", "superseded"]);
    // The losers already applied the winner's commit before returning.
    for (const o of outcomes) expect(o).toMatchObject({ epoch: start + 1n, attempts: 1 });
    expect(sessions.map((s) => s.epoch)).toEqual(NAMES.map(() => start + 1n));
    expect(recorder.log.map((e) => e.status)).toEqual(NAMES.map(() => "accepted"));
    expect(new Set(recorder.log.map((e) => e.inbox)).size).toBe(1);
    await expectConverged(sessions, start + 1n);
  });

  it("racing adds and a remove: every wanted change lands once, joiners get one invitation", async () => {
    const { client, deps, recorder, sessions } = await setup();
    const [alice, bob, carol, dave, erin] = sessions as [
      GroupSession,
      GroupSession,
      GroupSession,
      GroupSession,
      GroupSession,
    ];
    const start = alice.epoch;
    const frank = await Member.create("frank", client.origin, undefined, 2);
    const grace = await Member.create("grace", client.origin, undefined, 2);
    recorder.setGate(4);
    const outcomes = await Promise.all([
      alice.change({ add: [frank.card()] }),
      bob.change({ add: [grace.card()] }),
      carol.change({ remove: ["erin"] }),
      // Dave wants frank too: whoever commits first, frank is added once.
      dave.change({ add: [frank.card()] }),
    ]);
    const statuses = outcomes.map((o) => o.status);
    expect(statuses.filter((s) => s === "committed").length).toBeGreaterThanOrEqual(3);
    // Alice and Dave wanted the same thing: exactly one of them made it.
    expect([statuses[0], statuses[3]].sort()).toEqual(["committed", "unchanged"]);
    expect(statuses[1]).toBe("committed");
    expect(statuses[2]).toBe("committed");
    const end = start + 3n;
    for (const s of [alice, bob, carol, dave]) await s.sync();
    expect([alice, bob, carol, dave].map((s) => s.epoch)).toEqual([end, end, end, end]);
    expect(alice.members.sort()).toEqual(["alice", "bob", "carol", "dave", "frank", "grace"]);
    expect(new Set([alice, bob, carol, dave].map((s) => hex(s.treeHash))).size).toBe(1);
    // Three changes landed, in three epochs' inboxes.
    expect(new Set(recorder.log.map((e) => e.inbox)).size).toBe(3);

    // Erin learns she was removed.
    expect(await erin.sync()).toContainEqual(expect.objectContaining({ kind: "removed" }));
    expect(erin.removed).toBe(true);

    // Frank and Grace each find exactly one invitation (a losing commit's Welcome never left),
    // join, and are in the group's current epoch.
    const joined: GroupSession[] = [];
    for (const m of [frank, grace]) {
      const page = await client.fetchAll(m.inbox);
      expect(page.status === "ok" && page.messages.length).toBe(1);
      const result = await acceptInvitations(m, client, deps);
      expect(result.problems).toEqual([]);
      expect(result.joined).toHaveLength(1);
      joined.push(result.joined[0]!);
    }
    // Grace joined before frank was added, or after: either way she catches up by syncing.
    for (const s of joined) await s.sync();
    await expectConverged([alice, bob, carol, dave, ...joined], end);
  });

  it("with 50 ms rounds: losers wait for the winning commit's round, then retry", async () => {
    const names = NAMES.slice(0, 4);
    const { relay, recorder, sessions } = await setup(names, 50);
    const start = sessions[0]!.epoch;
    recorder.setGate(4);
    const outcomes = await Promise.all(sessions.map((s) => s.change({})));
    expect(outcomes.map((o) => o.status)).toEqual(names.map(() => "committed"));
    expect(outcomes.map((o) => o.epoch).sort()).toEqual([1n, 2n, 3n, 4n].map((n) => start + n));
    expectRaceCounts(byInbox(recorder.log), 4, outcomes);
    await new Promise((resolve) => setTimeout(resolve, 120));
    for (const s of sessions) await s.sync();
    expect(sessions.map((s) => s.epoch)).toEqual(names.map(() => start + 4n));
    expect(new Set(sessions.map((s) => hex(s.treeHash))).size).toBe(1);
    expect(relay.ports.pool.pending).toBe(0);
  });
});
