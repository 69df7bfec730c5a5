/**
 * What one sealed deposit asks of Redis: deposits sent one at a time to an in-process relay on
 * redisPorts (not started, so no round close or maintenance runs beside them), reading what the
 * relay's connection writes to its socket. With one deposit in flight each write is a round trip
 * (ioredis sends the commands one tick queued in one write); each command in it is one the relay
 * sent. INFO commandstats over the same deposits adds what scripts ran inside.
 */
import type { Redis } from "ioredis";
import { contactCard, createInbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";
import { randomBytes } from "../../src/protocol/bytes.js";
import { createRelayApp } from "../../src/relay/app.js";
import { relayConfig } from "../../src/relay/relay-config.js";
import { Relay } from "../../src/relay/relay.js";
import type { Cleanup } from "../common/cleanup.js";
import { BENCH_ORIGIN } from "../memory/bench-relay.js";
import { commandStats, commandStatsDelta, totalCalls, type CommandStats } from "./redis-info.js";
import { benchRedisPorts } from "./bench-redis-ports.js";
import type { BenchRedis } from "./redis-server-process.js";

const MESSAGE_BYTES = 100;
const INBOXES = 16;
/** Deposits before the counted ones: the scripts load, the pool records its shard count. */
const WARMUP = 32;

export interface DepositCalls {
  deposits: number;
  /** Socket writes of the relay's connection that carried a deposit's commands. */
  roundTrips: number;
  /** Commands the relay sent, by name. */
  sent: Map<string, number>;
  /** Every command Redis ran over the counted deposits, those scripts ran included. */
  ran: CommandStats;
}

/** Name and first key of each command in a RESP write (a script's first key for evalsha). */
function commandsIn(data: Buffer): { name: string; key: string }[] {
  const commands: { name: string; key: string }[] = [];
  let at = 0;
  const line = () => {
    const end = data.indexOf("\r\n", at);
    const text = data.toString("latin1", at + 1, end);
    at = end + 2;
    return Number(text);
  };
  while (at < data.length && data[at] === 0x2a /* "*" */) {
    const count = line();
    const args: string[] = [];
    for (let i = 0; i < count; i++) {
      const length = line();
      if (i < 4) args.push(data.toString("latin1", at, at + length));
      at += length + 2;
    }
    const name = (args[0] ?? "").toLowerCase();
    commands.push({ name, key: (name.startsWith("eval") ? args[3] : args[1]) ?? "" });
  }
  return commands;
}

/**
 * @example const calls = await measureDepositCalls(redis, admin, 200, cleanup);
 */
export async function measureDepositCalls(
  redis: BenchRedis,
  admin: Redis,
  deposits: number,
  cleanup: Cleanup,
): Promise<DepositCalls> {
  const { ports, prefix, close: closePorts } = benchRedisPorts(redis, "calls", cleanup);
  try {
    const relay = await Relay.open(
      relayConfig({ origin: BENCH_ORIGIN, roundIntervalMs: 60_000 }),
      ports,
    );
    const app = createRelayApp(relay);
    const client = await RelayClient.connect(BENCH_ORIGIN, {
      fetch: async (input, init) => app.fetch(new Request(input, init)),
      shaping: ShapingProfiles.off,
    });
    const cards = await Promise.all(
      Array.from({ length: INBOXES }, async () =>
        contactCard(await createInbox(BENCH_ORIGIN, client.descriptor.signingKey)),
      ),
    );
    const deposit = async (i: number) => {
      const result = await client.deposit(cards[i % INBOXES]!, randomBytes(MESSAGE_BYTES));
      if (result.status !== "accepted") throw new Error(`deposit answered ${result.status}`);
    };
    for (let i = 0; i < WARMUP; i++) await deposit(i);

    // Metrics go out on a timer, not on a deposit's path: their writes are left out.
    const background = `{${prefix}:m}`;
    const sent = new Map<string, number>();
    let roundTrips = 0;
    const socket = (ports.redis as Redis).stream as unknown as {
      write: (chunk: unknown, ...rest: unknown[]) => boolean;
    };
    const write = socket.write;
    socket.write = function (chunk: unknown, ...rest: unknown[]) {
      const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk), "latin1");
      const commands = commandsIn(data).filter((c) => !c.key.startsWith(background));
      if (commands.length > 0) roundTrips++;
      for (const { name } of commands) sent.set(name, (sent.get(name) ?? 0) + 1);
      return write.call(this, chunk, ...rest);
    };
    const before = await commandStats(admin);
    try {
      for (let i = 0; i < deposits; i++) await deposit(i);
    } finally {
      socket.write = write;
    }
    const ran = commandStatsDelta(before, await commandStats(admin));
    // The INFO calls themselves are left out by commandStatsDelta; the metrics flush is not
    // a deposit's either.
    for (const name of ["hincrby", "hincrbyfloat"]) ran.delete(name);
    return { deposits, roundTrips, sent, ran };
  } finally {
    await closePorts();
  }
}

/** Commands Redis ran per deposit, those its scripts ran included. */
export function callsPerDeposit(calls: DepositCalls): number {
  return totalCalls(calls.ran) / calls.deposits;
}
