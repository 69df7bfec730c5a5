/**
 * A relay of the MLS bench in a child process of its own (forked with an IPC channel by
 * mls-relay-pair.ts), so its CPU time is its own: startNodeRelay on the embedded memory store
 * (memoryPorts, keys in memory), `--round-ms`, federation allowlist naming `--peer` if given
 * (without it, federation is off). It prints
 * `mls bench relay listening on URL` and answers `{ type: "stats" }` messages with what it has
 * done so far (requests by kind and status, items and bytes its rounds wrote to inboxes, its own
 * CPU time). It closes on `{ type: "stop" }`, SIGTERM or when the bench goes away.
 *
 * Run as: node dist/bench-run/bench/mls/mls-relay-child.js --port N --round-ms T
 *   --batches-per-round B [--peer URL]
 */
import { argv, cpuUsage, exit } from "node:process";
import { toHex } from "../../src/protocol/bytes.js";
import { memoryPorts } from "../../src/adapters/memory/memory-ports.js";
import { startNodeRelay, type RunningRelay } from "../../src/node.js";
import { MetricName } from "../../src/relay/ports/metrics.js";

/** What the relay has done since it started (counters only; the bench takes differences). */
export interface RelayStats {
  /** User + system CPU microseconds of the relay process. */
  cpuMicros: number;
  /** Requests handled, keyed "kind status" (e.g. "deposit accepted", "forwarded_deposit accepted"). */
  requests: Record<string, number>;
  /** Items the relay's round closes wrote to inboxes, and their bytes as stored. */
  storedItems: number;
  storedBytes: number;
  roundsClosed: number;
  /** Federation batches received from the peer (real envelopes among cover). */
  batchesReceived: number;
}

export type ChildRequest = { type: "stats"; id: number } | { type: "stop" };
export type ChildReply =
  { type: "listening"; url: string } | { type: "stats"; id: number; stats: RelayStats };

function optionalFlag(name: string): string | undefined {
  const i = argv.indexOf(name);
  return i < 0 ? undefined : argv[i + 1];
}

function flag(name: string): string {
  const value = optionalFlag(name);
  if (value === undefined) throw new RangeError(`mls-relay-child needs ${name}`);
  return value;
}

function reply(message: ChildReply): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const ports = memoryPorts();
  const stats: RelayStats = {
    cpuMicros: 0,
    requests: {},
    storedItems: 0,
    storedBytes: 0,
    roundsClosed: 0,
    batchesReceived: 0,
  };
  // Tally what the relay reports to its metrics port and writes to its inbox store.
  const count = ports.metrics.count.bind(ports.metrics);
  ports.metrics.count = (name, labels, by = 1) => {
    if (name === MetricName.requests) {
      const key = `${labels?.["kind"] ?? "?"} ${labels?.["status"] ?? "?"}`;
      stats.requests[key] = (stats.requests[key] ?? 0) + by;
    } else if (name === MetricName.roundsClosed) {
      stats.roundsClosed += by;
    } else if (name === MetricName.federationBatchesReceived) {
      stats.batchesReceived += by;
    }
    count(name, labels, by);
  };
  const appendRound = ports.inboxes.appendRound.bind(ports.inboxes);
  ports.inboxes.appendRound = async (entries, expiresDay) => {
    // What the store holds more afterwards is what it took (repeated message ids are skipped).
    const inboxes = [...new Map(entries.map((e) => [toHex(e.inboxId), e.inboxId])).values()];
    const usage = () => Promise.all(inboxes.map((id) => ports.inboxes.usage(id)));
    const before = await usage();
    const appended = await appendRound(entries, expiresDay);
    (await usage()).forEach((after, i) => {
      stats.storedItems += after.items - before[i]!.items;
      stats.storedBytes += after.bytes - before[i]!.bytes;
    });
    return appended;
  };

  const peer = optionalFlag("--peer");
  const running: RunningRelay = await startNodeRelay({
    port: Number(flag("--port")),
    ports,
    config: {
      roundIntervalMs: Number(flag("--round-ms")),
      federation: {
        policy: "allowlist",
        peers: peer === undefined ? [] : [peer],
        batchesPerRound: Number(flag("--batches-per-round")),
      },
    },
    // Every simulated member shares one address (loopback): no per-address request limit.
    limits: { requestsPerSecond: 0 },
  });
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= running
      .close()
      .then(() => exit(0))
      .catch((error: unknown) => {
        console.error(`mls bench relay: close failed: ${String(error)}`);
        exit(1);
      }));
  process.on("message", (message: ChildRequest) => {
    if (message.type === "stop") return void close();
    const { user, system } = cpuUsage();
    reply({ type: "stats", id: message.id, stats: { ...stats, cpuMicros: user + system } });
  });
  process.on("SIGTERM", () => void close());
  process.on("disconnect", () => void close());
  console.log(`mls bench relay listening on ${running.url}`);
  reply({ type: "listening", url: running.url });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  exit(1);
});
