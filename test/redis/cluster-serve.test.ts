/**
 * `shroud serve` on a Redis Cluster. A relay given one node of a cluster as a plain redis:// URL
 * says how to give the cluster instead. A shard SIGKILLed and restarted while a relay process takes deposits, with the
 * persistence docs/DEPLOYMENT.md gives for losing nothing acknowledged (`appendonly yes`,
 * `appendfsync always`): every deposit the relay acknowledged is delivered, exactly once.
 * Deposits that reach the dead shard fail and are retried by the client, as after any outage.
 * Needs `npm run build` (the CLI runs from dist/).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectRedis, type RedisClient } from "../../src/adapters/redis/redis-connection.js";
import { depositAll, expectDeliveredOnce, makeItems } from "../../testkit/crash-deliveries.js";
import { freePort } from "../../testkit/free-port.js";
import {
  startRedisCluster,
  type RedisClusterFixture,
} from "../../testkit/redis-cluster-fixture.js";
import { uniquePrefix } from "../../testkit/redis-fixture.js";
import {
  killAllRelays,
  newMasterKey,
  requireBuiltCli,
  startRelayProcess,
} from "../../testkit/relay-process.js";
import { ResilientClient } from "../../testkit/resilient-client.js";
import { sleep } from "../../testkit/wait.js";
import { poolLeftovers } from "./support.js";
import { expectOneErrorLine, run } from "../cli/support.js";
import { prefixKeys } from "../../src/adapters/redis/redis-prefix.js";

describe("shroud serve on a Redis Cluster", () => {
  let cluster: RedisClusterFixture | undefined;
  let admin: RedisClient;

  beforeAll(async () => {
    requireBuiltCli();
    cluster = await startRedisCluster({ persistence: true });
    admin = connectRedis(cluster.url);
  }, 60_000);

  afterAll(async () => {
    killAllRelays();
    admin?.disconnect();
    await cluster?.stop();
  });

  it("tells an operator who names one node as redis:// to give the cluster", async () => {
    if (cluster!.nodes.length === 0) throw new Error("needs a cluster the fixture started");
    const node = cluster!.nodes[0]!;
    const start = startRelayProcess({
      redisUrl: node.url,
      prefix: uniquePrefix(),
      masterKey: newMasterKey(),
      roundMs: 1000,
    });
    await expect(start).rejects.toThrow(
      `is a cluster node: give the cluster as redis+cluster://127.0.0.1:${node.port}`,
    );
  }, 60_000);

  it("refuses the node for `shroud keys` and `shroud federation` too, touching nothing", async () => {
    if (cluster!.nodes.length === 0) throw new Error("needs a cluster the fixture started");
    const node = cluster!.nodes[0]!;
    const env = { SHROUD_MASTER_KEY: newMasterKey() };
    const prefix = uniquePrefix();
    for (const args of [
      ["keys", "rotate", "--redis", node.url, "--redis-prefix", prefix],
      ["federation", "dlq", "list", "--redis", node.url, "--redis-prefix", prefix],
    ]) {
      const result = await run(args, undefined, env);
      expectOneErrorLine(result, 1, /is a cluster node: give the cluster as redis\+cluster:\/\//);
    }
    expect(await prefixKeys(admin, prefix)).toEqual([]);
  }, 60_000);

  it("loses no acknowledged deposit when a shard is restarted mid-run", async () => {
    if (cluster!.nodes.length === 0) throw new Error("needs a cluster the fixture started");
    const prefix = uniquePrefix();
    const relay = await startRelayProcess({
      redisUrl: cluster!.url,
      prefix,
      masterKey: newMasterKey(),
      port: await freePort(),
      roundMs: 100,
    });
    const client = new ResilientClient(relay.url);
    const { boxes, items } = await makeItems(relay.url, "shard", 12, 25);
    await client.ensureConnected();

    // The shard goes down twice while deposits are under way, each time for long enough that
    // deposits and round closes meet it down.
    const victim = cluster!.nodes[1]!;
    let outages = 0;
    const deposits = depositAll(client, items, 4, [5, 15]);
    for (let k = 0; k < 2; k++) {
      await sleep(400);
      await victim.kill();
      await sleep(600);
      await victim.restart();
      outages++;
    }
    const results = await deposits;
    expect(outages).toBe(2);
    expect(results.map((r) => r.status)).toEqual(items.map(() => "accepted"));
    // Deposits did meet the shard down: some attempts failed and were retried.
    expect([...client.failures.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    console.log("shard restarts: failures", Object.fromEntries(client.failures));

    await expectDeliveredOnce(client, boxes, items, 30_000);
    await sleep(300); // three more rounds: nothing may arrive late or twice
    await expectDeliveredOnce(client, boxes, items, 0);
    expect(await poolLeftovers(admin, prefix)).toEqual([]);
    expect(relay.running()).toBe(true);
    await relay.stop();
  }, 120_000);
});
