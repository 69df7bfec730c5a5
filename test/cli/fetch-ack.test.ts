/**
 * `shroud fetch --ack` acknowledges only what opened, in sequence order: an item that does not
 * open (here: sealed to another inbox's key) and every item after it stay on the relay, and the
 * count line says so. Runs the built CLI against `shroud serve`.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, killAll, requireBuild, run, serve, type Served } from "./support.js";

describe("shroud fetch --ack", () => {
  let dir: string;
  let relay: Served;
  const path = (name: string) => join(dir, name);

  beforeAll(async () => {
    requireBuild();
    dir = await mkdtemp(join(tmpdir(), "shroud-fetch-ack-"));
    const port = await freePort();
    relay = await serve(["--port", String(port), "--round-ms", "0", "--data", path("data")]);
  });

  afterAll(async () => {
    killAll();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function ok(args: string[], input?: string) {
    const result = await run(args, input);
    expect(result.code, result.stderr).toBe(0);
    return result;
  }

  it("never acknowledges past an item that did not open", async () => {
    for (const name of ["a", "b"]) {
      await ok(
        ["inbox", "create", "--relay", relay.url, "--out", path(`${name}.json`)].concat([
          "--card",
          path(`${name}-card.json`),
        ]),
      );
    }
    // A's inbox, B's public key: the relay takes the deposit, A cannot open it.
    const cardA = JSON.parse(await readFile(path("a-card.json"), "utf8")) as Record<
      string,
      unknown
    >;
    const cardB = JSON.parse(await readFile(path("b-card.json"), "utf8")) as Record<
      string,
      unknown
    >;
    await writeFile(
      path("mixed-card.json"),
      JSON.stringify({ ...cardA, publicKey: cardB["publicKey"] }),
    );

    await ok(["send", "--card", path("a-card.json")], "first");
    await ok(["send", "--card", path("mixed-card.json")], "sealed to the wrong key");
    await ok(["send", "--card", path("a-card.json")], "third");

    const fetched = await ok(["fetch", "--inbox", path("a.json"), "--ack"]);
    expect(fetched.stdout).toBe("first\nthird\n");
    expect(fetched.stderr).toBe(
      "2 messages, 1 unreadable (not sealed to this inbox), acked 1, " +
        "not acked from the first unreadable item on (2 items kept on the relay)\n",
    );

    // Only the first message is gone: the unreadable item and the one after it are still there.
    const again = await ok(["fetch", "--inbox", path("a.json"), "--ack"]);
    expect(again.stdout).toBe("third\n");
    expect(again.stderr).toBe(
      "1 message, 1 unreadable (not sealed to this inbox), acked 0, " +
        "not acked from the first unreadable item on (2 items kept on the relay)\n",
    );
  });

  it("acknowledges everything when every item opens", async () => {
    await ok(["send", "--card", path("b-card.json")], "one");
    await ok(["send", "--card", path("b-card.json")], "two");
    const fetched = await ok(["fetch", "--inbox", path("b.json"), "--ack"]);
    expect(fetched.stdout).toBe("one\ntwo\n");
    expect(fetched.stderr).toBe("2 messages, acked 2\n");
    expect((await ok(["fetch", "--inbox", path("b.json")])).stderr).toBe("0 messages\n");
  });
});
