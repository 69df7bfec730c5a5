import { afterAll, beforeAll } from "vitest";
import { redisPorts, type RedisPorts } from "../../src/adapters/redis/redis-ports.js";
import { SecretBytes } from "../../src/protocol/secret-bytes.js";
import { startRedis, uniquePrefix, type RedisFixture } from "../../testkit/redis-fixture.js";
import { describePortConformance } from "./port-conformance.js";

let redis: RedisFixture;
const opened: RedisPorts[] = [];

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  for (const ports of opened) await ports.close();
  await redis?.stop();
});

describePortConformance("redis", async () => {
  const ports = redisPorts({
    url: redis.url,
    prefix: uniquePrefix(),
    masterKey: SecretBytes.random(32),
  });
  opened.push(ports);
  return ports;
});
