/**
 * The demo: two federated relays (providers A and B) and an MLS group across them, every step
 * checked, with what each relay's operator could see beside it.
 *
 * The story's steps live in ./story (one file each) so that tests can play the same story on
 * other relays (test/workers-node/mls-worker-node.test.ts plays it against a Worker relay). Alice
 * creates the group and adds Bob and Carol, they join from their Welcomes, everyone chats, Bob and
 * Carol commit at the same moment and the group converges on one commit, Alice removes Carol, and
 * Alice and Bob chat on while Carol reads nothing more. This file runs those steps in order on
 * two relays of its own, adds what only an operator's recorder can show (what each relay stored),
 * and afterwards searches both relays' stored state and the operator views for names, the
 * group's id and epochs, and times.
 */
import { toHex } from "../protocol/bytes.js";
import type { GroupSession } from "../client/mls/group-session.js";
import { COLUMNS_WIDTH, shortId, wrap } from "./demo-render.js";
import { startDemoRelays, type DemoBackend, type DemoRelays } from "./demo-relays.js";
import { DemoTranscript, type DemoStep } from "./demo-transcript.js";
import { checkWhatOperatorsSaw, storedItems, type StateSearch } from "./operator-checks.js";
import type { OperatorEvent } from "./operator-recorder.js";
import { acceptWelcomes } from "./story/accept-welcomes.js";
import { chat } from "./story/chat.js";
import { checkShutOut } from "./story/check-shut-out.js";
import { commitRace } from "./story/commit-race.js";
import { createGroup, GROUP_NAME } from "./story/create-group.js";
import { inviteMembers } from "./story/invite-members.js";
import { meetCast } from "./story/cast.js";
import { participant, readUntil } from "./story/participant.js";
import { removeMember } from "./story/remove-member.js";
import { sameState } from "./story/same-state.js";
import type { StoryContext } from "./story/story-context.js";

export { DemoError } from "./demo-error.js";
export type { DemoBackend } from "./demo-relays.js";

export interface DemoOptions {
  /** Default: the embedded in-memory store. */
  backend?: DemoBackend;
  /** Round length of both relays (default 150 ms). */
  roundMs?: number;
  /** Receives every line of output as soon as it is known. */
  log?: (line: string) => void;
  /** Output width; below 120 the columns are laid out one after another (default 120). */
  width?: number;
  /** Longest wait for one expected outcome (default 60 s: a busy machine is slow, not broken). */
  waitMs?: number;
}

export interface DemoResult {
  backend: "memory" | "redis";
  relays: { A: string; B: string };
  steps: DemoStep[];
  /** Every check that held, in order. */
  checks: string[];
  /** The MLS group id (hex), to search operator views and stored state for. */
  groupId: string;
  /** The group's inbox id in each epoch (full hex), as the members derived them. */
  epochInboxes: { epoch: number; inboxId: string }[];
  /** Every operator event of the run. */
  events: { A: OperatorEvent[]; B: OperatorEvent[] };
  stateSearches: StateSearch[];
  /** Every line printed. */
  lines: string[];
  elapsedMs: number;
}

const POLL_MS = 50;

const FIRST_TEXTS = new Map([
  ["alice", ["Welcome, both of you. The relays carry this but cannot read it."]],
  ["bob", ["Hi! My requests reach relay B only through relay A."]],
  ["carol", ["Same here, and relay A never learns which inbox is mine."]],
]);

const SECOND_TEXTS = new Map([
  ["alice", ["Carol is gone: this epoch's inbox is new and she cannot derive it."]],
  ["bob", ["Nor read anything in it. Only the two of us hold epoch three."]],
]);

/**
 * Runs the demo end to end and returns what happened; throws a DemoError at the first check
 * that fails (the steps so far have been logged). Relays, timers and Redis keys are cleaned up
 * either way.
 *
 * @example
 * const result = await runDemo({ backend: "memory", log: (line) => console.log(line) });
 * result.checks.length; // every check held
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const startedAt = Date.now();
  const backend = options.backend ?? "memory";
  const roundMs = options.roundMs ?? 150;
  const width = options.width ?? COLUMNS_WIDTH;
  const waitMs = options.waitMs ?? 60_000;
  const relays = await startDemoRelays({ backend, roundMs });
  const out = new DemoTranscript(relays, width, options.log ?? (() => undefined));
  try {
    return await scenario(relays, out, { roundMs, waitMs, width, startedAt });
  } finally {
    out.end();
    await relays.close();
  }
}

interface Settings {
  roundMs: number;
  waitMs: number;
  width: number;
  startedAt: number;
}

const hexInbox = (session: GroupSession) => toHex(session.currentInboxId);

async function scenario(
  relays: DemoRelays,
  out: DemoTranscript,
  settings: Settings,
): Promise<DemoResult> {
  const { a, b } = relays;
  const story: StoryContext = { log: out, waitMs: settings.waitMs, pollMs: POLL_MS };
  const storeName =
    relays.backend === "memory" ? "the embedded in-memory store" : "Redis (one prefix each)";
  const layout =
    settings.width >= COLUMNS_WIDTH
      ? "Left: what happened, as the members know it. Right: what each relay's operator could see"
      : "Each step: what happened, as the members know it, then what each relay's operator " +
        "could see";
  out.print(
    ...wrap(
      `Shroud demo: two federated relays, three members, one MLS group, on ${storeName}. ` +
        `${layout}, recorded from the relay's own request handling and storage calls.`,
      Math.min(settings.width, COLUMNS_WIDTH),
    ),
  );

  out.begin("two providers, three members");
  out.note(
    `provider A's relay: ${a.url}`,
    `provider B's relay: ${b.url}`,
    `each names the other as its peer; rounds of ${settings.roundMs} ms`,
  );
  const cast = await meetCast(story, { a: a.url, b: b.url });

  out.begin("alice creates the group, adds bob and carol");
  const group = await createGroup(story, cast);
  const inboxes = new Map<number, string>([[0, hexInbox(group)]]);
  await inviteMembers(story, cast, group);
  inboxes.set(1, hexInbox(group));

  out.begin("bob and carol join from their Welcomes");
  const joined = await acceptWelcomes(story, cast, group);
  const alice = participant("alice", group);
  const bob = participant("bob", joined.bob);
  const carol = participant("carol", joined.carol);

  out.begin("everyone chats");
  await chat(story, [alice, bob, carol], FIRST_TEXTS);

  out.begin("bob and carol commit at the same moment");
  const raceMark = a.recorder.mark();
  const { winner } = await commitRace(story, [bob, carol], { retry: false });
  await readUntil(story, alice, () => group.epoch === 2n, "alice has applied the winning commit");
  inboxes.set(2, hexInbox(group));
  out.check(
    alice.events.some((e) => e.kind === "commit" && e.epoch === 2n && e.committer === winner.name),
    `alice applied ${winner.name}'s commit`,
  );
  out.check(
    group.epoch === 2n && sameState(group, bob.session, carol.session),
    "all three converge: epoch 2, one tree hash, one inbox",
  );
  out.note(
    `all at epoch 2, tree hash ${toHex(group.treeHash).slice(0, 8)}…, inbox ${shortId(inboxes.get(2)!)}`,
  );
  const raceItems = storedItems(a, raceMark, inboxes.get(1)!);
  out.check(
    raceItems.length === 2,
    "relay A stored both commits as two items, like any deposit: it decided nothing",
    () => raceItems.map((i) => i.bytes).join(", "),
  );

  out.begin("alice removes carol");
  await removeMember(story, alice, carol, [bob]);
  inboxes.set(3, hexInbox(group));

  out.begin("alice and bob chat on; carol reads nothing");
  const carolSeen = new Set([inboxes.get(1), inboxes.get(2), hexInbox(carol.session)]);
  const chatMark = a.recorder.mark();
  await chat(story, [alice, bob], SECOND_TEXTS);
  await checkShutOut(story, carol);
  const appended = storedItems(a, chatMark, inboxes.get(3)!).length;
  out.check(
    appended === 2 && !carolSeen.has(inboxes.get(3)),
    `both messages went to inbox ${shortId(inboxes.get(3)!)}, which carol never learnt`,
    () => `${appended} items`,
  );

  out.begin("what the operators could and could not learn (operators: the whole run)", {
    wholeRun: true,
  });
  const stateSearches = await checkWhatOperatorsSaw(out, relays, {
    inboxes,
    buckets: cast.ingress.alice.descriptor.buckets,
    names: [cast.alice.name, cast.bob.name, cast.carol.name],
    groupName: GROUP_NAME,
    groupId: group.groupId,
    texts: [...FIRST_TEXTS.values(), ...SECOND_TEXTS.values()].flat(),
    members: [alice, bob, carol],
    startedAt: settings.startedAt,
  });
  out.end();

  const elapsedMs = Date.now() - settings.startedAt;
  out.print(
    "",
    `demo passed: ${out.checks.length} checks in ${(elapsedMs / 1000).toFixed(1)} s on ${
      relays.backend === "memory" ? "the embedded store" : "Redis"
    }`,
  );
  return {
    backend: relays.backend,
    relays: { A: a.url, B: b.url },
    steps: out.steps,
    checks: out.checks,
    groupId: toHex(group.groupId),
    epochInboxes: [...inboxes.entries()].map(([epoch, inboxId]) => ({ epoch, inboxId })),
    events: { A: a.recorder.events, B: b.recorder.events },
    stateSearches,
    lines: out.lines,
    elapsedMs,
  };
}
