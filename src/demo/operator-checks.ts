/**
 * The demo's checks on what the operators saw and hold: which relay saw which group inbox,
 * request and batch sizes, failures logged, and searches of stored state and operator views for
 * names, texts, the group id, epochs and times.
 */
import { PaddingPolicy } from "../protocol/padding-policy.js";
import type { Participant } from "./story/participant.js";
import type { DemoTranscript } from "./demo-transcript.js";
import type { DemoRelay, DemoRelays } from "./demo-relays.js";
import { operatorLines, shortId, size } from "./demo-render.js";
import type { OperatorEvent } from "./operator-recorder.js";
import {
  encodings,
  findNeedles,
  identityNeedles,
  timeNeedles,
  type Needle,
} from "./state-search.js";

/**
 * The items `relay` stored in `inbox` (full hex) in rounds closed since `mark`.
 *
 * @example
 * const mark = relays.a.recorder.mark();
 * // ... two commits ...
 * storedItems(relays.a, mark, inbox).length; // 2
 */
export function storedItems(relay: DemoRelay, mark: number, inbox: string) {
  return relay.recorder
    .since(mark)
    .flatMap((e) => (e.kind === "round" ? e.items : []))
    .filter((item) => item.inbox === inbox);
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

/** What the run leaves for the operators to be searched for. */
export interface RunSecrets {
  /** The group's inbox in each epoch (full hex). */
  inboxes: ReadonlyMap<number, string>;
  /** Bucket sizes every request body and answer must have. */
  buckets: readonly number[];
  names: string[];
  groupName: string;
  groupId: Uint8Array;
  texts: string[];
  /** Every member, with what its syncs reported. */
  members: Participant[];
  startedAt: number;
}

/**
 * Checks, over the whole run, what each relay's operator saw and holds; returns the searches of
 * both relays' stored state.
 *
 * @example
 * const stateSearches = await checkWhatOperatorsSaw(out, relays, secrets);
 */
export async function checkWhatOperatorsSaw(
  out: DemoTranscript,
  relays: DemoRelays,
  run: RunSecrets,
): Promise<StateSearch[]> {
  const { a, b } = relays;
  const inboxes = [...run.inboxes.values()];
  out.check(
    new Set(inboxes).size === inboxes.length,
    `the group's inbox changed every epoch: ${inboxes.map(shortId).join(" → ")}`,
  );
  const seenAt = (relay: DemoRelay, inbox: string) =>
    relay.recorder.events.some(
      (e) =>
        ("inbox" in e && e.inbox === inbox) ||
        (e.kind === "round" && e.items.some((i) => i.inbox === inbox)),
    );
  out.check(
    inboxes.every((inbox) => seenAt(a, inbox)),
    "relay A saw each epoch's inbox under an id of its own, derived from that epoch's secret",
  );
  out.note("(the timing of fetches can still hint that one client reads old and new inboxes)");
  out.check(
    inboxes.every((inbox) => !seenAt(b, inbox)),
    "relay B never saw a group inbox id (alice's traffic to A was sealed for A)",
  );
  const padding = new PaddingPolicy(run.buckets);
  for (const relay of [a, b]) {
    const posts = relay.recorder.events.filter(
      (e): e is Extract<OperatorEvent, { kind: "http-in" }> =>
        e.kind === "http-in" && e.path === "/v1/relay",
    );
    out.check(
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
    out.check(
      batches.length > 0 && batchSizes.size === 1,
      `relay ${relay.label}: all ${batches.length} batches in were one size (${size([...batchSizes][0] ?? 0)})`,
    );
    const logs = relay.recorder.events.filter((e) => e.kind === "log");
    out.check(logs.length === 0, `relay ${relay.label} logged no failures`, () =>
      logs.map((e) => (e.kind === "log" ? e.message : "")).join("; "),
    );
  }

  const identity = identityNeedles({
    names: run.names,
    texts: run.texts,
    groupName: run.groupName,
    groupId: run.groupId,
    epochs: [...run.inboxes.keys()].map(BigInt),
  });
  const times = timeNeedles(run.startedAt, Date.now());
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
    out.note(
      `searched relay ${relay.label}'s stored state (${state.what}; ${size(state.blob.length)})`,
    );
    out.check(
      found.length === 0,
      `relay ${relay.label}'s state: names, texts, group id, epochs, times not found`,
      () => found.join(", "),
    );
  }
  if (relays.backend === "redis") {
    out.note(
      "(times were not searched in BullMQ's job keys, which carry job timestamps by design)",
    );
  }
  out.note(
    `searched for: ${run.names.map((n) => `"${n}"`).join(", ")} (as MLS credentials and strings), ` +
      `the ${run.texts.length} texts, "${run.groupName}", the MLS group id and group id ‖ epoch 0-3 ` +
      "(raw, hex, base64), Unix times of the run (decimal and 64-bit)",
  );
  out.check(
    run.members.every((m) => !m.events.some((e) => e.kind === "unreadable")),
    "every item a member fetched opened under its epoch's key",
  );
  const peersOf = { A: new Map([[b.url, "B"]]), B: new Map([[a.url, "A"]]) };
  const allViews = [
    ...out.steps.flatMap((s) => [...s.operators.A, ...s.operators.B]),
    ...operatorLines(a.recorder.events, peersOf.A),
    ...operatorLines(b.recorder.events, peersOf.B),
  ].join("\n");
  const viewHits = [
    ...run.names.filter((n) => allViews.toLowerCase().includes(n)),
    ...(allViews.toLowerCase().includes(run.groupName) ? [run.groupName] : []),
    ...findNeedles(Buffer.from(allViews), [
      { what: "the MLS group id", forms: encodings(run.groupId) },
    ]),
  ];
  out.check(viewHits.length === 0, "the operator views name no member, group or group id", () =>
    viewHits.join(", "),
  );
  return stateSearches;
}
