/**
 * The demo: two federated relays (providers A and B) and an MLS group across them, every step
 * checked, with what each relay's operator could see beside it.
 *
 * Alice's personal inbox is on A, Bob's and Carol's on B; the group's epoch inboxes live on A.
 * Every member reaches relays only through the other provider's relay: Alice through B (her
 * deposits to A, commits included, are forwarded in B's batches, her fetches proxied), Bob and Carol
 * through A (their personal inboxes on B are read through A). Alice creates the group and adds
 * Bob and Carol, they join from their Welcomes, everyone chats, Bob and Carol commit at the same
 * moment and the group converges on one commit, Alice removes Carol, and Alice and Bob chat on
 * while Carol reads nothing more. Afterwards both relays' stored state and the operator views
 * are searched for names, the group's id and epochs, and times.
 */
import { acceptInvitations } from "../client/mls/accept-invitations.js";
import {
  GroupSession,
  type ChangeOutcome,
  type GroupChange,
  type GroupDeps,
  type GroupEvent,
} from "../client/mls/group-session.js";
import { Member } from "../client/mls/member.js";
import { ingressRouter } from "../client/ingress-router.js";
import { RelayClient } from "../client/relay-client.js";
import { toHex } from "../protocol/bytes.js";
import { GroupError } from "../client/errors.js";
import { PaddingPolicy } from "../protocol/padding-policy.js";
import { COLUMNS_WIDTH, operatorLines, renderStep, shortId, size, wrap } from "./demo-render.js";
import {
  DemoError,
  startDemoRelays,
  type DemoBackend,
  type DemoRelay,
  type DemoRelays,
} from "./demo-relays.js";
import type { OperatorEvent } from "./operator-recorder.js";
import {
  encodings,
  findNeedles,
  identityNeedles,
  timeNeedles,
  type Needle,
} from "./state-search.js";
import { ShapingProfiles } from "../client/shaping-profile.js";

export { DemoError, type DemoBackend } from "./demo-relays.js";

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

export interface DemoStep {
  title: string;
  transcript: string[];
  /** Each operator's view of the step, as printed. */
  operators: { A: string[]; B: string[] };
  /** The operator events behind those views. */
  events: { A: OperatorEvent[]; B: OperatorEvent[] };
}

/** A search of one relay's stored state. */
export interface StateSearch {
  relay: "A" | "B";
  /** What was searched (which stores). */
  what: string;
  bytes: number;
  /** What was looked for. */
  searched: string[];
  /** What turned up (the demo fails when this is not empty). */
  found: string[];
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

const GROUP_NAME = "hiking-club";
const POLL_MS = 50;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const same = (x: Uint8Array, y: Uint8Array) => toHex(x) === toHex(y);

/** Collects a step's transcript and checks, and the operator events while it runs. */
class Steps {
  readonly steps: DemoStep[] = [];
  readonly checks: string[] = [];
  readonly lines: string[] = [];
  #open: { title: string; transcript: string[]; marks: { A: number; B: number } } | undefined;

  constructor(
    private readonly relays: DemoRelays,
    private readonly width: number,
    private readonly log: (line: string) => void,
  ) {}

  print(...lines: string[]): void {
    for (const l of lines) {
      this.lines.push(l);
      this.log(l);
    }
  }

  /** Starts a step; its operator views cover the step, or with `wholeRun` everything so far. */
  begin(title: string, options: { wholeRun?: boolean } = {}): void {
    if (this.#open) this.end();
    const { a, b } = this.relays;
    this.#open = {
      title: `${this.steps.length + 1}. ${title}`,
      transcript: [],
      marks: options.wholeRun ? { A: 0, B: 0 } : { A: a.recorder.mark(), B: b.recorder.mark() },
    };
  }

  note(...lines: string[]): void {
    this.#open?.transcript.push(...lines);
  }

  /** Throws a DemoError naming the check unless `ok`; otherwise notes it as passed. */
  check(ok: boolean, description: string, detail?: () => string): void {
    if (!ok) {
      this.note(`✗ ${description}`);
      this.end();
      throw new DemoError(`check failed: ${description}${detail ? ` (${detail()})` : ""}`);
    }
    this.checks.push(description);
    this.note(`✓ ${description}`);
  }

  /** Ends the open step (if any): its operator views are the events since it began. */
  end(): void {
    const open = this.#open;
    if (!open) return;
    this.#open = undefined;
    const { a, b } = this.relays;
    const events = { A: a.recorder.since(open.marks.A), B: b.recorder.since(open.marks.B) };
    const operators = {
      A: operatorLines(events.A, new Map([[b.url, "B"]])),
      B: operatorLines(events.B, new Map([[a.url, "A"]])),
    };
    this.steps.push({ title: open.title, transcript: open.transcript, operators, events });
    this.print(...renderStep(open.title, open.transcript, operators, this.width));
  }
}

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
  const out = new Steps(relays, width, options.log ?? (() => undefined));
  try {
    const result = await scenario(relays, out, { roundMs, waitMs, width, startedAt });
    return result;
  } finally {
    out.end();
    await relays.close();
  }
}

/** A member in the group, and every event its syncs reported. */
interface Participant {
  name: string;
  session: GroupSession;
  events: GroupEvent[];
}

interface Settings {
  roundMs: number;
  waitMs: number;
  width: number;
  startedAt: number;
}

async function scenario(relays: DemoRelays, out: Steps, settings: Settings): Promise<DemoResult> {
  const { a, b } = relays;
  const { waitMs } = settings;
  const check = out.check.bind(out);
  const note = out.note.bind(out);
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

  // ---- 1. Providers and members -------------------------------------------------------------
  out.begin("two providers, three members");
  note(
    `provider A's relay: ${a.url}`,
    `provider B's relay: ${b.url}`,
    `each names the other as its peer; rounds of ${settings.roundMs} ms`,
  );
  const aliceIngress = await RelayClient.connect(b.url, { shaping: ShapingProfiles.off });
  const bobIngress = await RelayClient.connect(a.url, { shaping: ShapingProfiles.off });
  const carolIngress = await RelayClient.connect(a.url, { shaping: ShapingProfiles.off });
  const routes = {
    alice: ingressRouter(aliceIngress),
    bob: ingressRouter(bobIngress),
    carol: ingressRouter(carolIngress),
  };
  const deps = (route: GroupDeps["route"]): GroupDeps => ({
    route,
    pollMs: POLL_MS,
    commitWaitMs: waitMs,
  });
  /** A change, with a commit that never shows in time reported as the demo's own failure. */
  const change = async (
    session: GroupSession,
    what: GroupChange,
    options?: { retry?: boolean },
  ): Promise<ChangeOutcome> => {
    try {
      return await session.change(what, options);
    } catch (error) {
      if (error instanceof GroupError && /in time/.test(error.message)) {
        throw new DemoError(`timed out waiting until a commit decided epoch ${session.epoch}`);
      }
      throw error;
    }
  };
  // Each member learns the other relay's signing key through its ingress relay (peer_descriptor).
  const aliceToA = await routes.alice(a.url);
  const bobToB = await routes.bob(b.url);
  const carolToB = await routes.carol(b.url);
  check(
    aliceToA.via === aliceIngress && bobToB.via === bobIngress && carolToB.via === carolIngress,
    "each member reaches the other provider's relay only through its ingress relay",
  );
  const alice = await Member.create("alice", a.url, aliceToA.descriptor.signingKey);
  const bob = await Member.create("bob", b.url, bobToB.descriptor.signingKey);
  const carol = await Member.create("carol", b.url, carolToB.descriptor.signingKey);
  note(
    "alice: personal inbox on A; talks to B only (A through B)",
    "bob, carol: personal inboxes on B; talk to A only (B through A)",
  );

  // ---- 2. Alice creates the group and adds Bob and Carol ------------------------------------
  out.begin("alice creates the group, adds bob and carol");
  const group = await GroupSession.create(GROUP_NAME, alice, aliceToA, deps(routes.alice));
  const inboxes = new Map<number, string>([[0, toHex(group.currentInboxId)]]);
  note(`alice creates "${GROUP_NAME}" on A: epoch 0, inbox ${shortId(inboxes.get(0)!)}`);
  const added = await change(group, { add: [bob.card(), carol.card()] });
  inboxes.set(1, toHex(group.currentInboxId));
  note(
    `alice commits "add bob, carol" (forwarded through B) → epoch 1, inbox ${shortId(inboxes.get(1)!)}`,
    "Welcomes go sealed to bob's and carol's personal inboxes on B",
  );
  check(added.status === "committed" && group.epoch === 1n, "alice's commit won epoch 0", () =>
    JSON.stringify({ ...added, epoch: String(added.epoch), now: String(group.epoch) }),
  );

  // ---- 3. Bob and Carol join -----------------------------------------------------------------
  out.begin("bob and carol join from their Welcomes");
  const join = async (member: Member, route: GroupDeps["route"]): Promise<GroupSession> => {
    const personal = await route(member.inbox.relay);
    const deadline = Date.now() + waitMs;
    const problems: string[] = [];
    for (;;) {
      const found = await acceptInvitations(member, personal, deps(route));
      problems.push(...found.problems);
      if (found.joined.length > 0) {
        check(
          found.joined.length === 1 && problems.length === 0,
          `${member.name} found one good invitation and joined`,
          () => [`${found.joined.length} joined`, ...problems].join("; "),
        );
        return found.joined[0]!;
      }
      if (Date.now() > deadline) throw new DemoError(`${member.name}'s Welcome never arrived`);
      await sleep(POLL_MS);
    }
  };
  const [bobGroup, carolGroup] = await Promise.all([
    join(bob, routes.bob),
    join(carol, routes.carol),
  ]);
  note("bob and carol read their personal inboxes on B through A and join at epoch 1");
  for (const [name, session] of [
    ["bob", bobGroup],
    ["carol", carolGroup],
  ] as const) {
    check(
      session.epoch === 1n &&
        same(session.treeHash, group.treeHash) &&
        same(session.currentInboxId, group.currentInboxId),
      `${name} is at alice's epoch, tree hash and inbox`,
    );
  }
  check(
    [group, bobGroup, carolGroup].every((s) => s.members.join() === "alice,bob,carol"),
    "every member sees alice, bob and carol",
  );

  // ---- 4. They chat --------------------------------------------------------------------------
  out.begin("everyone chats");
  const aliceM: Participant = { name: "alice", session: group, events: [] };
  const bobM: Participant = { name: "bob", session: bobGroup, events: [] };
  const carolM: Participant = { name: "carol", session: carolGroup, events: [] };
  const members = [aliceM, bobM, carolM];
  const readUntil = async (
    member: Participant,
    done: () => boolean,
    what: string,
  ): Promise<void> => {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const events = await member.session.sync();
      member.events.push(...events);
      const bad = events.find((e) => e.kind === "unreadable");
      if (bad?.kind === "unreadable") {
        throw new DemoError(`${member.name} met an item it could not read (${bad.reason})`);
      }
      if (done()) return;
      if (Date.now() > deadline) throw new DemoError(`timed out waiting until ${what}`);
      await sleep(POLL_MS);
    }
  };
  const received = (member: Participant, sender: string, text: string) =>
    member.events.some((e) => e.kind === "message" && e.sender === sender && e.text === text);
  const chat = async (speakers: Participant[], texts: Map<string, string>) => {
    for (const speaker of speakers) {
      await speaker.session.send(texts.get(speaker.name)!);
      note(`${speaker.name}: "${texts.get(speaker.name)}"`);
    }
    await Promise.all(
      speakers.map((reader) =>
        readUntil(
          reader,
          () => speakers.every((s) => s === reader || received(reader, s.name, texts.get(s.name)!)),
          `${reader.name} has read the others' messages`,
        ),
      ),
    );
    // readUntil came back for every reader, so each has read every other speaker.
    for (const reader of speakers) {
      const others = speakers.filter((s) => s !== reader).map((s) => s.name);
      check(true, `${reader.name} read ${others.join(" and ")}`);
    }
  };
  const firstTexts = new Map([
    ["alice", "Welcome, both of you. The relays carry this but cannot read it."],
    ["bob", "Hi! My requests reach relay B only through relay A."],
    ["carol", "Same here, and relay A never learns which inbox is mine."],
  ]);
  await chat(members, firstTexts);

  // ---- 5. Bob and Carol commit at the same moment ------------------------------------------
  out.begin("bob and carol commit at the same moment");
  note(`bob and carol each commit a key update into ${shortId(inboxes.get(1)!)} at once`);
  const raceMark = relays.a.recorder.mark();
  const outcomes = await Promise.all([
    change(bobGroup, {}, { retry: false }),
    change(carolGroup, {}, { retry: false }),
  ]);
  const [bobOutcome, carolOutcome] = outcomes as [ChangeOutcome, ChangeOutcome];
  const statuses = [bobOutcome.status, carolOutcome.status];
  check(
    [...statuses].sort().join() === "committed,superseded",
    "exactly one commit won; the other was superseded",
    () => statuses.join(", "),
  );
  const [winner, loser] = bobOutcome.status === "committed" ? [bobM, carolM] : [carolM, bobM];
  note(
    `both commits went into the epoch's inbox as ordinary deposits`,
    `${winner.name}'s came first in the inbox's order: every member applied it (committed)`,
    `${loser.name}'s came after it: superseded; ${loser.name} applied ${winner.name}'s commit`,
  );
  await readUntil(aliceM, () => group.epoch === 2n, "alice has applied the winning commit");
  inboxes.set(2, toHex(group.currentInboxId));
  check(
    aliceM.events.some((e) => e.kind === "commit" && e.epoch === 2n && e.committer === winner.name),
    `alice applied ${winner.name}'s commit`,
  );
  check(
    [group, bobGroup, carolGroup].every(
      (s) =>
        s.epoch === 2n &&
        same(s.treeHash, group.treeHash) &&
        same(s.currentInboxId, group.currentInboxId),
    ),
    "all three converge: epoch 2, one tree hash, one inbox",
  );
  note(
    `all at epoch 2, tree hash ${toHex(group.treeHash).slice(0, 8)}…, inbox ${shortId(inboxes.get(2)!)}`,
  );
  const raceItems = relays.a.recorder
    .since(raceMark)
    .flatMap((e) => (e.kind === "round" ? e.items : []))
    .filter((item) => item.inbox === inboxes.get(1));
  check(
    raceItems.length === 2,
    "relay A stored both commits as two items, like any deposit: it decided nothing",
    () => raceItems.map((i) => i.bytes).join(", "),
  );

  // ---- 6. Alice removes Carol ------------------------------------------------------------------
  out.begin("alice removes carol");
  const removal = await change(group, { remove: ["carol"] });
  inboxes.set(3, toHex(group.currentInboxId));
  note(`alice commits "remove carol" → epoch 3, inbox ${shortId(inboxes.get(3)!)}`);
  check(
    removal.status === "committed" && group.epoch === 3n,
    "alice's removal committed",
    () => removal.status,
  );
  await readUntil(bobM, () => bobGroup.epoch === 3n, "bob has applied the removal");
  check(
    bobM.events.some(
      (e) =>
        e.kind === "commit" &&
        e.epoch === 3n &&
        e.committer === "alice" &&
        e.removed.join() === "carol",
    ),
    "bob saw alice remove carol",
  );
  await readUntil(carolM, () => carolGroup.removed, "carol has learnt of her removal");
  check(
    carolM.events.some((e) => e.kind === "removed" && e.committer === "alice"),
    "carol's sync reports that alice removed her",
  );
  check(
    group.members.join() === "alice,bob" && bobGroup.members.join() === "alice,bob",
    "alice and bob see only alice and bob",
  );
  check(
    same(bobGroup.treeHash, group.treeHash) && same(bobGroup.currentInboxId, group.currentInboxId),
    "alice and bob share epoch 3's tree hash and inbox",
  );

  // ---- 7. Alice and Bob chat on; Carol reads nothing -------------------------------------------
  out.begin("alice and bob chat on; carol reads nothing");
  const carolSeen = new Set([inboxes.get(1), inboxes.get(2), toHex(carolGroup.currentInboxId)]);
  const secondTexts = new Map([
    ["alice", "Carol is gone: this epoch's inbox is new and she cannot derive it."],
    ["bob", "Nor read anything in it. Only the two of us hold epoch three."],
  ]);
  const stepMark = relays.a.recorder.mark();
  await chat([aliceM, bobM], secondTexts);
  const carolBefore = carolM.events.length;
  carolM.events.push(...(await carolGroup.sync()));
  check(
    !carolM.events.slice(carolBefore).some((e) => e.kind === "message"),
    "carol's sync returns none of the later messages",
  );
  let refused = false;
  try {
    await carolGroup.send("still here?");
  } catch {
    refused = true;
  }
  check(refused, "carol can no longer send to the group");
  const appended = relays.a.recorder
    .since(stepMark)
    .flatMap((e) => (e.kind === "round" ? e.items : []))
    .filter((i) => i.inbox === inboxes.get(3)).length;
  check(
    appended === 2 && !carolSeen.has(inboxes.get(3)),
    `both messages went to inbox ${shortId(inboxes.get(3)!)}, which carol never learnt`,
    () => `${appended} items`,
  );

  // ---- 8. What the relays hold ----------------------------------------------------------------
  out.begin("what the operators could and could not learn (operators: the whole run)", {
    wholeRun: true,
  });
  const epochInboxes = [...inboxes.entries()].map(([epoch, inboxId]) => ({ epoch, inboxId }));
  check(
    new Set(inboxes.values()).size === inboxes.size,
    `the group's inbox changed every epoch: ${[...inboxes.values()].map(shortId).join(" → ")}`,
  );
  const seenAt = (relay: DemoRelay, inbox: string) =>
    relay.recorder.events.some(
      (e) =>
        ("inbox" in e && e.inbox === inbox) ||
        (e.kind === "round" && e.items.some((i) => i.inbox === inbox)),
    );
  check(
    [...inboxes.values()].every((inbox) => seenAt(a, inbox)),
    "relay A saw each epoch's inbox under an id of its own, derived from that epoch's secret",
  );
  note("(the timing of fetches can still hint that one client reads old and new inboxes)");
  check(
    [...inboxes.values()].every((inbox) => !seenAt(b, inbox)),
    "relay B never saw a group inbox id (alice's traffic to A was sealed for A)",
  );
  const padding = new PaddingPolicy(aliceIngress.descriptor.buckets);
  for (const relay of [a, b]) {
    const posts = relay.recorder.events.filter(
      (e): e is Extract<OperatorEvent, { kind: "http-in" }> =>
        e.kind === "http-in" && e.path === "/v1/relay",
    );
    check(
      posts.length > 0 &&
        posts.every((e) => padding.isBucket(e.bytes) && padding.isBucket(e.answerBytes)),
      `relay ${relay.label}: all ${posts.length} request bodies and answers were bucket sizes`,
      () => posts.map((e) => `${e.bytes}/${e.answerBytes}`).join(" "),
    );
    const batches = relay.recorder.events.filter(
      (e): e is Extract<OperatorEvent, { kind: "http-in" }> =>
        e.kind === "http-in" && e.path === "/v1/federation",
    );
    const batchSizes = new Set(batches.map((e) => e.bytes));
    check(
      batches.length > 0 && batchSizes.size === 1,
      `relay ${relay.label}: all ${batches.length} batches in were one size (${size([...batchSizes][0] ?? 0)})`,
    );
    const logs = relay.recorder.events.filter((e) => e.kind === "log");
    check(logs.length === 0, `relay ${relay.label} logged no failures`, () =>
      logs.map((e) => (e.kind === "log" ? e.message : "")).join("; "),
    );
  }

  const names = ["alice", "bob", "carol"];
  const texts = [...firstTexts.values(), ...secondTexts.values()];
  const groupId = group.groupId;
  const identity = identityNeedles({
    names,
    texts,
    groupName: GROUP_NAME,
    groupId,
    epochs: [0n, 1n, 2n, 3n],
  });
  const times = timeNeedles(settings.startedAt, Date.now());
  const stateSearches: StateSearch[] = [];
  for (const relay of [a, b]) {
    const state = await relay.storedState();
    const found = [...findNeedles(state.blob, identity), ...findNeedles(state.timeless, [times])];
    const searched = [...identity, times].map((n: Needle) => n.what);
    stateSearches.push({
      relay: relay.label,
      what: state.what,
      bytes: state.blob.length,
      searched,
      found,
    });
    note(
      `searched relay ${relay.label}'s stored state (${state.what}; ${size(state.blob.length)})`,
    );
    check(
      found.length === 0,
      `relay ${relay.label}'s state: names, texts, group id, epochs, times not found`,
      () => found.join(", "),
    );
  }
  if (relays.backend === "redis") {
    note("(times were not searched in BullMQ's job keys, which carry job timestamps by design)");
  }
  note(
    `searched for: ${names.map((n) => `"${n}"`).join(", ")} (as MLS credentials and strings), ` +
      `the ${texts.length} texts, "${GROUP_NAME}", the MLS group id and group id ‖ epoch 0-3 ` +
      "(raw, hex, base64), Unix times of the run (decimal and 64-bit)",
  );
  check(
    members.every((m) => !m.events.some((e) => e.kind === "unreadable")),
    "every item a member fetched opened under its epoch's key",
  );
  const peersOf = { A: new Map([[b.url, "B"]]), B: new Map([[a.url, "A"]]) };
  const allViews = [
    ...out.steps.flatMap((s) => [...s.operators.A, ...s.operators.B]),
    ...operatorLines(a.recorder.events, peersOf.A),
    ...operatorLines(b.recorder.events, peersOf.B),
  ].join("\n");
  const viewHits = [
    ...names.filter((n) => allViews.toLowerCase().includes(n)),
    ...(allViews.toLowerCase().includes(GROUP_NAME) ? [GROUP_NAME] : []),
    ...findNeedles(Buffer.from(allViews), [
      { what: "the MLS group id", forms: encodings(groupId) },
    ]),
  ];
  check(viewHits.length === 0, "the operator views name no member, group or group id", () =>
    viewHits.join(", "),
  );
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
    groupId: toHex(groupId),
    epochInboxes,
    events: { A: a.recorder.events, B: b.recorder.events },
    stateSearches,
    lines: out.lines,
    elapsedMs,
  };
}
