/**
 * `shroud profile` and `shroud group` end to end on the built CLI: two federated relays, alice's
 * profile on A (requests via B), bob's and carol's on B (via A). Three terminals hold a
 * conversation, alice removes carol, and nothing on disk gives away who or what.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  expectOneErrorLine,
  freePort,
  killAll,
  requireBuild,
  run,
  serve,
  type RunResult,
  type Served,
} from "./support.js";

interface User {
  name: string;
  dir: string;
  passphrase: string;
  /** Every stdout line its group commands printed, in order. */
  transcript: string[];
}

let dir: string;
let a: Served;
let b: Served;
let users: Record<"alice" | "bob" | "carol", User>;

function user(name: "alice" | "bob" | "carol"): User {
  return { name, dir: join(dir, name), passphrase: `${name} passphrase`, transcript: [] };
}

/** Runs a command on `who`'s profile and keeps what it printed in its transcript. */
function as(who: User, ...args: string[]): Promise<RunResult> {
  return asWithInput(who, undefined, ...args);
}

async function asWithInput(
  who: User,
  input: string | undefined,
  ...args: string[]
): Promise<RunResult> {
  const result = await run([...args, "--profile", who.dir], input, {
    SHROUD_PASSPHRASE: who.passphrase,
  });
  who.transcript.push(...result.stdout.split("\n").filter((l) => l !== ""));
  return result;
}

/**
 * Runs `group read` until every expected line has been printed (a deposit sent through an
 * ingress relay shows up only after that relay's batch and the group relay's round).
 */
async function readUntil(who: User, ...expected: string[]): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const result = await as(who, "group", "read");
    expect(result.code, result.stderr).toBe(0);
    const missing = expected.filter((line) => !who.transcript.includes(line));
    if (missing.length === 0) return;
    // A read is a whole process (and a key derivation): give the rounds a moment between them.
    await new Promise((resolve) => setTimeout(resolve, 200));
    if (Date.now() > deadline) {
      throw new Error(
        `${who.name} never read ${JSON.stringify(missing)}:\n${who.transcript.join("\n")}`,
      );
    }
  }
}

beforeAll(async () => {
  requireBuild();
  dir = await mkdtemp(join(tmpdir(), "shroud-group-cli-"));
  const ports = [await freePort(), await freePort()] as const;
  const url = (port: number) => `http://127.0.0.1:${port}`;
  const relay = (port: number, peer: number) =>
    serve([
      ...["--port", String(port), "--round-ms", "100", "--data", join(dir, `data-${port}`)],
      ...["--peer", url(peer)],
    ]);
  [a, b] = await Promise.all([relay(ports[0], ports[1]), relay(ports[1], ports[0])]);
  users = { alice: user("alice"), bob: user("bob"), carol: user("carol") };
});

afterAll(async () => {
  killAll();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("a conversation between profiles on two federated relays", { timeout: 60_000 }, () => {
  it("profile create makes each member and its card; relays are reached via the other", async () => {
    const { alice, bob, carol } = users;
    const create = (who: User, home: Served, via: Served) =>
      as(who, "profile", "create", "--name", who.name, "--relay", home.url, "--via", via.url);
    const results = await Promise.all([
      create(alice, a, b),
      create(bob, b, a),
      create(carol, b, a),
    ]);
    for (const [i, who] of [alice, bob, carol].entries()) {
      const home = who === alice ? a : b;
      const via = who === alice ? b : a;
      expect(results[i]).toEqual({
        code: 0,
        stdout:
          `profile for ${who.name} created in ${who.dir}: inbox on ${home.url}, ` +
          `requests via ${via.url}\n` +
          `card written to ${join(who.dir, "card.json")} (give it to whoever may add you to a ` +
          "group)\n",
        stderr: "",
      });
      const card = JSON.parse(await readFile(join(who.dir, "card.json"), "utf8")) as {
        name: string;
        relay: string;
        keyPackages: string[];
      };
      expect(card).toMatchObject({ shroud: "card/v2", name: who.name, relay: home.url });
      expect(card.keyPackages).toHaveLength(4);
    }
    const again = await create(alice, a, b);
    expectOneErrorLine(again, 1, /already holds a profile/);
  });

  it("alice creates a group and adds bob and carol from their card files; they join", async () => {
    const { alice, bob, carol } = users;
    expect(await as(alice, "group", "create", "friends")).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^\[friends\] created on .* \(epoch 0\)/) as unknown,
    });
    const added = await as(
      alice,
      ...["group", "add", "friends", join(bob.dir, "card.json"), join(carol.dir, "card.json")],
    );
    expect(added).toEqual({
      code: 0,
      stdout: "[friends] committed at epoch 1: added bob, carol\n",
      stderr: "",
    });
    const joined = "[friends] you joined: alice, bob, carol (epoch 1)";
    await Promise.all([readUntil(bob, joined), readUntil(carol, joined)]);
    // Adding a member again changes nothing.
    const again = await as(alice, "group", "add", "friends", join(bob.dir, "card.json"));
    expect(again.stdout).toBe("[friends] unchanged at epoch 1: nothing left to change\n");
  });

  it("each sends and each reads the others' messages", async () => {
    const { alice, bob, carol } = users;
    const sent = await Promise.all([
      as(bob, "group", "send", "friends", "hi from bob"),
      asWithInput(carol, "carol here\n", "group", "send", "friends"),
      as(alice, "group", "send", "friends", "hello all"),
    ]);
    // A send first prints what arrived since the last read, then that it was sent.
    for (const result of sent) {
      expect(result).toMatchObject({ code: 0, stderr: "" });
      expect(result.stdout).toMatch(/(^|\n)\[friends\] sent \(epoch 1\)\n$/);
    }
    await Promise.all([
      readUntil(alice, "[friends] bob: hi from bob", "[friends] carol: carol here"),
      readUntil(bob, "[friends] alice: hello all", "[friends] carol: carol here"),
      readUntil(carol, "[friends] alice: hello all", "[friends] bob: hi from bob"),
    ]);
    // Nobody reads their own messages back.
    expect(bob.transcript).not.toContain("[friends] bob: hi from bob");
  });

  it("alice removes carol: bob sees it, carol is told and reads nothing later", async () => {
    const { alice, bob, carol } = users;
    const removed = await as(alice, "group", "remove", "friends", "carol");
    expect(removed).toMatchObject({ code: 0, stderr: "" });
    expect(removed.stdout).toMatch(/(^|\n)\[friends\] committed at epoch 2: removed carol\n$/);
    expect((await as(alice, "group", "send", "friends", "after carol")).code).toBe(0);
    await Promise.all([
      readUntil(bob, "[friends] alice removed carol (epoch 2)", "[friends] alice: after carol"),
      readUntil(carol, "[friends] you were removed by alice"),
    ]);
    expect((await as(bob, "group", "send", "friends", "bob after carol")).code).toBe(0);
    await readUntil(alice, "[friends] bob: bob after carol");
    await as(carol, "group", "read");
    expect(carol.transcript.join("\n")).not.toMatch(/after carol/);

    expectOneErrorLine(
      await as(carol, "group", "send", "friends", "let me back"),
      1,
      /you were removed from "friends"/,
    );
    expect((await as(carol, "group", "list")).stdout).toBe("[friends] removed\n");
    expect((await as(alice, "group", "list")).stdout).toBe("[friends] epoch 2: alice, bob\n");
    expectOneErrorLine(
      await as(alice, "group", "remove", "friends", "alice"),
      1,
      /cannot remove yourself/,
    );
    expectOneErrorLine(await as(alice, "group", "send", "nope", "x"), 1, /no group "nope"/);
  });

  it("keeps every profile file 0600 and no names, inbox ids or passphrases in plaintext", async () => {
    const cards = await Promise.all(
      Object.values(users).map(
        async (who) =>
          JSON.parse(await readFile(join(who.dir, "card.json"), "utf8")) as { readId: string },
      ),
    );
    const secrets = [
      "friends",
      ...Object.values(users).flatMap((who) => [who.name, who.passphrase]),
      ...cards.map((card) => card.readId),
    ];
    for (const who of Object.values(users)) {
      const entries = await readdir(who.dir, { recursive: true, withFileTypes: true });
      const files = entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
      expect(files.some((f) => f.includes(join(who.dir, "groups")))).toBe(true);
      for (const file of files) {
        if (file === join(who.dir, "card.json")) continue;
        expect((await stat(file)).mode & 0o777, file).toBe(0o600);
        const text = (await readFile(file)).toString("latin1");
        for (const secret of secrets) expect(text, file).not.toContain(secret);
      }
      expect(files).not.toContain(join(who.dir, "lock"));
    }
  });

  it("a wrong passphrase fails in one line with exit 1, and so does a wrong key file", async () => {
    const wrong = await run(["group", "read", "--profile", users.alice.dir], undefined, {
      SHROUD_PASSPHRASE: "not alice's",
    });
    expectOneErrorLine(
      wrong,
      1,
      /^shroud: cannot decrypt the profile: wrong passphrase or key file$/,
    );
    const missing = await run(["group", "list", "--profile", users.alice.dir]);
    expectOneErrorLine(missing, 2, /set SHROUD_PASSPHRASE/);

    const keyed = join(dir, "keyed");
    const keyFile = join(dir, "keyed.key");
    const created = await run(
      ["profile", "create", "--name", "dave", "--relay", a.url, "--key-file", keyFile],
      undefined,
      { SHROUD_PROFILE: keyed },
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toBe(`key file written to ${keyFile} (keep it secret)\n`);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const card = await run(["profile", "card"], undefined, {
      SHROUD_PROFILE: keyed,
      SHROUD_KEY_FILE: keyFile,
    });
    expect(card.code).toBe(0);
    expect(JSON.parse(card.stdout)).toMatchObject({ name: "dave", relay: a.url });
    const other = join(dir, "other.key");
    await writeFile(other, randomBytes(32));
    const wrongKey = await run(["group", "list", "--key-file", other], undefined, {
      SHROUD_PROFILE: keyed,
    });
    expectOneErrorLine(wrongKey, 1, /cannot decrypt the profile: wrong passphrase or key file/);
  });

  it("bad arguments exit 2 with one line", async () => {
    const env = { SHROUD_PASSPHRASE: "x", SHROUD_PROFILE: join(dir, "nobody") };
    const cases: [string[], RegExp][] = [
      [["group"], /missing group command/],
      [["group", "chat"], /unknown group command "chat"/],
      [["group", "add", "friends"], /usage: shroud group add GROUP CARD_FILE\.\.\./],
      [["group", "send"], /usage: shroud group send GROUP \[TEXT\]/],
      [["group", "send", "friends", "two", "words"], /quote the message/],
      [["group", "list", "extra"], /usage: shroud group list/],
      [["group", "read", "--bogus"], /unknown option '--bogus'/],
      [["group", "create", "x".repeat(65)], /GROUP must have 1 to 64 bytes/],
      [["profile"], /missing profile command/],
      [["profile", "create", "--relay", a.url], /--name NAME/],
      [["profile", "create", "--name", "x"], /--relay URL/],
      [["profile", "create", "--name", "x", "--relay", "ftp://x"], /--relay must be an http/],
      [["profile", "create", "--name", "x", "--relay", a.url, "--key-packages", "0"], /1 to 64/],
      [["profile", "create", "--name", "x", "--relay", a.url, "--via", "b"], /--via must be/],
    ];
    // A few at a time: each is a process, and the harness kills one that takes 10 s.
    for (let i = 0; i < cases.length; i += 4) {
      const batch = cases.slice(i, i + 4);
      const results = await Promise.all(batch.map(([args]) => run(args, undefined, env)));
      for (const [j, [, pattern]] of batch.entries()) expectOneErrorLine(results[j]!, 2, pattern);
    }
    const noSecret = await run(["profile", "create", "--name", "x", "--relay", a.url], undefined, {
      SHROUD_PROFILE: join(dir, "nobody"),
    });
    expectOneErrorLine(noSecret, 2, /set SHROUD_PASSPHRASE or give --key-file FILE/);
    expectOneErrorLine(await run(["group", "list"], undefined, env), 1, /no profile in/);
  });

  it("documents profile and group", async () => {
    const [main, profile, group, help] = await Promise.all(
      [["--help"], ["profile", "--help"], ["group", "--help"], ["help", "group"]].map((args) =>
        run(args),
      ),
    );
    expect(main!.stdout).toContain("profile create");
    expect(main!.stdout).toMatch(/\n {2}group /);
    expect(profile!.stdout).toContain("shroud profile create --name NAME --relay URL");
    expect(profile!.stdout).toContain("SHROUD_PASSPHRASE");
    expect(group!.stdout).toContain("shroud group add GROUP CARD_FILE...");
    expect(help!.stdout).toBe(group!.stdout);
  });
});
