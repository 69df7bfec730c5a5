/**
 * `shroud serve --workers N` on Redis: N relay processes behind one port, one banner, a worker
 * that dies replaced, all of them stopped by one signal, none left behind when the primary dies;
 * and on the SQLite store: N processes on one file, the serve process holding its directory.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contactCard, createInbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";
import { startRedis, uniquePrefix, type RedisFixture } from "../../testkit/redis-fixture.js";
import { text, untext } from "../../testkit/text.js";
import { expectOneErrorLine, freePort, killAll, requireBuild, run, serve } from "./support.js";

const MASTER_KEY = { SHROUD_MASTER_KEY: Buffer.alloc(32, 9).toString("base64") };
let redis: RedisFixture;

beforeAll(async () => {
  requireBuild();
  redis = await startRedis();
}, 60_000);

afterAll(async () => {
  killAll();
  await redis?.stop();
});

/** The pids of `pid`'s child processes. */
async function childrenOf(pid: number): Promise<number[]> {
  try {
    const { stdout } = await promisify(execFile)("pgrep", ["-P", String(pid)]);
    return stdout.split("\n").filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when there are none
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function workersRelay() {
  return serve(
    [
      "--port",
      String(await freePort()),
      "--redis",
      redis.url,
      "--redis-prefix",
      uniquePrefix(),
      "--round-ms",
      "100",
      "--workers",
      "2",
    ],
    MASTER_KEY,
  );
}

/**
 * Waits until two workers other than `gone` run under `primary` and the port answers ready again
 * (with every worker gone at once the socket closed, until a replacement listened again).
 */
async function awaitReplacements(
  url: string,
  primary: number,
  gone: readonly number[],
  workersTimeoutMs: number,
): Promise<void> {
  await expect
    .poll(async () => (await childrenOf(primary)).filter((pid) => !gone.includes(pid)).length, {
      timeout: workersTimeoutMs,
    })
    .toBe(2);
  await expect
    .poll(
      () =>
        fetch(`${url}/readyz`).then(
          (r) => r.status,
          () => 0,
        ),
      { timeout: 30_000 },
    )
    .toBe(200);
}

/** Deposits `count` messages at once over separate connections and reads them all back. */
async function roundTrip(url: string, count: number): Promise<string[]> {
  const client = await RelayClient.connect(url, { shaping: ShapingProfiles.off });
  const inbox = await createInbox(client.origin, client.descriptor.signingKey);
  const sent = Array.from({ length: count }, (_, i) => `message ${i}`);
  const results = await Promise.all(
    sent.map((message) => client.deposit(contactCard(inbox), text(message))),
  );
  expect(results.every((result) => result.status === "accepted")).toBe(true);
  let read: string[] = [];
  await expect
    .poll(
      async () => {
        const got = await client.fetchAll(inbox);
        if (got.status === "ok") read = got.messages.map((m) => untext(m.payload));
        return read.length;
      },
      { timeout: 20_000 },
    )
    .toBe(count);
  client.close();
  return read.sort();
}

describe("serve --workers", () => {
  it(
    "serves from two processes behind one port, replaces one that dies, and stops on one signal",
    { timeout: 120_000 },
    async () => {
      const relay = await workersRelay();
      const { stdout } = relay.output();
      expect(stdout).toMatch(
        /^shroud relay listening on http:\/\/\S+ \(on Redis, .*; 2 workers\)$/m,
      );
      // One banner, however many workers.
      expect(stdout.match(/listening on/g)).toHaveLength(1);
      const primary = relay.child.pid!;
      const first = await childrenOf(primary);
      expect(first).toHaveLength(2);

      const expected = Array.from({ length: 24 }, (_, i) => `message ${i}`).sort();
      expect(await roundTrip(relay.url, 24)).toEqual(expected);

      // Workers killed are replaced: with both first workers gone, the relay serves from the
      // replacements.
      for (const [index, pid] of first.entries()) {
        process.kill(pid, "SIGKILL");
        await expect
          .poll(
            () =>
              relay.output().stderr.match(/a worker exited \(SIGKILL\); starting another/g)?.length,
            {
              timeout: 20_000,
            },
          )
          .toBe(index + 1);
      }
      await awaitReplacements(relay.url, primary, first, 20_000);
      expect(await roundTrip(relay.url, 8)).toHaveLength(8);

      // SIGHUP reaches every worker, which reloads its keys and serves on.
      const workers = await childrenOf(primary);
      relay.child.kill("SIGHUP");
      await expect
        .poll(() => relay.output().stdout, { timeout: 10_000 })
        .toContain("SIGHUP: every worker reloads its keys\n");
      expect(await roundTrip(relay.url, 4)).toHaveLength(4);
      expect(workers.filter(alive)).toEqual(workers);

      relay.child.kill("SIGTERM");
      expect(await relay.exited).toBe(0);
      expect(relay.output().stdout).toMatch(
        /SIGTERM: closing \(delivering the open round\)\nrelay closed\n$/,
      );
      expect(workers.filter(alive)).toEqual([]);
    },
  );

  it("leaves no worker behind when the primary is killed", { timeout: 90_000 }, async () => {
    const relay = await workersRelay();
    const workers = await childrenOf(relay.child.pid!);
    expect(workers).toHaveLength(2);
    relay.child.kill("SIGKILL");
    await relay.exited;
    await expect.poll(() => workers.filter(alive), { timeout: 30_000 }).toEqual([]);
  });

  it("refuses more than one worker on the memory store", async () => {
    const result = await run(["serve", "--workers", "2", "--store", "memory"]);
    expectOneErrorLine(
      result,
      2,
      /--workers needs --redis or the SQLite store: the memory store lives in one process/,
    );
  });
});

describe("serve --workers on the SQLite store", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "shroud-sqlite-workers-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it(
    "serves one file from two processes and outlives the loss of both",
    { timeout: 120_000 },
    async () => {
      const data = join(dir, "data");
      const relay = await serve([
        ...["--port", String(await freePort()), "--data", data, "--round-ms", "100"],
        ...["--workers", "2"],
      ]);
      expect(relay.output().stdout).toMatch(
        /^shroud relay listening on http:\/\/\S+ \(store .*shroud\.db; 2 workers\)$/m,
      );
      const primary = relay.child.pid!;
      // The serve process holds the data directory; its workers share it.
      expect((await readFile(join(data, "serve.lock"), "utf8")).trim()).toBe(String(primary));
      const first = await childrenOf(primary);
      expect(first).toHaveLength(2);
      const expected = Array.from({ length: 24 }, (_, i) => `message ${i}`).sort();
      expect(await roundTrip(relay.url, 24)).toEqual(expected);

      // A second serve on the directory is refused while the workers serve it.
      const second = await run(["serve", "--port", String(await freePort()), "--data", data]);
      expectOneErrorLine(second, 1, /is in use by another shroud serve \(pid \d+\)/);

      // Kill both workers: the lease of whichever closed rounds runs out, and a replacement
      // takes it; nothing acknowledged is lost, nothing delivered twice.
      for (const pid of first) process.kill(pid, "SIGKILL");
      await awaitReplacements(relay.url, primary, first, 30_000);
      expect(await roundTrip(relay.url, 16)).toHaveLength(16);

      relay.child.kill("SIGTERM");
      expect(await relay.exited).toBe(0);
      await expect
        .poll(() => existsSync(join(data, "serve.lock")), { timeout: 10_000 })
        .toBe(false);
    },
  );
});
