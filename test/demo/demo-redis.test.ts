/**
 * The demo's scenario as a test on Redis (both relays on one server, each under its own
 * prefix): the same checks as on the embedded store, the stored state searched is a dump of
 * every key, and no key is left behind.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runDemo } from "../../src/demo/demo-scenario.js";
import { startRedis, uniquePrefix, type RedisFixture } from "../../testkit/redis-fixture.js";
import { expectDemo } from "./demo-expectations.js";

let redis: RedisFixture;

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await redis?.stop();
});

it("runs the demo on Redis: every check holds, and every key is deleted after", async () => {
  const prefix = uniquePrefix();
  const result = await runDemo({ backend: { redisUrl: redis.url, prefix } });
  expectDemo(result, "redis");
  for (const search of result.stateSearches) {
    expect(search.what).toMatch(/^\d+ Redis keys under \{t[0-9a-f]+-[ab]:\*\}/);
  }
  const client = new Redis(redis.url);
  try {
    expect(await client.keys(`*${prefix}*`)).toEqual([]);
  } finally {
    client.disconnect();
  }
}, 300_000);
