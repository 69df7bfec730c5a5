/**
 * On one Redis server a sealed deposit is one script call, one round trip: the replay record,
 * the inbox's admission and expiry registration, the duplicate and quota checks and the round
 * pool's add all run in deposit.lua. Watched with MONITOR, which lists every command a client
 * sends and, marked as such, the commands scripts run. A replayed deposit is refused by that
 * same one call and changes nothing in Redis. (On a Redis Cluster deposits keep their separate
 * steps: the conformance suite runs them there.)
 */
import { connect, type Socket } from "node:net";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisPorts, type RedisPorts } from "../../src/adapters/redis/redis-ports.js";
import { keyValues, prefixKeys } from "../../src/adapters/redis/redis-prefix.js";
import { contactCard, createInbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";
import { MediaTypes } from "../../src/protocol/labels.js";
import { SecretBytes } from "../../src/protocol/secret-bytes.js";
import { createRelayApp } from "../../src/relay/app.js";
import { relayConfig } from "../../src/relay/relay-config.js";
import { Relay } from "../../src/relay/relay.js";
import { startRedis, uniquePrefix, type RedisFixture } from "../../testkit/redis-fixture.js";
import { text } from "../../testkit/text.js";
import { waitFor } from "../../testkit/wait.js";

const ORIGIN = "http://relay.test";

let redis: RedisFixture;
let admin: Redis;
const opened: RedisPorts[] = [];

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
});

afterAll(async () => {
  for (const ports of opened) await ports.close();
  admin?.disconnect();
  await redis?.stop();
});

/** One command as MONITOR showed it: its name, first key (a script's first key), and source. */
interface Seen {
  command: string;
  key: string;
  inScript: boolean;
}

/** Keys no deposit waits for: aggregate metrics (flushed on a timer) and the round queue. */
const background = (prefix: string, key: string) =>
  key.startsWith(`{${prefix}:m}`) || key.startsWith(`{${prefix}:q}`);

/**
 * Every command run on `prefix`'s keys while `act` ran, in the order Redis ran them. A raw
 * socket, so that nothing but MONITOR's own lines arrive on it.
 */
async function watch(prefix: string, act: () => Promise<void>): Promise<Seen[]> {
  const { hostname, port } = new URL(redis.url);
  const socket: Socket = connect(Number(port), hostname);
  let buffered = "";
  socket.setEncoding("latin1");
  socket.on("data", (chunk: string) => (buffered += chunk));
  socket.write("MONITOR\r\n");
  await waitFor(
    () => buffered.startsWith("+OK\r\n"),
    (ok) => ok,
    10_000,
    "MONITOR",
  );
  const marker = `{${prefix}:marker}`;
  try {
    await act();
    // MONITOR lists commands in the order the server ran them: once the marker shows, every
    // command `act` caused has shown too.
    await admin.exists(marker);
    await waitFor(
      () => buffered.includes(marker),
      (found) => found,
      10_000,
      "the marker",
    );
  } finally {
    socket.destroy();
  }
  const seen: Seen[] = [];
  for (const line of buffered.split("\r\n").slice(1)) {
    // +<time> [<db> <client address, or "lua">] "command" "arg" ...
    const head = /^\+\S+ \[\d+ (\S+)\] /.exec(line);
    if (!head) continue;
    const args = [...line.slice(head[0].length).matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
    const command = (args[0] ?? "").toLowerCase();
    // A script's arguments: its SHA (or source) and key count before its keys.
    const key = command.startsWith("eval") ? (args[3] ?? "") : (args[1] ?? "");
    if (key === marker || !key.startsWith(`{${prefix}:`) || background(prefix, key)) continue;
    seen.push({ command, key, inScript: head[1] === "lua" });
  }
  return seen;
}

describe("a deposit on one Redis server", () => {
  it("is one EVALSHA; a replay of it is refused by one and changes nothing", async () => {
    const prefix = uniquePrefix();
    const ports = redisPorts({ url: redis.url, prefix, masterKey: SecretBytes.random(32) });
    opened.push(ports);
    expect(ports.deposits.atomic).toBe(true);
    // Not started: no round closes or maintenance run beside the deposits.
    const relay = await Relay.open(relayConfig({ origin: ORIGIN, roundIntervalMs: 60_000 }), ports);
    const app = createRelayApp(relay);
    const bodies: Uint8Array[] = [];
    const client = await RelayClient.connect(ORIGIN, {
      shaping: ShapingProfiles.off,
      fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
        if (init?.body instanceof Uint8Array) bodies.push(new Uint8Array(init.body));
        return app.fetch(new Request(input, init));
      }) as typeof fetch,
    });
    const card = contactCard(await createInbox(ORIGIN));
    // The first deposit loads the script and records the round pool's shard count.
    expect((await client.deposit(card, text("first"))).status).toBe("accepted");

    const deposits = 5;
    const seen = await watch(prefix, async () => {
      for (let i = 0; i < deposits; i++) {
        expect((await client.deposit(card, text(`message ${i}`))).status).toBe("accepted");
      }
    });
    expect(seen.filter((s) => !s.inScript).map((s) => s.command)).toEqual(
      Array.from({ length: deposits }, () => "evalsha"),
    );
    // The script did each step: replay record, expiry registration, inbox, pool entry.
    const inScript = (command: string, key: RegExp) =>
      seen.filter((s) => s.inScript && s.command === command && key.test(s.key)).length;
    expect(inScript("sadd", /:x:[0-9a-f]+:\d+\}$/)).toBe(deposits);
    expect(inScript("zadd", /:expiry\}$/)).toBe(deposits);
    expect(inScript("zscore", /:i:[0-9a-f]+\}:d$/)).toBe(deposits);
    expect(inScript("set", /\}:e:/)).toBe(deposits);

    // The first deposit again, as it was sealed: one call, refused (400), nothing changed.
    const state = async () => {
      const keys = (await prefixKeys(admin, prefix))
        .map((k) => k.toString("latin1"))
        .filter((k) => !background(prefix, k))
        .sort();
      const values = await Promise.all(keys.map((k) => keyValues(admin, Buffer.from(k, "latin1"))));
      return keys.map((k, i) => [k, values[i]!.values.map((v) => v.toString("hex"))]);
    };
    const before = await state();
    const replayed = await watch(prefix, async () => {
      const answer = await app.fetch(
        new Request(`${ORIGIN}/v1/relay`, {
          method: "POST",
          headers: { "content-type": MediaTypes.request },
          body: new Uint8Array(bodies[0]!),
        }),
      );
      expect(answer.status).toBe(400);
    });
    expect(replayed.filter((s) => !s.inScript).map((s) => s.command)).toEqual(["evalsha"]);
    expect(await state()).toEqual(before);
  }, 60_000);
});
