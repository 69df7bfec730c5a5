/**
 * What a new user runs into first, each answered by one line that says what to do: the CLI in
 * a clone where `npm ci` has not run, a relay URL without its scheme, a message over the size
 * limit, and an inbox file other users can read.
 */
import { chmod, cp, mkdir, mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { execFile } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManagedChild } from "../../testkit/child-process.js";
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

describe("first run", () => {
  let dir: string;
  let relay: Served;

  beforeAll(async () => {
    requireBuild();
    dir = await mkdtemp(join(tmpdir(), "shroud-first-run-"));
    const port = await freePort();
    relay = await serve(["--port", String(port), "--round-ms", "0", "--data", join(dir, "data")]);
  }, 60_000);

  afterAll(async () => {
    killAll();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("bin/shroud.js before npm ci says to run it, without a stack", async () => {
    const clone = join(dir, "clone");
    await cp(join(root, "bin"), join(clone, "bin"), { recursive: true });
    await cp(join(root, "package.json"), join(clone, "package.json"));
    const result = await promisify(execFile)(process.execPath, [
      join(clone, "bin", "shroud.js"),
      "demo",
    ]).then(
      () => ({ code: 0, stderr: "" }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
    );
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split("\n")).toEqual([
      expect.stringMatching(/^shroud: not installed yet: run `npm ci` in .*clone/),
    ]);
  });

  it("serve's banner prints commands that work as printed", { timeout: 90_000 }, async () => {
    // Started from another directory, as `node /path/to/bin/shroud.js serve`: the hint must
    // name the script so that it runs from there, and the three commands must work in turn.
    const cwd = join(dir, "elsewhere");
    await mkdir(cwd);
    const port = await freePort();
    const served = new ManagedChild(
      "serve",
      process.execPath,
      [join(root, "bin", "shroud.js"), "serve", "--port", String(port), "--round-ms", "0"],
      { cwd, env: { ...process.env, npm_lifecycle_event: "", npm_command: "" } },
    );
    try {
      const hints: string[] = [];
      served.onLine((line) => {
        if (line.startsWith("  ")) hints.push(line.trim());
      });
      await served.waitForLine((line) => (line.includes("--ack") ? true : undefined), 60_000);
      expect(hints).toHaveLength(3);
      expect(hints[0]).toMatch(/^node \/\S+\/bin\/shroud\.js inbox create --relay http/);
      const shell = promisify(execFile);
      for (const hint of hints.slice(0, 2)) await shell("sh", ["-c", hint], { cwd });
      const fetched = await shell("sh", ["-c", hints[2]!], { cwd });
      expect(fetched.stdout).toBe("hello\n");
    } finally {
      await served.stop();
    }
  });

  it("serve with Redis down says where it looked, in one line", { timeout: 60_000 }, async () => {
    const port = await freePort();
    const result = await run(
      ["serve", "--port", String(await freePort()), "--redis", `redis://user:pw@127.0.0.1:${port}`],
      undefined,
      { SHROUD_MASTER_KEY: Buffer.alloc(32, 7).toString("base64") },
    );
    expectOneErrorLine(
      result,
      1,
      new RegExp(`^shroud: cannot reach Redis at 127\\.0\\.0\\.1:${port} \\(.*\\): is it running`),
    );
    expect(result.stderr).not.toContain("pw");
  });

  it("a relay given as host:port gets the URL to type", async () => {
    const port = new URL(relay.url).port;
    const result = await run([
      "inbox",
      "create",
      "--relay",
      `127.0.0.1:${port}`,
      "--out",
      join(dir, "x.json"),
    ]);
    expectOneErrorLine(result, 2, new RegExp(`did you mean "http://127\\.0\\.0\\.1:${port}"\\?`));
    const named = await run(["inbox", "create", "--relay", "localhost:1", "--out", "y.json"]);
    expectOneErrorLine(named, 2, /did you mean "http:\/\/localhost:1"\?/);
  });

  it(
    "a file over the size limit is refused with the limit in bytes",
    { timeout: 60_000 },
    async () => {
      const inbox = join(dir, "big-inbox.json");
      const card = join(dir, "big-card.json");
      const created = await run([
        "inbox",
        "create",
        "--relay",
        relay.url,
        "--out",
        inbox,
        "--card",
        card,
      ]);
      expect(created.code).toBe(0);
      // A sparse file: its size is all that matters, and the CLI refuses it before reading it.
      const big = join(dir, "big.bin");
      await writeFile(big, "");
      await truncate(big, 2 ** 31);
      const sent = await run(["send", "--card", card, "--file", big]);
      expectOneErrorLine(
        sent,
        1,
        /big\.bin has 2147483648 bytes; a message may have at most \d+ bytes$/,
      );
    },
  );

  it("an inbox file readable by other users gets a warning, and still works", async () => {
    const inbox = join(dir, "inbox.json");
    const created = await run(["inbox", "create", "--relay", relay.url, "--out", inbox]);
    expect(created.code).toBe(0);
    const quiet = await run(["fetch", "--inbox", inbox]);
    expect(quiet.stderr).toBe("0 messages\n");
    await chmod(inbox, 0o644);
    const warned = await run(["fetch", "--inbox", inbox]);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toBe(
      `shroud: warning: inbox file ${inbox} is readable by other users (mode 0644); ` +
        `it holds a private key: chmod 600 ${inbox}\n0 messages\n`,
    );
  });
});
