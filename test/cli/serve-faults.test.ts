/**
 * `shroud serve` as a supervisor sees it: a fault nobody caught gives one "shroud: ..." line
 * (class and code, never a message or a stack) and the relay either keeps serving (an outage of
 * Redis or the network) or shuts down and exits 1; never a raw stack, never a crash. Runs the
 * built CLI in child processes; faults are injected from outside the CLI by a module preloaded
 * with `node --import` that throws or rejects when the process gets SIGUSR2, and Redis is a
 * redis-server of the test's own (on a free port, with an append-only file), killed and
 * restarted under a running relay.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisReady } from "../../testkit/redis-ready.js";
import { uniquePrefix } from "../../testkit/redis-fixture.js";
import { freePort, killAll, requireBuild, run, serve, type Served } from "./support.js";

const SECRET = "203.0.113.7";

/** Throws or rejects on SIGUSR2, as TEST_FAULT says; the message holds what must not be logged. */
const INJECTOR = `
process.on("SIGUSR2", () => {
  const kind = process.env.TEST_FAULT;
  if (kind === "fatal-exception") throw new TypeError("boom at ${SECRET}");
  if (kind === "fatal-rejection") void Promise.reject(new RangeError("bad ${SECRET}"));
  if (kind === "transient-rejection") {
    void Promise.reject(Object.assign(new Error("read ECONNRESET ${SECRET}"), { code: "ECONNRESET" }));
  }
});
`;

let dir: string;
let injector: string;

beforeAll(async () => {
  requireBuild();
  dir = await mkdtemp(join(tmpdir(), "shroud-serve-faults-"));
  injector = join(dir, "inject-fault.mjs");
  await writeFile(injector, INJECTOR);
});

afterAll(async () => {
  killAll();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Every stderr line is one "shroud: " line; no stack frame, no raw error, no secret. */
function expectCleanLog(stderr: string): void {
  for (const text of stderr
    .trimEnd()
    .split("\n")
    .filter((l) => l !== "")) {
    expect(text).toMatch(/^shroud: /);
  }
  expect(stderr).not.toMatch(/\bat .*:\d+:\d+/);
  expect(stderr).not.toContain(SECRET);
}

async function healthy(url: string): Promise<boolean> {
  try {
    return (await (await fetch(`${url}/healthz`)).text()) === "ok";
  } catch {
    return false;
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function servedWithFault(fault: string): Promise<Served> {
  return serve(["--port", "0", "--round-ms", "100", "--data", join(dir, `data-${fault}`)], {
    NODE_OPTIONS: `--import ${pathToFileURL(injector).href}`,
    TEST_FAULT: fault,
  });
}

describe("serve and faults nobody caught", () => {
  it("shuts down cleanly and exits 1 after an uncaught exception", async () => {
    const relay = await servedWithFault("fatal-exception");
    relay.child.kill("SIGUSR2");
    expect(await relay.exited).toBe(1);
    const { stdout, stderr } = relay.output();
    expect(stderr).toBe("shroud: uncaught exception: TypeError; shutting down\n");
    expect(stdout).toContain("fault: closing (delivering the open round)\nrelay closed\n");
    expectCleanLog(stderr);
  });

  it("shuts down cleanly and exits 1 after an unhandled rejection of a bug", async () => {
    const relay = await servedWithFault("fatal-rejection");
    relay.child.kill("SIGUSR2");
    expect(await relay.exited).toBe(1);
    expect(relay.output().stderr).toBe("shroud: unhandled rejection: RangeError; shutting down\n");
  });

  it("logs a network failure nobody caught and keeps serving", async () => {
    const relay = await servedWithFault("transient-rejection");
    relay.child.kill("SIGUSR2");
    await until("the fault's log line", async () =>
      relay.output().stderr.includes("\n") ? true : undefined,
    );
    expect(relay.output().stderr).toBe(
      "shroud: unhandled rejection: Error ECONNRESET; still serving\n",
    );
    expect(await healthy(relay.url)).toBe(true);
    relay.child.kill("SIGTERM");
    expect(await relay.exited).toBe(0);
    expectCleanLog(relay.output().stderr);
  });
});

/** A redis-server of this test's own that can be killed and started again on its port. */
class OwnRedis {
  #child: ChildProcess | undefined;
  constructor(
    readonly port: number,
    readonly dataDir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server unless it is running. */
  async start(): Promise<void> {
    if (this.#running()) return;
    const child = spawn(
      "redis-server",
      ["--port", String(this.port), "--bind", "127.0.0.1", "--save", ""].concat([
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--dir",
        this.dataDir,
      ]),
      { stdio: "ignore" },
    );
    this.#child = child;
    const failed = new Promise<string>((resolve) =>
      child.once("exit", (code) => resolve(`redis-server exited with ${code}`)),
    );
    await redisReady(this.url, Date.now() + 20_000, failed);
  }

  #running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && !this.#child.signalCode;
  }

  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || !this.#running()) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }
}

describe("serve --redis when Redis goes away", () => {
  let redis: OwnRedis;
  let masterKey: string;

  beforeAll(async () => {
    redis = new OwnRedis(await freePort(), dir);
    await redis.start();
    masterKey = (await run(["keys", "new-master-key"])).stdout.trim();
  }, 60_000);

  afterAll(async () => {
    await redis?.kill();
  });

  const serveOnRedis = () =>
    serve(
      ["--redis", redis.url, "--redis-prefix", uniquePrefix(), "--port", "0", "--round-ms", "100"],
      { SHROUD_MASTER_KEY: masterKey },
    );

  it("logs one line, keeps answering /healthz, and takes deposits again once Redis is back", async () => {
    const relay = await serveOnRedis();
    const inbox = join(dir, "inbox.json");
    const card = join(dir, "card.json");
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
    expect(created.code, created.stderr).toBe(0);
    expect((await run(["send", "--card", card], "before the outage")).code).toBe(0);

    await redis.kill();
    await until("the Redis log line", async () =>
      relay.output().stderr.includes("shroud: Redis: ") ? true : undefined,
    );
    // A command in flight when Redis died meets a reset; the reconnects then meet a refusal.
    expect(relay.output().stderr).toMatch(
      /^shroud: Redis: Error (ECONNREFUSED|ECONNRESET); still serving\n/,
    );
    for (let i = 0; i < 3; i++) expect(await healthy(relay.url)).toBe(true);
    const refused = await run(["send", "--card", card], "during the outage");
    expect(refused.code).toBe(1);
    expect(relay.child.exitCode).toBeNull();

    await redis.start();
    await until("the relay to reconnect", async () =>
      relay.output().stderr.includes("shroud: Redis: connection restored\n") ? true : undefined,
    );
    await until("a deposit to be accepted again", async () =>
      (await run(["send", "--card", card], "after the outage")).code === 0 ? true : undefined,
    );
    const messages = await until("both messages to be delivered", async () => {
      const fetched = await run(["fetch", "--inbox", inbox]);
      const lines = fetched.stdout.split("\n").filter((l) => l !== "");
      return lines.length === 2 ? lines.sort() : undefined;
    });
    expect(messages).toEqual(["after the outage", "before the outage"]);

    relay.child.kill("SIGTERM");
    expect(await relay.exited).toBe(0);
    expectCleanLog(relay.output().stderr);
  }, 180_000);

  it("ends within its shutdown bound when Redis is away at SIGTERM, exiting 1", async () => {
    await redis.start();
    const relay = await serveOnRedis();
    await redis.kill();
    await until("the Redis log line", async () =>
      relay.output().stderr.includes("shroud: Redis: ") ? true : undefined,
    );
    relay.child.kill("SIGTERM");
    expect(await relay.exited).toBe(1);
    const { stdout, stderr } = relay.output();
    expect(stdout).toContain("SIGTERM: closing (delivering the open round)\n");
    expect(stderr).toMatch(/shroud: shutdown did not finish within 15 s; exiting\n$/);
    expectCleanLog(stderr);
  }, 90_000);
});
