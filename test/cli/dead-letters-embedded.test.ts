/**
 * Dead letters of a relay on the embedded store, managed from another process: the relay's
 * mirror (DeadLetterDirectory.sync) and `shroud federation dlq --data DIR` meet in the data
 * directory.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeadLetterDirectory } from "../../src/adapters/node/dead-letter-directory.js";
import { MemoryFederationQueue } from "../../src/adapters/memory/memory-federation-queue.js";
import { randomBytes } from "../../src/protocol/bytes.js";
import { requireBuild, run } from "./support.js";

const PEER = "https://b.example";
let dir: string;

beforeAll(async () => {
  requireBuild();
  dir = await mkdtemp(join(tmpdir(), "shroud-dlq-"));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("dead letters on the embedded store", () => {
  it("are listed, replayed and dropped through the data directory", async () => {
    const queue = new MemoryFederationQueue();
    let peerUp = false;
    const delivered: string[] = [];
    await queue.startDelivery(
      async (peer) => {
        if (!peerUp) throw new Error("peer down");
        delivered.push(peer);
      },
      { maxAttempts: 1, baseDelayMs: 5, maxDelayMs: 10 },
    );
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      await queue.hold(PEER, randomBytes(64));
      const claim = await queue.claim(PEER, 16);
      await queue.send(claim, randomBytes(300));
      ids.push(claim.id);
    }
    await waitFor(async () => (await queue.deadLetters()).length === 2);

    const dataDir = join(dir, "data");
    const mirror = new DeadLetterDirectory(join(dataDir, "dead-letters"));
    await mirror.sync(queue);
    const listed = await run(["federation", "dlq", "list", "--data", dataDir]);
    expect(listed.code).toBe(0);
    expect(listed.stdout.trim().split("\n").sort()).toEqual(
      ids.map((id) => `${id}  ${PEER}  1 attempt  300 bytes`).sort(),
    );

    const [replayId, dropId] = ids as [string, string];
    const replay = await run(["federation", "dlq", "replay", replayId, "--data", dataDir]);
    expect(replay.code).toBe(0);
    expect(replay.stdout).toMatch(/replay of [0-9a-f]{32} requested/);
    const drop = await run(["federation", "dlq", "drop", dropId, "--data", dataDir]);
    expect(drop.code).toBe(0);
    // Nothing happens until the relay's next sync applies the requests.
    expect(await queue.deadLetters()).toHaveLength(2);

    peerUp = true;
    await mirror.sync(queue);
    await waitFor(async () => delivered.length === 1);
    expect(await queue.deadLetters()).toEqual([]);
    await mirror.sync(queue);
    expect(await readdir(join(dataDir, "dead-letters"))).toEqual(["requests"]);
    expect(await run(["federation", "dlq", "list", "--data", dataDir])).toEqual({
      code: 0,
      stdout: "",
      stderr: "no dead letters\n",
    });
    expect(delivered).toEqual([PEER]);
    await queue.stopDelivery();
  });
});
