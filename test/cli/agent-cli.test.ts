/**
 * `shroud agent` end to end on the built CLI: two federated relays on loopback, alice's profile
 * on A (requests via B) and bob's on B (via A), an agent for each. The profile commands go
 * through the agents (they hold the profiles: no passphrase is needed, the lock is theirs), bob's
 * agent reads the group on its own, and `group read` prints what it kept. Without an agent the
 * commands work as before; SIGTERM saves and leaves no socket; a killed agent's socket is
 * cleaned up.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  expectOneErrorLine,
  freePort,
  killAll,
  requireBuild,
  root,
  serve,
  type RunResult,
  type Served,
} from "./support.js";

interface User {
  name: string;
  dir: string;
  passphrase: string;
}

interface Agent {
  child: ChildProcess;
  output: () => { stdout: string; stderr: string };
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Fast slots, so that a test sees many of them; the groups are read every 20 slots. */
const INTERVAL_MS = "100";
const READY = /^agent running for the profile in .*\n$/;

/** How long one command may take: through an agent it waits for slots on a busy machine. */
const COMMAND_TIMEOUT_MS = 60_000;

let dir: string;
let a: Served;
let b: Served;
let alice: User;
let bob: User;
let carol: User;
/** Agents and commands of this file still running (killed in afterAll). */
const children = new Set<ChildProcess>();

function socketOf(who: User): string {
  return join(who.dir, "agent.sock");
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** A child running the built CLI, with no SHROUD_* variable but those in `env`. */
function spawnCli(args: string[], env: NodeJS.ProcessEnv, cwd = root): ChildProcess {
  const kept = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("SHROUD_") && k !== "REDIS_URL"),
  );
  const child = spawn(process.execPath, [join(root, "bin", "shroud.js"), ...args], {
    cwd,
    env: { ...kept, ...env },
  });
  children.add(child);
  child.on("close", () => children.delete(child));
  return child;
}

/** A profile command on `who`'s profile; `passphrase: false` runs it without the secret. */
function as(who: User, args: string[], options: { passphrase?: boolean } = {}): Promise<RunResult> {
  const env = options.passphrase === false ? {} : { SHROUD_PASSPHRASE: who.passphrase };
  return run([...args, "--profile", who.dir], env);
}

/** Runs the CLI to completion in `cwd` (default: the repository). */
function run(args: string[], env: NodeJS.ProcessEnv, cwd = root): Promise<RunResult> {
  const child = spawnCli(args, env, cwd);
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), COMMAND_TIMEOUT_MS);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin!.end();
  });
}

/** Starts `shroud agent` for `who` and resolves once it says it is ready. */
function startAgent(who: User, extra: string[] = []): Promise<Agent> {
  const child = spawnCli(
    ["agent", "--profile", who.dir, "--shaping-interval-ms", INTERVAL_MS, ...extra],
    { SHROUD_PASSPHRASE: who.passphrase },
  );
  let stdout = "";
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`agent did not start: ${stderr}`)), 30_000);
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      if (READY.test(stdout)) {
        clearTimeout(timer);
        resolve({ child, output: () => ({ stdout, stderr }), exited });
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`agent exited with ${code}: ${stderr}`));
    });
  });
}

interface Status {
  real: number;
  cover: number;
  kept: number;
}

async function status(who: User): Promise<Status> {
  const result = await as(who, ["agent", "status"], { passphrase: false });
  expect(result.code, result.stderr).toBe(0);
  // One line per relay client: summed.
  const slots = [...result.stdout.matchAll(/: \d+ requests in slots \((\d+) real, (\d+) cover/g)];
  const kept = /kept for group read: (\d+) events?/.exec(result.stdout);
  if (slots.length === 0 || !kept) throw new Error(`unexpected status: ${result.stdout}`);
  const sum = (i: number) => slots.reduce((n, m) => n + Number(m[i]), 0);
  return { real: sum(1), cover: sum(2), kept: Number(kept[1]) };
}

/** Polls `probe` until it returns a value, for up to `ms`. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>, ms = 120_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Runs `group read` until its output has `expected`; returns everything it printed. */
async function readUntil(who: User, expected: string, passphrase = false): Promise<string> {
  let printed = "";
  await eventually(`${who.name} to read ${expected}`, async () => {
    const result = await as(who, ["group", "read"], { passphrase });
    expect(result.code, result.stderr).toBe(0);
    printed += result.stdout;
    return printed.includes(expected) ? true : undefined;
  });
  return printed;
}

/** Sends raw bytes to an agent's socket and returns the answer lines it sends back. */
function rawRequest(who: User, bytes: string | Buffer): Promise<unknown[]> {
  return new Promise((resolve) => {
    const socket = connect(socketOf(who));
    let answer = "";
    socket.setEncoding("utf8").on("data", (d: string) => (answer += d));
    // The agent may answer and close before a long request is all written: what it said counts.
    socket.on("error", () => undefined);
    socket.on("close", () =>
      resolve(
        answer
          .split("\n")
          .filter((l) => l !== "")
          .map((l) => JSON.parse(l) as unknown),
      ),
    );
    socket.write(bytes);
  });
}

let aliceAgent: Agent;
let bobAgent: Agent;

beforeAll(async () => {
  requireBuild();
  // A short path: a Unix socket path has at most 103 bytes.
  dir = await mkdtemp(join(tmpdir(), "shroud-agent-"));
  const ports = [await freePort(), await freePort()] as const;
  const url = (port: number) => `http://127.0.0.1:${port}`;
  const relay = (port: number, peer: number) =>
    serve([
      ...["--port", String(port), "--round-ms", "100", "--data", join(dir, `data-${port}`)],
      ...["--peer", url(peer)],
      // Every client here is on 127.0.0.1, two agents shaping fast: the per-address caps are
      // not what this tests.
      ...["--rate-limit", "0", "--max-connections-per-address", "0"],
    ]);
  [a, b] = await Promise.all([relay(ports[0], ports[1]), relay(ports[1], ports[0])]);
  alice = { name: "alice", dir: join(dir, "alice"), passphrase: "alice passphrase" };
  bob = { name: "bob", dir: join(dir, "bob"), passphrase: "bob passphrase" };
  carol = { name: "carol", dir: join(dir, "carol"), passphrase: "carol passphrase" };
});

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  killAll();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("shroud agent", { timeout: 240_000 }, () => {
  it("without an agent the profile commands work as before", async () => {
    const create = (who: User, home: Served, via: Served) =>
      as(who, ["profile", "create", "--name", who.name, "--relay", home.url, "--via", via.url]);
    for (const result of await Promise.all([create(alice, a, b), create(bob, b, a)])) {
      expect(result.code, result.stderr).toBe(0);
    }
    expect(await as(alice, ["group", "create", "friends"])).toEqual({
      code: 0,
      stdout:
        `[friends] created on ${a.url} (epoch 0); ` +
        "add members with `shroud group add GROUP CARD...`\n",
      stderr: "",
    });
    expect(await as(alice, ["group", "add", "friends", join(bob.dir, "card.json")])).toEqual({
      code: 0,
      stdout: "[friends] committed at epoch 1: added bob\n",
      stderr: "",
    });
    // Without an agent a command opens the profile itself: it needs the passphrase.
    const locked = await as(alice, ["group", "list"], { passphrase: false });
    expectOneErrorLine(locked, 2, /set SHROUD_PASSPHRASE/);
    expect(await exists(socketOf(alice))).toBe(false);
  });

  it("an agent holds the profile behind a 0600 socket; a second agent is refused", async () => {
    [aliceAgent, bobAgent] = await Promise.all([startAgent(alice), startAgent(bob)]);
    for (const [who, agent] of [
      [alice, aliceAgent],
      [bob, bobAgent],
    ] as const) {
      const info = await stat(socketOf(who));
      expect(info.isSocket()).toBe(true);
      expect(info.mode & 0o777).toBe(0o600);
      expect((await readFile(join(who.dir, "lock"), "utf8")).trim()).toBe(String(agent.child.pid));
    }
    const second = await as(alice, ["agent", "--shaping-interval-ms", INTERVAL_MS]);
    expectOneErrorLine(second, 1, /an agent already runs for the profile in .*alice/);
  });

  it("commands go through the agent, which keeps sending on its schedule", async () => {
    // Bob joins through his agent: his command has no passphrase, so it never opened the profile.
    const joined = await readUntil(bob, "[friends] you joined: alice, bob (epoch 1)\n");
    expect(joined).toBe("[friends] you joined: alice, bob (epoch 1)\n");

    const before = await status(alice);
    const sent = await as(alice, ["group", "send", "friends", "hello bob"], { passphrase: false });
    expect(sent).toEqual({ code: 0, stdout: "[friends] sent (epoch 1)\n", stderr: "" });
    // The agent still held the profile throughout, and sent the message in one of its slots.
    expect((await readFile(join(alice.dir, "lock"), "utf8")).trim()).toBe(
      String(aliceAgent.child.pid),
    );
    const after = await status(alice);
    expect(after.real).toBeGreaterThan(before.real);
    // The command is over; the agent's cover goes on.
    await eventually("more cover from alice's agent", async () => {
      const now = await status(alice);
      return now.cover >= after.cover + 10 ? now : undefined;
    });
    expect(await as(alice, ["group", "list"], { passphrase: false })).toEqual({
      code: 0,
      stdout: "[friends] epoch 1: alice, bob\n",
      stderr: "",
    });
  });

  it("bob's agent reads on its own; group read prints what it kept", async () => {
    // Nobody runs group read meanwhile: the agent fetches the message by itself.
    await eventually("bob's agent to read alice's message", async () => {
      const now = await status(bob);
      return now.kept >= 1 ? now : undefined;
    });
    expect(await as(bob, ["group", "read"], { passphrase: false })).toEqual({
      code: 0,
      stdout: "[friends] alice: hello bob\n",
      stderr: "",
    });
    expect(await as(bob, ["group", "read"], { passphrase: false })).toEqual({
      code: 0,
      stdout: "",
      stderr: "nothing new\n",
    });
    expect((await status(bob)).kept).toBe(0);

    expect(await as(bob, ["group", "send", "friends", "hi alice"], { passphrase: false })).toEqual({
      code: 0,
      stdout: "[friends] sent (epoch 1)\n",
      stderr: "",
    });
    expect(await readUntil(alice, "[friends] bob: hi alice\n")).toBe("[friends] bob: hi alice\n");
  });

  it("bad input on the socket gets one error line and changes nothing", async () => {
    const notJson = await rawRequest(alice, "not json\n");
    expect(notJson).toEqual([
      { stderr: "shroud: the agent got a request that is not JSON\n" },
      { exit: 2 },
    ]);
    const unknown = await rawRequest(
      alice,
      `${JSON.stringify({ shroud: "agent-request/v1", command: "group", sub: "drop", positionals: [], cards: [] })}\n`,
    );
    expect(unknown).toEqual([
      { stderr: 'shroud: unknown group command "drop" (see `shroud group --help`)\n' },
      { exit: 2 },
    ]);
    const oversized = await rawRequest(alice, Buffer.alloc(4 * 1024 * 1024 + 10, 0x61));
    expect(oversized).toEqual([
      { stderr: "shroud: a request to the agent has at most 4194304 bytes\n" },
      { exit: 2 },
    ]);
    expect(await as(alice, ["group", "list"], { passphrase: false })).toEqual({
      code: 0,
      stdout: "[friends] epoch 1: alice, bob\n",
      stderr: "",
    });
  });

  it("group add through the agent: the card files are read where the command runs", async () => {
    const create = await as(carol, [
      ...["profile", "create", "--name", "carol", "--relay", b.url, "--via", a.url],
    ]);
    expect(create.code, create.stderr).toBe(0);
    // A file that is no card is refused by the agent in one line, naming the path as typed.
    const notCard = join(dir, "not-a-card.json");
    await writeFile(notCard, "{}\n");
    expectOneErrorLine(
      await as(alice, ["group", "add", "friends", notCard], { passphrase: false }),
      1,
      new RegExp(`^shroud: ${notCard.replace(/[.\\/]/g, "\\$&")}: `),
    );
    // The agent runs in another directory: a relative path is read by the command.
    const added = await run(
      ["group", "add", "friends", "card.json", "--profile", alice.dir],
      {},
      carol.dir,
    );
    expect(added).toEqual({
      code: 0,
      stdout: "[friends] committed at epoch 2: added carol\n",
      stderr: "",
    });
    // Carol has no agent: her commands open her profile as before.
    await readUntil(carol, "[friends] you joined: alice, bob, carol (epoch 2)\n", true);
    expect(await readUntil(bob, "[friends] alice added carol (epoch 2)\n")).toContain(
      "[friends] alice added carol (epoch 2)\n",
    );
  });

  it("SIGTERM saves the profile, exits 0 and leaves no socket", async () => {
    aliceAgent.child.kill("SIGTERM");
    expect(await aliceAgent.exited).toEqual({ code: 0, signal: null });
    // Nothing about groups, names or times: the ready line and the stop line only.
    expect(aliceAgent.output().stderr).toBe("");
    expect(aliceAgent.output().stdout).toMatch(
      /^agent running for the profile in [^\n]*alice \(shaping constant: [^\n]*\)[^\n]*\nagent stopped; profile saved\n$/,
    );
    expect(await exists(socketOf(alice))).toBe(false);
    expect(await exists(join(alice.dir, "lock"))).toBe(false);
    // The commands open the profile themselves again.
    expectOneErrorLine(
      await as(alice, ["group", "list"], { passphrase: false }),
      2,
      /set SHROUD_PASSPHRASE/,
    );
    expect(await as(alice, ["group", "list"])).toEqual({
      code: 0,
      stdout: "[friends] epoch 2: alice, bob, carol\n",
      stderr: "",
    });
  });

  it("a killed agent's socket is removed by the next command or agent", async () => {
    bobAgent.child.kill("SIGKILL");
    await bobAgent.exited;
    expect(await exists(socketOf(bob))).toBe(true);
    expect(await as(bob, ["group", "list"])).toEqual({
      code: 0,
      stdout: "[friends] epoch 2: alice, bob, carol\n",
      stderr: "",
    });
    expect(await exists(socketOf(bob))).toBe(false);

    const killed = await startAgent(bob);
    killed.child.kill("SIGKILL");
    await killed.exited;
    expect(await exists(socketOf(bob))).toBe(true);
    const next = await startAgent(bob);
    expect((await status(bob)).kept).toBe(0);
    next.child.kill("SIGTERM");
    expect(await next.exited).toEqual({ code: 0, signal: null });
    expect(await exists(socketOf(bob))).toBe(false);
  });
});
