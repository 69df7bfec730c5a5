/**
 * A round of 100,000 entries on Redis, closed by a real `shroud serve --redis` process: it is
 * delivered whole, each entry once, and the process lives on. A close that read the whole round
 * in one command (one argument per entry) threw past ~62k entries, left the round unreleased
 * for every later close to trip over, and the error took the process down.
 * Needs `npm run build` (the CLI runs from dist/).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisPorts, type RedisPorts } from "../../src/adapters/redis/redis-ports.js";
import { randomBytes, toHex } from "../../src/protocol/bytes.js";
import { SecretBytes } from "../../src/protocol/secret-bytes.js";
import { dayOf } from "../../src/relay/ports/clock.js";
import type { RoundEntry } from "../../src/relay/ports/inbox-store.js";
import { freePort } from "../../testkit/free-port.js";
import { startRedis, uniquePrefix, type RedisFixture } from "../../testkit/redis-fixture.js";
import {
  killAllRelays,
  newMasterKey,
  requireBuiltCli,
  startRelayProcess,
} from "../../testkit/relay-process.js";
import { poolLeftovers } from "./support.js";
import { sleep } from "../../testkit/wait.js";

const ENTRIES = 100_000;
const INBOXES = 100;
/** pool.add calls in flight at once: auto-pipelined on the port's connection. */
const IN_FLIGHT = 5_000;
const quota = { stored: { items: 0, bytes: 0 }, maxItems: 10_000, maxBytes: 1 << 26 };

describe("Redis: a round of 100,000 entries", () => {
  let fixture: RedisFixture | undefined;
  let ports: RedisPorts | undefined;

  beforeAll(async () => {
    requireBuiltCli();
    fixture = await startRedis();
  });

  afterAll(async () => {
    killAllRelays();
    await ports?.close();
    await fixture?.stop();
  });

  it("is delivered whole, each entry once, and the relay process lives on", async () => {
    const prefix = uniquePrefix();
    ports = redisPorts({ url: fixture!.url, prefix, masterKey: SecretBytes.random(32) });
    const day = dayOf(Date.now());
    const inboxes = Array.from({ length: INBOXES }, () => randomBytes(32));
    await Promise.all(inboxes.map((i) => ports!.inboxes.admit(i, randomBytes(16), day + 7)));
    // Items are distinct random bytes, so a delivered set can be compared with the added one.
    const sent = new Map(inboxes.map((i) => [toHex(i), [] as string[]]));
    for (let start = 0; start < ENTRIES; start += IN_FLIGHT) {
      const adds: Promise<string>[] = [];
      for (let n = start; n < start + IN_FLIGHT; n++) {
        const entry: RoundEntry = {
          inboxId: inboxes[n % INBOXES]!,
          messageId: randomBytes(16),
          item: randomBytes(32),
        };
        sent.get(toHex(entry.inboxId))!.push(toHex(entry.item));
        adds.push(ports.pool.add(entry, quota));
      }
      expect(new Set(await Promise.all(adds))).toEqual(new Set(["added"]));
    }

    const relay = await startRelayProcess({
      redisUrl: fixture!.url,
      prefix,
      masterKey: newMasterKey(),
      port: await freePort(),
      roundMs: 500,
    });
    let exit: number | null | undefined;
    void relay.exited.then((code) => (exit = code));
    const deadline = Date.now() + 150_000;
    while (exit === undefined && Date.now() < deadline) {
      if ((await poolLeftovers(ports.redis, prefix)).length === 0) break;
      await sleep(200);
    }
    // Two more rounds: the process keeps closing rounds after the large one.
    await sleep(1_000);
    expect({ exit, stderr: relay.stderr() }).toEqual({ exit: undefined, stderr: "" });
    expect(await poolLeftovers(ports.redis, prefix)).toEqual([]);

    for (const inbox of inboxes) {
      const page = await ports.inboxes.fetch(inbox, 0, 2 * (ENTRIES / INBOXES));
      expect(page?.more).toBe(false);
      const items = page!.items;
      expect(items.map((i) => i.seq)).toEqual(items.map((_, k) => k + 1));
      expect(items.map((i) => toHex(i.item)).sort()).toEqual(sent.get(toHex(inbox))!.sort());
    }
    await relay.kill();
  }, 240_000);
});
