/**
 * Group messages flowing through the relays: some members send, some others (the measured
 * receivers) sync in a loop, each pausing `pollMs` between syncs. A message counts once every
 * measured receiver got it. Latency is from the send() call to the return of the receiver's
 * sync() that delivered it, one sample per message and receiver.
 */
import { cpuUsage } from "node:process";
import { setTimeout as sleep } from "node:timers/promises";
import type { GroupSession } from "../../src/client/mls/group-session.js";
import { machineWindow, type MachineUse } from "./mls-machine.js";
import { relayWindow, type MlsRelayPair, type RelayDelta } from "./mls-relay-pair.js";
import { ascending } from "../common/percentile.js";

export interface FlowOptions {
  senders: readonly GroupSession[];
  receivers: readonly GroupSession[];
  /** How long the senders send. */
  seconds: number;
  /** Paced: one send every paceMs, senders taking turns. Absent: each sender back to back. */
  paceMs?: number;
  /** Pause between a receiver's syncs. */
  pollMs: number;
  /** Longest wait after the last send for the receivers to catch up. */
  drainMs: number;
  /** Application data bytes per message. */
  messageBytes: number;
}

export interface FlowResult {
  sent: number;
  sendErrors: number;
  firstError: string | undefined;
  /** Messages every measured receiver got. */
  deliveredToAll: number;
  /** From the first send() call until the last send() returned. */
  sendWindowMs: number;
  /** From the first send() call until the last receiver got the last counted message. */
  windowMs: number;
  /** deliveredToAll per second of windowMs. */
  perSecond: number;
  /** send() durations, ms, ascending. */
  sendMs: Float64Array;
  /** End-to-end latencies, ms, ascending (one per message and receiver). */
  latencyMs: Float64Array;
  /** Receivers' sync() calls and the events they reported as unreadable. */
  syncs: number;
  unreadable: number;
  /** What relays A and B did from the first send until the receivers stopped. */
  relays: { a: RelayDelta; b: RelayDelta };
  /** CPU time of the bench process itself (every client), ms. */
  clientCpuMs: number;
  /** The whole machine over the same window (other people's processes included). */
  machine: MachineUse | undefined;
}

/** Flows run so far: message ids carry it, so a late message of an earlier flow never counts. */
let flows = 0;

function text(flow: number, sender: number, seq: number, bytes: number): string {
  const id = `f${flow}s${sender}n${seq}`;
  return `${id} `.padEnd(bytes, ".");
}

function idOf(text: string): string {
  return text.slice(0, text.indexOf(" "));
}

/**
 * @example const result = await runFlow(pair, { senders, receivers, seconds: 3, pollMs: 20, ... });
 */
export async function runFlow(pair: MlsRelayPair, options: FlowOptions): Promise<FlowResult> {
  // Receivers start caught up, so what they fetch is this flow's.
  for (const receiver of options.receivers) await receiver.sync();
  const sentAt = new Map<string, number>();
  const sendMs: number[] = [];
  const got = options.receivers.map(() => new Map<string, number>());
  let sendErrors = 0;
  let firstError: string | undefined;
  let syncs = 0;
  let unreadable = 0;
  let receiving = true;

  const window = await relayWindow(pair);
  const machine = machineWindow();
  const cpu0 = cpuUsage();
  const start = performance.now();
  const deadline = start + options.seconds * 1000;
  let seq = 0;
  const flow = ++flows;

  const sendOne = async (sender: number) => {
    const message = text(flow, sender, seq++, options.messageBytes);
    const t0 = performance.now();
    sentAt.set(idOf(message), t0);
    try {
      await options.senders[sender]!.send(message);
      sendMs.push(performance.now() - t0);
    } catch (error) {
      sendErrors += 1;
      firstError ??= error instanceof Error ? error.message : String(error);
    }
  };

  const receiverLoops = options.receivers.map(async (receiver, r) => {
    const mine = got[r]!;
    while (receiving) {
      const events = await receiver.sync();
      const now = performance.now();
      syncs += 1;
      for (const event of events) {
        if (event.kind === "unreadable") unreadable += 1;
        if (event.kind !== "message") continue;
        const id = idOf(event.text);
        if (sentAt.has(id) && !mine.has(id)) mine.set(id, now);
      }
      await sleep(options.pollMs);
    }
  });

  let senderLoops: Promise<void>[];
  const { paceMs } = options;
  if (paceMs === undefined) {
    senderLoops = options.senders.map(async (_, s) => {
      while (performance.now() < deadline) await sendOne(s);
    });
  } else {
    // One chain per sender, so a member never sends two messages at once.
    const chains = options.senders.map(() => Promise.resolve());
    for (let k = 0; start + k * paceMs < deadline; k++) {
      const wait = start + k * paceMs - performance.now();
      if (wait > 0) await sleep(wait);
      const s = k % options.senders.length;
      chains[s] = chains[s]!.then(() => sendOne(s));
    }
    senderLoops = chains;
  }
  await Promise.all(senderLoops);
  const sendEnd = performance.now();

  const drainDeadline = sendEnd + options.drainMs;
  while (got.some((m) => m.size < sentAt.size) && performance.now() < drainDeadline) {
    await sleep(options.pollMs);
  }
  receiving = false;
  await Promise.all(receiverLoops);
  const clientCpu = cpuUsage(cpu0);
  const machineUse = machine.done();
  const relays = await window.done();

  const latencies: number[] = [];
  let deliveredToAll = 0;
  let lastDelivery = start;
  for (const [id, t0] of sentAt) {
    const times = got.map((m) => m.get(id));
    if (times.some((t) => t === undefined)) continue;
    deliveredToAll += 1;
    for (const t of times as number[]) {
      latencies.push(t - t0);
      lastDelivery = Math.max(lastDelivery, t);
    }
  }
  const windowMs = lastDelivery - start;
  return {
    sent: sentAt.size - sendErrors,
    sendErrors,
    firstError,
    deliveredToAll,
    sendWindowMs: sendEnd - start,
    windowMs,
    perSecond: windowMs > 0 ? deliveredToAll / (windowMs / 1000) : 0,
    sendMs: ascending(sendMs),
    latencyMs: ascending(latencies),
    syncs,
    unreadable,
    relays,
    clientCpuMs: (clientCpu.user + clientCpu.system) / 1000,
    machine: machineUse,
  };
}
