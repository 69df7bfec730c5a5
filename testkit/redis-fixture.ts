/**
 * Redis for tests, never skipped: REDIS_URL if set; else a redis-server binary started on a
 * free loopback port with its own data directory (persistence off), stopped afterwards; else a
 * container through @testcontainers/redis when a Docker engine exists; else one clear error.
 * Each caller gets its own key prefix, so tests sharing a server never share state.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.js";
import { spawnRedisServer, stopRedisServer } from "./redis-server-child.js";
import { randomBytes, toHex } from "../src/protocol/bytes.js";

export interface RedisFixture {
  url: string;
  source: "REDIS_URL" | "redis-server" | "testcontainers";
  /** Stops what the fixture started (nothing for REDIS_URL). */
  stop(): Promise<void>;
}

/** A key prefix no other test uses. */
export function uniquePrefix(): string {
  return `t${toHex(randomBytes(6))}`;
}

async function startBinary(): Promise<RedisFixture> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), "shroud-redis-"));
  let child: ChildProcess;
  try {
    child = await spawnRedisServer(port, dir, ["--appendonly", "no"], 10_000);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    source: "redis-server",
    // Idempotent: a test that stops Redis mid-run may call it again in its cleanup.
    async stop() {
      await stopRedisServer(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function startContainer(): Promise<RedisFixture> {
  const { RedisContainer } = await import("@testcontainers/redis");
  const container = await new RedisContainer("redis:7").start();
  return {
    url: container.getConnectionUrl(),
    source: "testcontainers",
    async stop() {
      await container.stop();
    },
  };
}

/**
 * @example
 * const redis = await startRedis();
 * afterAll(() => redis.stop());
 */
export async function startRedis(): Promise<RedisFixture> {
  const fromEnv = process.env["REDIS_URL"];
  if (fromEnv) return { url: fromEnv, source: "REDIS_URL", stop: async () => {} };
  const problems: string[] = [];
  try {
    return await startBinary();
  } catch (error) {
    problems.push(`redis-server: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    return await startContainer();
  } catch (error) {
    problems.push(`testcontainers: ${error instanceof Error ? error.message : String(error)}`);
  }
  throw new Error(
    `No Redis for the tests: set REDIS_URL, install redis-server (apt-get install redis-server), ` +
      `or run a Docker engine for testcontainers (${problems.join("; ")})`,
  );
}
