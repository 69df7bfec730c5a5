/**
 * Relays of the MLS bench, each a child process (mls-relay-child.ts) on the embedded memory
 * store: A and B federated with each other (allowlist), and C on its own (federation off, so
 * its CPU time is the traffic's alone), the same round interval on all. Each answers stats
 * requests over its IPC channel; all are registered with the cleanup.
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Cleanup } from "../common/cleanup.js";
import { freePort } from "../../testkit/free-port.js";
import type { ChildReply, ChildRequest, RelayStats } from "./mls-relay-child.js";

const CHILD = fileURLToPath(new URL("./mls-relay-child.js", import.meta.url));
const START_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 3000;
const STATS_TIMEOUT_MS = 10_000;

export type { RelayStats } from "./mls-relay-child.js";

export type RelayName = "A" | "B" | "C";

export interface MlsRelay {
  name: RelayName;
  url: string;
  pid: number | undefined;
  stats(): Promise<RelayStats>;
}

export interface MlsRelayPair {
  a: MlsRelay;
  b: MlsRelay;
  roundMs: number;
}

class ForkedRelay implements MlsRelay {
  readonly #child: ChildProcess;
  readonly #exited: Promise<number | null>;
  readonly #waiting = new Map<number, (stats: RelayStats) => void>();
  #nextId = 1;
  #stderr = "";
  url = "";

  constructor(
    readonly name: RelayName,
    port: number,
    peer: string | undefined,
    roundMs: number,
    batchesPerRound: number,
  ) {
    const args = ["--port", String(port), "--round-ms", String(roundMs)];
    args.push("--batches-per-round", String(batchesPerRound));
    if (peer !== undefined) args.push("--peer", peer);
    this.#child = fork(CHILD, args, { stdio: ["ignore", "ignore", "pipe", "ipc"] });
    this.#exited = new Promise((resolve) => {
      this.#child.once("exit", (code, signal) => resolve(signal ? null : code));
      this.#child.once("error", () => resolve(null));
    });
    this.#child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-4000);
    });
    this.#child.on("message", (message: ChildReply) => {
      if (message.type !== "stats") return;
      this.#waiting.get(message.id)?.(message.stats);
      this.#waiting.delete(message.id);
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Resolves once the relay listens; rejects if it exits or takes too long. */
  listening(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`relay ${this.name} did not start in ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      this.#child.on("message", (message: ChildReply) => {
        if (message.type !== "listening") return;
        clearTimeout(timer);
        this.url = message.url;
        resolve();
      });
      void this.#exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`relay ${this.name} exited (${code ?? "signal"}): ${this.#stderr}`));
      });
    });
  }

  stats(): Promise<RelayStats> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`relay ${this.name} did not answer a stats request`));
      }, STATS_TIMEOUT_MS);
      this.#waiting.set(id, (stats) => {
        clearTimeout(timer);
        resolve(stats);
      });
      this.#child.send({ type: "stats", id } satisfies ChildRequest);
    });
  }

  /** Asks the relay to close, SIGKILL after a grace period; rejects unless it exited with 0. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    if (this.#child.connected) this.#child.send({ type: "stop" } satisfies ChildRequest);
    else this.#child.kill("SIGTERM");
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), STOP_GRACE_MS);
    const code = await this.#exited.finally(() => clearTimeout(timer));
    if (code !== 0) throw new Error(`relay ${this.name} exited with ${code ?? "a signal"}`);
  }

  killNow(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill("SIGKILL");
    }
  }
}

/**
 * One relay; `peer` (an origin) turns federation on with that peer only, `batchesPerRound`
 * batches of 16 envelopes a round on that link (the relay's default is 1).
 *
 * @example const c = await startMlsRelay("C", 0, undefined, 200, cleanup);
 */
export async function startMlsRelay(
  name: RelayName,
  port: number,
  peer: string | undefined,
  roundMs: number,
  cleanup: Cleanup,
  batchesPerRound = 1,
): Promise<MlsRelay> {
  const relay = new ForkedRelay(name, port, peer, roundMs, batchesPerRound);
  cleanup.add({
    name: `MLS bench relay ${name}`,
    stop: () => relay.stop(),
    now: () => relay.killNow(),
  });
  await relay.listening();
  return relay;
}

/**
 * @example const { a, b } = await startMlsRelayPair(200, cleanup);
 */
export async function startMlsRelayPair(
  roundMs: number,
  cleanup: Cleanup,
  batchesPerRound = 1,
): Promise<MlsRelayPair> {
  // Each relay names the other as its peer before either listens, so both ports come first.
  const portA = await freePort();
  let portB = await freePort();
  while (portB === portA) portB = await freePort();
  const peer = (port: number) => `http://127.0.0.1:${port}`;
  const a = await startMlsRelay("A", portA, peer(portB), roundMs, cleanup, batchesPerRound);
  const b = await startMlsRelay("B", portB, peer(portA), roundMs, cleanup, batchesPerRound);
  return { a, b, roundMs };
}

/** What a relay did between two stats readings. */
export interface RelayDelta {
  cpuMs: number;
  requests: Record<string, number>;
  /** Requests of every kind handled (forwarded envelopes opened from batches included). */
  totalRequests: number;
  storedItems: number;
  storedBytes: number;
  roundsClosed: number;
}

export function relayDelta(before: RelayStats, after: RelayStats): RelayDelta {
  const requests: Record<string, number> = {};
  let totalRequests = 0;
  for (const [key, value] of Object.entries(after.requests)) {
    const diff = value - (before.requests[key] ?? 0);
    if (diff === 0) continue;
    requests[key] = diff;
    totalRequests += diff;
  }
  return {
    cpuMs: (after.cpuMicros - before.cpuMicros) / 1000,
    requests,
    totalRequests,
    storedItems: after.storedItems - before.storedItems,
    storedBytes: after.storedBytes - before.storedBytes,
    roundsClosed: after.roundsClosed - before.roundsClosed,
  };
}

/** Reads both relays' stats now; `done()` later gives what each did in between. */
export async function relayWindow(
  pair: MlsRelayPair,
): Promise<{ done(): Promise<{ a: RelayDelta; b: RelayDelta }> }> {
  const [a, b] = await Promise.all([oneRelayWindow(pair.a), oneRelayWindow(pair.b)]);
  return {
    async done() {
      const [da, db] = await Promise.all([a.done(), b.done()]);
      return { a: da, b: db };
    },
  };
}

/** Reads one relay's stats now; `done()` later gives what it did in between. */
export async function oneRelayWindow(relay: MlsRelay): Promise<{ done(): Promise<RelayDelta> }> {
  const before = await relay.stats();
  return {
    async done() {
      return relayDelta(before, await relay.stats());
    },
  };
}
