/**
 * The operator's view of `shroud serve`: /readyz (store, round queue and keys) beside
 * /healthz, /metrics behind a bearer token, and neither saying anything about a client.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type RedisFixture } from "../../testkit/redis-fixture.js";
import { freePort, killAll, requireBuild, run, serve, type Served } from "./support.js";

const TOKEN = "metrics-token-for-the-test";
let dir: string;
let relay: Served;

beforeAll(async () => {
  requireBuild();
  dir = await mkdtemp(join(tmpdir(), "shroud-operations-"));
  relay = await serve(
    ["--port", String(await freePort()), "--round-ms", "0", "--data", join(dir, "data")],
    { SHROUD_METRICS_TOKEN: TOKEN },
  );
}, 60_000);

afterAll(async () => {
  killAll();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("serve for operators", () => {
  it("answers /readyz ready on its SQLite store", async () => {
    const ready = await fetch(`${relay.url}/readyz`);
    expect([ready.status, await ready.text()]).toEqual([200, "ready\n"]);
    expect(await (await fetch(`${relay.url}/healthz`)).text()).toBe("ok");
  });

  it(
    "serves /metrics only with the token, with counts and no inbox id",
    { timeout: 60_000 },
    async () => {
      const inbox = join(dir, "inbox.json");
      const card = join(dir, "card.json");
      expect(
        (await run(["inbox", "create", "--relay", relay.url, "--out", inbox, "--card", card])).code,
      ).toBe(0);
      expect((await run(["send", "--card", card], "counted\n")).code).toBe(0);
      expect((await fetch(`${relay.url}/metrics`)).status).toBe(401);
      const wrong = await fetch(`${relay.url}/metrics`, {
        headers: { authorization: `Bearer ${TOKEN}x` },
      });
      expect(wrong.status).toBe(401);
      const metrics = await fetch(`${relay.url}/metrics`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(metrics.status).toBe(200);
      const text = await metrics.text();
      expect(text).toMatch(/^shroud_requests_total\{kind="deposit",status="accepted"\} 1$/m);
      const secrets = Object.values(JSON.parse(await readFile(inbox, "utf8")) as object).filter(
        (value): value is string => typeof value === "string" && value.length >= 16,
      );
      expect(secrets.length).toBeGreaterThan(2);
      for (const secret of secrets) expect(text).not.toContain(secret);
      // Every line is a series and a number: counters and histograms only.
      for (const line of text.trimEnd().split("\n"))
        expect(line).toMatch(/^shroud_[a-z_]+(\{[^}]*\})? \d+(\.\d+)?$/);
    },
  );

  it("has no /metrics without --metrics", { timeout: 60_000 }, async () => {
    const plain = await serve([
      "--port",
      String(await freePort()),
      "--store",
      "memory",
      "--data",
      join(dir, "plain"),
    ]);
    expect((await fetch(`${plain.url}/metrics`)).status).toBe(404);
    plain.child.kill("SIGTERM");
    await plain.exited;
  });

  // With REDIS_URL the Redis is someone else's and cannot be stopped here.
  it.skipIf(process.env["REDIS_URL"])(
    "answers /readyz 503 naming the round queue, then the store, as each Redis goes away",
    { timeout: 90_000 },
    async () => {
      const redis: RedisFixture = await startRedis();
      const queue: RedisFixture = await startRedis();
      try {
        const onRedis = await serve(
          [
            "--port",
            String(await freePort()),
            "--redis",
            redis.url,
            "--redis-queue",
            queue.url,
            "--redis-prefix",
            "ops-test",
            "--workers",
            "1",
          ],
          { SHROUD_MASTER_KEY: Buffer.alloc(32, 7).toString("base64") },
        );
        expect(await (await fetch(`${onRedis.url}/readyz`)).text()).toBe("ready\n");
        await queue.stop();
        const noQueue = await fetch(`${onRedis.url}/readyz`);
        expect([noQueue.status, await noQueue.text()]).toEqual([503, "not ready: queue\n"]);
        await redis.stop();
        const down = await fetch(`${onRedis.url}/readyz`);
        expect([down.status, await down.text()]).toEqual([503, "not ready: store, queue\n"]);
        onRedis.child.kill("SIGTERM");
        await onRedis.exited;
      } finally {
        await redis.stop();
        await queue.stop();
      }
    },
  );
});
