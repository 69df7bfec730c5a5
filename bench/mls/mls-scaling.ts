/**
 * Work per group message against group size. For each size: a fresh group on relay C (direct;
 * a relay without federation, so its CPU time is the group's traffic and its own timers),
 * its creator adding everyone else in one commit (timed as ts-mls alone on a state copy, and as
 * Shroud's change()); one member joins as the measured receiver; the creator sends `messages`
 * messages one after another, the relay's work over that window is read, then the receiver
 * fetches and opens them all in one sync(). Last, ts-mls alone encrypts and decrypts on copies of
 * the two states.
 */
import { cpuUsage } from "node:process";
import { setTimeout as sleep } from "node:timers/promises";
import { GroupSession, type GroupDeps } from "../../src/client/mls/group-session.js";
import type { RelayClient } from "../../src/client/relay-client.js";
import { joinOne, newMembers } from "./mls-group.js";
import { addCommitCost, messageCost, stateCopy, type AddCommitCost } from "./mls-raw.js";
import { oneRelayWindow, type MlsRelay, type RelayDelta } from "./mls-relay-pair.js";
import { ascending } from "../common/percentile.js";

export interface ScalingOptions {
  sizes: readonly number[];
  /** Messages the creator sends per size (after a few unmeasured ones). */
  messages: number;
  /** Messages ts-mls encrypts and decrypts alone per size. */
  rawMessages: number;
  messageBytes: number;
  /** The relay's round interval. */
  roundMs: number;
}

export interface RelayWindowResult {
  relay: RelayDelta;
  /** Wall time between the two stats readings (to subtract the idle CPU rate). */
  windowMs: number;
}

export interface SizeResult {
  size: number;
  /** Absent for size 1 (nobody to add). */
  add?: {
    raw: AddCommitCost;
    /** Wall time of change({ add }): commit, invitations sealed and deposited, one by one. */
    changeMs: number;
    /** The relay from just before change() until its round delivered everything. */
    relay: RelayWindowResult;
    /** Wall time of the receiver's acceptInvitations (fetch, open, join). */
    joinMs: number;
  };
  messages: number;
  send: {
    /** send() durations, ms, ascending. */
    ms: Float64Array;
    clientCpuMs: number;
    relay: RelayWindowResult;
  };
  /** Absent for size 1 (nobody to receive). */
  receive?: {
    syncMs: number;
    clientCpuMs: number;
    received: number;
    relay: RelayWindowResult;
  };
  raw: { encryptMs: Float64Array; decryptMs: Float64Array; messageBytes: number };
}

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = cpuUsage(start);
  return (used.user + used.system) / 1000;
}

async function measured<T>(
  relay: MlsRelay,
  settleMs: number,
  run: () => Promise<T>,
): Promise<{ value: T; relay: RelayWindowResult }> {
  const window = await oneRelayWindow(relay);
  const started = performance.now();
  const value = await run();
  await sleep(settleMs);
  const delta = await window.done();
  return { value, relay: { relay: delta, windowMs: performance.now() - started } };
}

async function measureSize(
  size: number,
  relay: MlsRelay,
  home: RelayClient,
  deps: GroupDeps,
  options: ScalingOptions,
): Promise<SizeResult> {
  const prefix = `size${size}`;
  const settleMs = 2 * options.roundMs;
  const members = await newMembers(size - 1, prefix, home);
  const creator = await GroupSession.create(prefix, { name: `${prefix}-0` }, home, deps);
  const message = "x".repeat(options.messageBytes);
  let add: SizeResult["add"];
  let receiver: GroupSession | undefined;
  if (size > 1) {
    const cards = members.map((m) => m.card());
    const raw = await addCommitCost(stateCopy(creator), cards);
    let changeMs = 0;
    const { relay: window } = await measured(relay, settleMs, async () => {
      const started = performance.now();
      const outcome = await creator.change({ add: cards });
      changeMs = performance.now() - started;
      if (outcome.status !== "committed") throw new Error(`bench: add ${outcome.status}`);
    });
    const started = performance.now();
    receiver = await joinOne(members[0]!, home, deps);
    add = { raw, changeMs, relay: window, joinMs: performance.now() - started };
  }
  // Unmeasured warm-up: the receiver's first message from this sender derives its ratchet.
  for (let i = 0; i < 3; i++) await creator.send(message);
  await sleep(settleMs);
  await receiver?.sync();

  const sendMs: number[] = [];
  let clientCpuMs = 0;
  const sending = await measured(relay, settleMs, async () => {
    const cpu0 = cpuUsage();
    for (let i = 0; i < options.messages; i++) {
      const t0 = performance.now();
      await creator.send(message);
      sendMs.push(performance.now() - t0);
    }
    clientCpuMs = cpuMsSince(cpu0);
  });

  let receive: SizeResult["receive"];
  if (receiver) {
    const session = receiver;
    let syncMs = 0;
    let syncCpuMs = 0;
    let received = 0;
    const { relay: window } = await measured(relay, 0, async () => {
      const cpu0 = cpuUsage();
      const started = performance.now();
      const events = await session.sync();
      syncMs = performance.now() - started;
      syncCpuMs = cpuMsSince(cpu0);
      received = events.filter((e) => e.kind === "message").length;
    });
    receive = { syncMs, clientCpuMs: syncCpuMs, received, relay: window };
  }

  const cost = await messageCost(
    stateCopy(creator),
    receiver ? stateCopy(receiver) : undefined,
    options.rawMessages,
    options.messageBytes,
  );
  return {
    size,
    ...(add ? { add } : {}),
    messages: options.messages,
    send: { ms: ascending(sendMs), clientCpuMs, relay: sending.relay },
    ...(receive ? { receive } : {}),
    raw: {
      encryptMs: ascending(cost.encryptMs),
      decryptMs: ascending(cost.decryptMs),
      messageBytes: cost.messageBytes,
    },
  };
}

/**
 * @example const rows = await measureScaling(relayC, clientC, deps, { sizes: [1, 10, 50, 200], ... });
 */
export async function measureScaling(
  relay: MlsRelay,
  home: RelayClient,
  deps: GroupDeps,
  options: ScalingOptions,
): Promise<SizeResult[]> {
  const results: SizeResult[] = [];
  for (const size of options.sizes) {
    results.push(await measureSize(size, relay, home, deps, options));
  }
  return results;
}
