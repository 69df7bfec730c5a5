/**
 * Dead letters on the embedded store are capped: relay A sends every round to a real peer (a
 * stand-in on loopback) that refuses every batch; past `maxDeadLetters` the oldest dead letter
 * is dropped, counted, and logged once without any detail. The directory that mirrors them for
 * `shroud federation dlq` writes a file only when a dead letter appears or changes.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DeadLetterDirectory } from "../../src/adapters/node/dead-letter-directory.js";
import { toHex } from "../../src/protocol/bytes.js";
import { MetricName } from "../../src/relay/ports/metrics.js";
import { startStandIns, type StandIns } from "./peer-stand-in.js";
import { startRelay, type TestRelay } from "./support.js";
import { waitFor } from "../../testkit/wait.js";

describe("dead letters on the embedded store", () => {
  let refusing: StandIns | undefined;
  let a: TestRelay | undefined;
  let dir: string | undefined;
  afterAll(async () => {
    await a?.close();
    await refusing?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("keeps the newest maxDeadLetters, drops the oldest, mirrors only changes", async () => {
    refusing = await startStandIns(1, { batchStatus: 503 });
    const peer = refusing.peers[0]!;
    a = await startRelay({
      host: "127.0.0.1",
      backend: { kind: "memory" },
      config: {
        roundIntervalMs: 60_000,
        federation: {
          policy: "allowlist",
          peers: [peer.url],
          delivery: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 10 },
          maxDeadLetters: 3,
        },
      },
    });
    const relay = a;
    const queue = relay.ports.federation;
    for (let round = 1; round <= 6; round++) {
      await relay.relay.closeRound();
      await waitFor(
        () => relay.counter(MetricName.federationDeadLettered, { peer: peer.url }),
        (dead) => dead === round,
        10_000,
        `dead letter ${round}`,
      );
    }
    const dead = await queue.deadLetters();
    expect(dead.map((d) => toHex(d.batch))).toEqual(peer.batches.slice(3).map(toHex));
    expect(await relay.counter(MetricName.federationDeadLettersDropped)).toBe(3);
    // Six dead letters and six failed deliveries, each said once (a minute apart at most), and
    // the drop at the cap once: the peer's configured origin is all they name.
    expect(relay.logs).toEqual([
      `shroud: warn: federation peer unreachable; retrying (peer=${peer.url})`,
      `shroud: warn: a federation batch ran out of attempts: moved to the dead-letter queue (peer=${peer.url})`,
      "shroud: warn: dropped the oldest federation dead letter (maxDeadLetters reached)",
    ]);

    dir = await mkdtemp(join(tmpdir(), "shroud-dead-letters-"));
    const mirror = new DeadLetterDirectory(dir);
    await mirror.sync(queue);
    const files = (await readdir(dir)).filter((name) => name.endsWith(".json")).sort();
    expect(files).toEqual(dead.map((d) => `${d.id}.json`).sort());
    // A file the relay already wrote is not written again while its dead letter is unchanged.
    const untouched = join(dir, `${dead[0]!.id}.json`);
    await writeFile(untouched, "left alone");
    await mirror.sync(queue);
    expect(await readFile(untouched, "utf8")).toBe("left alone");
    // A dropped dead letter's file goes; a new one's comes.
    await mirror.request("drop", dead[1]!.id);
    await relay.relay.closeRound();
    await waitFor(
      () => relay.counter(MetricName.federationDeadLettered, { peer: peer.url }),
      (n) => n === 7,
      10_000,
      "dead letter 7",
    );
    await mirror.sync(queue);
    const newest = (await queue.deadLetters()).map((d) => `${d.id}.json`).sort();
    expect((await readdir(dir)).filter((name) => name.endsWith(".json")).sort()).toEqual(newest);
    expect(newest).not.toContain(`${dead[1]!.id}.json`);
  }, 60_000);
});
