/**
 * One suite, run against each storage backend a relay can have: the in-memory store (both
 * relays in this process), the SQLite store (each relay on a file of its own in a temporary
 * directory) and Redis (each relay on a redis-server of its own, started for the block). A suite
 * written once covers all three, and a backend added here covers every suite.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe } from "vitest";
import { SecretBytes } from "../src/protocol/secret-bytes.js";
import { startRedis, uniquePrefix, type RedisFixture } from "./redis-fixture.js";

/** Where a test relay keeps its state. */
export type Backend =
  | { kind: "memory" }
  | { kind: "sqlite"; dataDir: string }
  | { kind: "redis"; url: string; prefix: string; masterKey: SecretBytes };

/** One backend of the matrix, as a suite sees it. */
export interface BackendCase {
  /** The backend's label, in the describe block's title. */
  name: string;
  kind: Backend["kind"];
  /**
   * Fresh state for relay A, or B (on Redis: a new key prefix and master key on server 0, or 1).
   * Call inside hooks or tests: the Redis servers start in the block's beforeAll.
   */
  a(): Backend;
  b(): Backend;
  /** Whether a relay's state outlives the relay (a restart on the same backend finds it). */
  durable: boolean;
}

const NAMES: Record<Backend["kind"], string> = {
  memory: "embedded store, one process",
  sqlite: "SQLite store, a file per relay",
  redis: "two Redis servers",
};

function memoryCase(): BackendCase {
  const memory = (): Backend => ({ kind: "memory" });
  return { name: NAMES.memory, kind: "memory", a: memory, b: memory, durable: false };
}

/** A fresh data directory per relay (per call), removed after the enclosing describe block. */
function sqliteCase(): BackendCase {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const fresh = (): Backend => {
    const dir = mkdtempSync(join(tmpdir(), "shroud-backend-"));
    dirs.push(dir);
    return { kind: "sqlite", dataDir: dir };
  };
  return { name: NAMES.sqlite, kind: "sqlite", a: fresh, b: fresh, durable: true };
}

/** Starts two redis-servers for the enclosing describe block, one per relay. */
function redisCase(): BackendCase {
  const servers: RedisFixture[] = [];
  beforeAll(async () => {
    servers.push(...(await Promise.all([startRedis(), startRedis()])));
  });
  afterAll(async () => {
    await Promise.all(servers.splice(0).map((server) => server.stop()));
  });
  const on = (index: 0 | 1) => (): Backend => ({
    kind: "redis",
    url: servers[index]!.url,
    prefix: uniquePrefix(),
    masterKey: SecretBytes.random(32),
  });
  return { name: NAMES.redis, kind: "redis", a: on(0), b: on(1), durable: true };
}

/**
 * Declares `describe(\`${title} (${backend})\`)` once per backend in `kinds` (default: all),
 * with `suite` defining the block's hooks and tests for that backend.
 *
 * @example
 * describeEachBackend("lost acknowledgement", (backends) => {
 *   it("delivers once", async () => {
 *     const a = await startRelay({ host: "127.0.0.1", backend: backends.a() });
 *   });
 * });
 */
export function describeEachBackend(
  title: string,
  suite: (backends: BackendCase) => void,
  kinds: readonly Backend["kind"][] = ["memory", "sqlite", "redis"],
): void {
  const cases = { memory: memoryCase, sqlite: sqliteCase, redis: redisCase };
  for (const kind of kinds) {
    describe(`${title} (${NAMES[kind]})`, () => suite(cases[kind]()));
  }
}
