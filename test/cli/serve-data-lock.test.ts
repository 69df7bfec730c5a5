/**
 * One `shroud serve` per data directory: a second is refused in one line naming the first's pid;
 * a lock left by a killed relay is taken over; a clean stop gives the directory up.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCK_FILE_NAME, lockDataDir } from "../../src/adapters/node/data-dir-lock.js";
import { expectOneErrorLine, freePort, killAll, requireBuild, run, serve } from "./support.js";

let dir: string;

beforeAll(async () => {
  requireBuild();
  dir = await mkdtemp(join(tmpdir(), "shroud-lock-"));
});

afterAll(async () => {
  killAll();
  await rm(dir, { recursive: true, force: true });
});

describe("one relay per data directory", () => {
  it(
    "refuses a second serve on a directory in use, for both embedded stores",
    { timeout: 90_000 },
    async () => {
      for (const store of ["sqlite", "memory"]) {
        const data = join(dir, store);
        const flags = async () => [
          "--port",
          String(await freePort()),
          "--data",
          data,
          "--store",
          store,
        ];
        const first = await serve(await flags());
        const second = await run(["serve", ...(await flags())]);
        expectOneErrorLine(
          second,
          1,
          new RegExp(
            `is in use by another shroud serve \\(pid ${first.child.pid}\\); stop it first`,
          ),
        );
        first.child.kill("SIGTERM");
        expect(await first.exited).toBe(0);
        // A clean stop gives the directory up.
        expect(existsSync(join(data, LOCK_FILE_NAME))).toBe(false);
      }
    },
  );

  it("takes over the lock of a relay that was killed", { timeout: 90_000 }, async () => {
    const data = join(dir, "killed");
    const first = await serve(["--port", String(await freePort()), "--data", data]);
    first.child.kill("SIGKILL");
    await first.exited;
    expect(existsSync(join(data, LOCK_FILE_NAME))).toBe(true);
    const next = await serve(["--port", String(await freePort()), "--data", data]);
    next.child.kill("SIGTERM");
    expect(await next.exited).toBe(0);
  });

  it("refuses a second lock in the same process, and takes over a lock naming no live process", async () => {
    const data = join(dir, "in-process");
    const release = lockDataDir(data);
    expect(() => lockDataDir(data)).toThrow(/in use by a relay in this process/);
    release();
    await writeFile(join(data, LOCK_FILE_NAME), "999999999\n");
    lockDataDir(data)();
    expect(existsSync(join(data, LOCK_FILE_NAME))).toBe(false);
  });
});
