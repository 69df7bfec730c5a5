/**
 * Crash safety of `shroud serve` on its default store, the SQLite file: a relay SIGKILLed at
 * random moments while clients deposit, or in the middle of a round close, loses no acknowledged
 * deposit and delivers none twice once restarted on the same data directory, and keeps its keys.
 * Needs `npm run build` (the CLI runs from dist/).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../testkit/free-port.js";
import {
  killAllRelays,
  requireBuiltCli,
  startRelayProcess,
  type RelayProcessOptions,
} from "../../testkit/relay-process.js";
import { descriptorKeys, randomInt, ResilientClient } from "../../testkit/resilient-client.js";
import { sleep } from "../../testkit/wait.js";
import { depositAll, expectDeliveredOnce, makeItems } from "../../testkit/crash-deliveries.js";
import { poolState, readStore } from "./support.js";

describe("Crash safety on the SQLite store", () => {
  let dir: string;

  beforeAll(async () => {
    requireBuiltCli();
    dir = await mkdtemp(join(tmpdir(), "shroud-sqlite-crash-"));
  });

  afterAll(async () => {
    killAllRelays();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const serveOptions = async (name: string, roundMs: number) => {
    const dataDir = join(dir, name);
    const options: RelayProcessOptions = {
      port: await freePort(),
      roundMs,
      args: ["--data", dataDir],
    };
    return { options, dataDir };
  };

  it("loses no acknowledged deposit and delivers none twice across random SIGKILLs", async () => {
    const { options, dataDir } = await serveOptions("kills", 100);
    let relay = await startRelayProcess(options);
    const client = new ResilientClient(relay.url);
    const { boxes, items } = await makeItems(relay.url, "kill", 4, 75);
    const firstKeys = descriptorKeys((await client.ensureConnected()).descriptor);

    let kills = 0;
    const killer = (async () => {
      for (let k = 0; k < 5; k++) {
        await sleep(randomInt(100, 600));
        await relay.kill();
        kills++;
        relay = await startRelayProcess(options); // same port and data directory, at once
      }
    })();
    const results = await depositAll(client, items, 2, [5, 15]);
    const killsWhileDepositing = kills;
    await killer;

    expect(results.map((r) => r.status)).toEqual(items.map(() => "accepted"));
    expect(killsWhileDepositing).toBeGreaterThanOrEqual(1);
    expect([...client.failures.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(0);

    await expectDeliveredOnce(client, boxes, items, 15_000);
    await sleep(300); // three more rounds: nothing may arrive late or twice
    await expectDeliveredOnce(client, boxes, items, 0);
    const pool = poolState(dataDir);
    expect({ closed: [...pool.closed], open: pool.open, bytes: pool.pendingBytes }).toEqual({
      closed: [],
      open: 0,
      bytes: 0,
    });
    // The key ring survived every restart: the same identity and the same HPKE key.
    const fresh = new ResilientClient(relay.url);
    expect(descriptorKeys((await fresh.ensureConnected()).descriptor)).toEqual(firstKeys);
    await relay.stop();
  }, 120_000);

  it("a kill during a round close: the next process delivers the round, exactly once", async () => {
    const { options, dataDir } = await serveOptions("round", 3000);
    let relay = await startRelayProcess(options);
    const client = new ResilientClient(relay.url);
    // Items of ~24 KiB: a page holds at most 8 MiB, so the round closes in several pages, each
    // an append and a release, and a kill has a wide window to land in.
    const { boxes, items } = await makeItems(relay.url, "round", 20, 40, 24_000);
    await client.ensureConnected();

    // Deposits pile up in one round; kill the moment it is closed and not yet released.
    const started = Date.now();
    const deposits = depositAll(client, items, 16);
    const deadline = Date.now() + 20_000;
    while (poolState(dataDir).closed.size === 0 && Date.now() < deadline) {
      // The deposits run on this process's event loop: let them in between two reads.
      await new Promise((resolve) => setImmediate(resolve));
    }
    await relay.kill();
    const killedAfter = Date.now() - started;

    // With the process gone, the file holds exactly what the kill left behind.
    const left = poolState(dataDir);
    const appended = readStore(
      dataDir,
      (db) => db.prepare<[], { n: number }>("SELECT count(*) AS n FROM inbox_items").get()!.n,
    );
    expect(left.closed.size).toBe(1);
    const roundSize = [...left.closed.values()][0]!;
    expect(roundSize).toBeGreaterThan(0);

    relay = await startRelayProcess(options);
    const results = await deposits;
    expect(results.map((r) => r.status)).toEqual(items.map(() => "accepted"));
    console.log(
      `sqlite round close kill after ${killedAfter} ms: ${roundSize} in the unreleased round,`,
      `${appended} items appended before; deposits took ${Date.now() - started} ms,`,
      `${results.filter((r) => r.status === "accepted" && r.duplicate).length} duplicates`,
    );
    await expectDeliveredOnce(client, boxes, items, 30_000);
    const pool = poolState(dataDir);
    expect([...pool.closed]).toEqual([]);
    expect(pool.pendingBytes).toBe(0);
    await relay.stop();
  }, 120_000);
});
