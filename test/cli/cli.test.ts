/**
 * End-to-end tests of the `shroud` command line: every case runs the built CLI (bin/shroud.js ->
 * dist/cli/main.js) in a child process against a relay started with `shroud serve`.
 */
import Database from "better-sqlite3";
import { existsSync } from "node:fs";
import { cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  expectOneErrorLine,
  freePort,
  killAll,
  requireBuild,
  root,
  run,
  serve,
  type Served,
} from "./support.js";

function mode(stats: { mode: number }): number {
  return stats.mode & 0o777;
}

describe("shroud CLI", () => {
  let dir: string;
  let dataDir: string;
  let relay: Served;
  let startupOutput: string;
  const inboxPath = () => join(dir, "inbox.json");
  const cardPath = () => join(dir, "card.json");

  beforeAll(async () => {
    requireBuild();
    dir = await mkdtemp(join(tmpdir(), "shroud-cli-"));
    dataDir = join(dir, "data");
    const port = await freePort();
    relay = await serve(["--port", String(port), "--round-ms", "0", "--data", dataDir]);
    startupOutput = relay.output().stdout;
  });

  afterAll(async () => {
    killAll();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("prints usage and the package version", async () => {
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: shroud <command>");
    expect(help.stdout).toContain("SHROUD_DEBUG");
    expect((await run([])).stdout).toBe(help.stdout);
    expect((await run(["help", "serve"])).stdout).toContain("SHROUD_PORT");
    const pkg = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as {
      version: string;
    };
    const version = await run(["--version"]);
    expect(version).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: "" });
  });

  it("serve prints its URL and a try-it hint", () => {
    expect(relay.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(startupOutput).toContain(`inbox create --relay ${relay.url}`);
    expect(startupOutput).toContain("shroud send --card");
    expect(startupOutput).toContain("shroud fetch --inbox");
  });

  it("creates an inbox file (0600) and a card without read secrets, and never overwrites", async () => {
    const created = await run([
      "inbox",
      "create",
      "--relay",
      relay.url,
      "--out",
      inboxPath(),
      "--card",
      cardPath(),
    ]);
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    expect(created.stdout).toContain(inboxPath());
    expect(created.stdout).toContain(cardPath());
    expect(mode(await stat(inboxPath()))).toBe(0o600);
    const inbox = JSON.parse(await readFile(inboxPath(), "utf8")) as Record<string, string>;
    const card = JSON.parse(await readFile(cardPath(), "utf8")) as Record<string, string>;
    expect(inbox["shroud"]).toBe("inbox/v2");
    expect(card["shroud"]).toBe("card/v2");
    expect(card["relaySigningKey"]).toBe(inbox["relaySigningKey"]);
    expect(card).not.toHaveProperty("readSecret");
    expect(card).not.toHaveProperty("privateKey");

    const before = await readFile(inboxPath(), "utf8");
    const again = await run(["inbox", "create", "--relay", relay.url, "--out", inboxPath()]);
    expectOneErrorLine(again, 1, /already exists/);
    expect(await readFile(inboxPath(), "utf8")).toBe(before);
  });

  it("delivers messages sent via stdin and --file, in full, to fetch on stdout", async () => {
    const viaStdin = await run(["send", "--card", cardPath()], "hello from stdin\n");
    expect(viaStdin).toEqual({ code: 0, stdout: "accepted\n", stderr: "" });
    const file = join(dir, "message.txt");
    await writeFile(file, "from a file, no newline");
    const viaFile = await run(["send", "--card", cardPath(), "--file", file]);
    expect(viaFile).toEqual({ code: 0, stdout: "accepted\n", stderr: "" });

    const fetched = await run(["fetch", "--inbox", inboxPath()]);
    expect(fetched.code).toBe(0);
    expect(fetched.stdout).toBe("hello from stdin\nfrom a file, no newline\n");
    expect(fetched.stderr).toBe("2 messages\n");
  });

  it("fetch --out writes one <seq>.msg file per message into a new directory", async () => {
    const out = join(dir, "received", "nested");
    const fetched = await run(["fetch", "--inbox", inboxPath(), "--out", out]);
    expect(fetched.code).toBe(0);
    expect(fetched.stdout).toBe("");
    expect(fetched.stderr).toMatch(/^2 messages, written to /);
    const files = (await readdir(out)).sort();
    expect(files).toHaveLength(2);
    for (const name of files) expect(name).toMatch(/^\d+\.msg$/);
    const contents = await Promise.all(files.map((f) => readFile(join(out, f), "utf8")));
    expect(contents.sort()).toEqual(["from a file, no newline", "hello from stdin\n"]);
    // Fetching the same messages into the same directory again is harmless.
    expect((await run(["fetch", "--inbox", inboxPath(), "--out", out])).code).toBe(0);
  });

  it("fetch --ack removes what it fetched", async () => {
    const acked = await run(["fetch", "--inbox", inboxPath(), "--ack"]);
    expect(acked.code).toBe(0);
    expect(acked.stdout).toBe("hello from stdin\nfrom a file, no newline\n");
    expect(acked.stderr).toBe("2 messages, acked 2\n");
    const after = await run(["fetch", "--inbox", inboxPath()]);
    expect(after).toEqual({ code: 0, stdout: "", stderr: "0 messages\n" });
  });

  it("treats an inbox nobody has deposited to as empty", async () => {
    const fresh = join(dir, "fresh-inbox.json");
    expect((await run(["inbox", "create", "--relay", relay.url, "--out", fresh])).code).toBe(0);
    const fetched = await run(["fetch", "--inbox", fresh, "--ack"]);
    expect(fetched).toEqual({ code: 0, stdout: "", stderr: "0 messages\n" });
  });

  it("keys rotate updates the key ring in the 0600 store file and the relay keeps working", async () => {
    // The default store: one SQLite file, holding the key ring, that only its owner may read.
    const storeFile = join(dataDir, "shroud.db");
    expect(existsSync(join(dataDir, "keys.json"))).toBe(false);
    expect(mode(await stat(storeFile))).toBe(0o600);
    expect(mode(await stat(dataDir))).toBe(0o700);
    const rotated = await run(["keys", "rotate", "--data", dataDir]);
    expect(rotated.stderr).toBe("");
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toMatch(/^new key id \d+; removed 0 expired keys;/);
    const db = new Database(storeFile, { readonly: true });
    const row = db.prepare<[], { ring: string }>("SELECT ring FROM key_ring").get()!;
    db.close();
    expect((JSON.parse(row.ring) as { hpke: unknown[] }).hpke).toHaveLength(2);
    expect(mode(await stat(storeFile))).toBe(0o600);

    expect((await run(["send", "--card", cardPath()], "after rotation")).stdout).toBe("accepted\n");
    const fetched = await run(["fetch", "--inbox", inboxPath(), "--ack"]);
    expect(fetched.stdout).toBe("after rotation\n");
    expect(fetched.stderr).toBe("1 message, acked 1\n");
  });

  it("serve --store memory keeps the key file and rotates it, with no store file", async () => {
    const data = join(dir, "data-memory");
    const other = await serve(["--port", "0", "--store", "memory", "--data", data]);
    expect(other.output().stdout).toMatch(/\(keys in .*data-memory, messages in memory\)/);
    const keyFile = join(data, "keys.json");
    expect(mode(await stat(keyFile))).toBe(0o600);
    expect(existsSync(join(data, "shroud.db"))).toBe(false);
    const rotated = await run(["keys", "rotate", "--data", data]);
    expect(rotated.code).toBe(0);
    const ring = JSON.parse(await readFile(keyFile, "utf8")) as { hpke: unknown[] };
    expect(ring.hpke).toHaveLength(2);
    other.child.kill("SIGTERM");
    expect(await other.exited).toBe(0);
  });

  it("keys rotate on an empty data directory says how to get keys", async () => {
    const empty = join(dir, "no-keys");
    const result = await run(["keys", "rotate", "--data", empty]);
    expectOneErrorLine(result, 1, /no keys in .*no-keys; start `shroud serve --data /);
  });

  it("exits 2 with one line for bad arguments", async () => {
    expectOneErrorLine(await run(["send", "--bogus"]), 2, /unknown option '--bogus'/);
    expectOneErrorLine(await run(["send"]), 2, /missing --card/);
    expectOneErrorLine(await run(["fetch", "--inbox"]), 2, /argument missing/);
    expectOneErrorLine(await run(["frobnicate"]), 2, /unknown command "frobnicate"/);
    expectOneErrorLine(await run(["serve", "--port", "http"]), 2, /--port must be an integer/);
    expectOneErrorLine(
      await run(["keys", "rotate", "--data", "x", "--redis", "redis://127.0.0.1:1"]),
      2,
      /--data and --redis exclude each other/,
    );
  });

  it("keys rotate --data uses the key file even with REDIS_URL in the environment", async () => {
    const copy = join(dir, "data-copy");
    await cp(dataDir, copy, { recursive: true });
    const rotated = await run(["keys", "rotate", "--data", copy], undefined, {
      REDIS_URL: "redis://127.0.0.1:1",
    });
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toMatch(/^new key id \d+/);
  });

  it("exits 1 with one line when the relay is unreachable", async () => {
    const closed = await freePort();
    const out = join(dir, "unreachable.json");
    const result = await run([
      "inbox",
      "create",
      "--relay",
      `http://127.0.0.1:${closed}`,
      "--out",
      out,
    ]);
    expectOneErrorLine(result, 1, /cannot reach relay at http:\/\/127\.0\.0\.1:\d+/);
    expect(existsSync(out)).toBe(false);
  });

  it("exits 1 with one line for a card file that is not a card", async () => {
    const garbage = join(dir, "garbage.json");
    await writeFile(garbage, "\u0000not json at all{");
    expectOneErrorLine(
      await run(["send", "--card", garbage], "x"),
      1,
      /garbage\.json: not a Shroud card file/,
    );
    expectOneErrorLine(
      await run(["send", "--card", join(dir, "missing.json")], "x"),
      1,
      /cannot read card file .*missing\.json: no such file/,
    );
  });

  it("serve logs nothing about clients while it works", () => {
    const { stdout, stderr } = relay.output();
    expect(stdout).toBe(startupOutput);
    expect(stderr).toBe("");
  });

  it("serve --port 0 prints the bound port and exits 0 on SIGTERM", async () => {
    const other = await serve(["--port", "0", "--data", join(dir, "data2")]);
    expect(other.url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
    other.child.kill("SIGTERM");
    expect(await other.exited).toBe(0);
    expect(other.output().stdout).toMatch(/relay closed\n$/);
    expect(other.output().stderr).toBe("");
  });

  it("serve reloads rotated keys at once on SIGHUP", async () => {
    const data = join(dir, "data3");
    const other = await serve(["--port", "0", "--data", data]);
    const keyIds = async () => {
      const res = await fetch(new URL("/.well-known/ohttp-keys", other.url));
      const bytes = new Uint8Array(await res.arrayBuffer());
      const ids: number[] = [];
      // application/ohttp-keys: uint16 length, then a config whose first byte is its key id.
      for (let at = 0; at < bytes.length; at += 2 + ((bytes[at]! << 8) | bytes[at + 1]!)) {
        ids.push(bytes[at + 2]!);
      }
      return ids;
    };
    const before = await keyIds();
    expect(before).toHaveLength(1);
    const rotated = await run(["keys", "rotate", "--data", data, "--overlap-hours", "0"]);
    expect(rotated.code).toBe(0);
    const newId = Number(/new key id (\d+)/.exec(rotated.stdout)![1]);
    other.child.kill("SIGHUP");
    await expect
      .poll(() => other.output().stdout, { timeout: 5000 })
      .toContain("SIGHUP: keys reloaded");
    expect(await keyIds()).toEqual([newId]);
    other.child.kill("SIGTERM");
    expect(await other.exited).toBe(0);
  });
});
