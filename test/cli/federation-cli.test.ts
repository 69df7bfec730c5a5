/**
 * The CLI's federation surface, end to end on the built CLI: `serve --peer`, `send --via` and
 * `fetch --via` across relay processes that name each other, and `federation dlq` on Redis.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisPorts } from "../../src/adapters/redis/redis-ports.js";
import { fromBase64Url, randomBytes, toHex } from "../../src/protocol/bytes.js";
import { SecretBytes } from "../../src/protocol/secret-bytes.js";
import { startRedis, uniquePrefix, type RedisFixture } from "../../testkit/redis-fixture.js";
import {
  expectOneErrorLine,
  freePort,
  killAll,
  requireBuild,
  run,
  serve,
  type Served,
} from "./support.js";

let dir: string;

beforeAll(async () => {
  requireBuild();
  dir = await mkdtemp(join(tmpdir(), "shroud-federation-cli-"));
});

afterAll(async () => {
  killAll();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("relays federating through the CLI", () => {
  let a: Served;
  let b: Served;
  /** A relay without peers: it must refuse to relay to B. */
  let loner: Served;
  const inbox = () => join(dir, "inbox.json");
  const card = () => join(dir, "card.json");

  beforeAll(async () => {
    const ports = [await freePort(), await freePort(), await freePort()] as const;
    const url = (port: number) => `http://127.0.0.1:${port}`;
    const relay = (port: number, peers: number[]) =>
      serve([
        ...["--port", String(port), "--round-ms", "200", "--data", join(dir, `data-${port}`)],
        ...peers.flatMap((peer) => ["--peer", url(peer)]),
      ]);
    [a, b, loner] = await Promise.all([
      relay(ports[0], [ports[1]]),
      relay(ports[1], [ports[0]]),
      relay(ports[2], []),
    ]);
  });

  it("serve names its peers at startup, and says nothing of federation when it is off", () => {
    expect(a.output().stdout).toMatch(/^shroud relay listening on \S+ \((?:store|keys in) .*\)\n/);
    expect(a.output().stdout).toContain(`; federation with ${b.url})\n`);
    expect(b.output().stdout).toContain(`; federation with ${a.url})\n`);
    expect(loner.output().stdout).not.toMatch(/; federation/);
  });

  it("send --via A reaches an inbox on B, and fetch --via A reads and acks it", async () => {
    const created = await run(
      ["inbox", "create", "--relay", b.url, "--out", inbox(), "--card", card()],
      undefined,
    );
    expect(created.code).toBe(0);
    const sent = await run(["send", "--card", card(), "--via", a.url], "hello through A\n");
    expect(sent).toEqual({ code: 0, stdout: `forwarded via ${a.url}\n`, stderr: "" });

    // A forwards it with its next round's batch; B stores it at the close of its next round.
    await expect
      .poll(async () => (await run(["fetch", "--inbox", inbox(), "--via", a.url])).stdout, {
        timeout: 6000,
        interval: 100,
        message: "the forwarded message never reached B's inbox",
      })
      .toBe("hello through A\n");
    const acked = await run(["fetch", "--inbox", inbox(), "--via", a.url, "--ack"]);
    expect(acked).toEqual({
      code: 0,
      stdout: "hello through A\n",
      stderr: "1 message, acked 1\n",
    });
    expect(await run(["fetch", "--inbox", inbox()])).toEqual({
      code: 0,
      stdout: "",
      stderr: "0 messages\n",
    });
  });

  it("--via the inbox's own relay connects to it directly", async () => {
    const sent = await run(["send", "--card", card(), "--via", `${b.url}/`], "direct");
    expect(sent.code).toBe(0);
    expect(sent.stdout).toBe("accepted\n");
    expect(sent.stderr).toBe(
      `--via ${b.url} is the inbox's own relay: connecting to it directly\n`,
    );
  });

  it("a relay that does not federate with B refuses to relay, in one line", async () => {
    const sent = await run(["send", "--card", card(), "--via", loner.url], "x");
    expectOneErrorLine(sent, 1, /cannot relay to http:\/\/127\.0\.0\.1:\d+: .*\(forbidden\)/);
    const fetched = await run(["fetch", "--inbox", inbox(), "--via", loner.url]);
    expectOneErrorLine(fetched, 1, /cannot relay to .*\(forbidden\)/);
  });

  it("relays log nothing about clients while they federate", () => {
    // A relay whose first batch leaves before its peer listens (both start at once) says so
    // until the peer answers: those lines name the peer, never a client.
    const peerState =
      /^shroud: (warn: federation peer unreachable; retrying|federation peer reachable again) \(peer=http:\/\/127\.0\.0\.1:\d+\)$/;
    for (const relay of [a, b, loner]) {
      const lines = relay
        .output()
        .stderr.split("\n")
        .filter((line) => line !== "");
      expect(lines.filter((line) => !peerState.test(line))).toEqual([]);
      expect(relay.output().stdout.trimEnd().split("\n")).toHaveLength(5);
    }
  });
});

describe("federation arguments", () => {
  it("exit 2 with one line for a bad --peer, SHROUD_PEERS, --federation or --via", async () => {
    const [noScheme, withPath, fromEnv, itself, policy, via] = await Promise.all([
      run(["serve", "--peer", "relay.example"]),
      run(["serve", "--peer", "https://b.example/inbox"]),
      run(["serve"], undefined, { SHROUD_PEERS: "https://b.example,ftp://c.example" }),
      run(["serve", "--port", "8787", "--peer", "http://127.0.0.1:8787"]),
      run(["serve", "--federation", "closed"]),
      run(["send", "--card", "card.json", "--via", "a.example"]),
    ]);
    expectOneErrorLine(noScheme, 2, /--peer must be an http or https origin .*"relay\.example"/);
    expectOneErrorLine(withPath, 2, /--peer must be an http or https origin/);
    expectOneErrorLine(fromEnv, 2, /SHROUD_PEERS must be an http or https origin .*"ftp:/);
    expectOneErrorLine(itself, 2, /--peer names this relay itself/);
    expectOneErrorLine(policy, 2, /--federation must be "open" or "allowlist", got "closed"/);
    expectOneErrorLine(via, 2, /--via must be an http or https origin/);
  });

  it("documents --peer, --federation, --via and federation dlq", async () => {
    const [serveHelp, send, fetch, main, federation] = await Promise.all(
      [
        ["serve", "--help"],
        ["send", "--help"],
        ["fetch", "--help"],
        ["--help"],
        ["help", "federation"],
      ].map((args) => run(args)),
    );
    expect(serveHelp!.stdout).toMatch(/--peer URL[\s\S]*SHROUD_PEERS/);
    expect(serveHelp!.stdout).toMatch(/--federation[\s\S]*SHROUD_FEDERATION/);
    expect(send!.stdout).toContain("--via URL");
    expect(fetch!.stdout).toContain("--via URL");
    expect(main!.stdout).toContain("federation dlq");
    expect(federation!.code).toBe(0);
    expect(federation!.stdout).toContain("shroud federation dlq list|replay ID|drop ID");
  });

  it("federation dlq on the embedded store reads the data directory; bad arguments exit 2", async () => {
    const empty = join(dir, "no-dead-letters");
    const [embedded, unknownId, missing, unknown, badId] = await Promise.all([
      run(["federation", "dlq", "list", "--data", empty]),
      run(["federation", "dlq", "replay", "0".repeat(32), "--data", empty]),
      run(["federation", "dlq"]),
      run(["federation", "queue"]),
      run(["federation", "dlq", "replay", "nope", "--redis", "redis://127.0.0.1:1"]),
    ]);
    expect(embedded).toEqual({ code: 0, stdout: "", stderr: "no dead letters\n" });
    expectOneErrorLine(unknownId, 1, /no dead letter 0{32}/);
    expectOneErrorLine(missing, 2, /missing dlq command/);
    expectOneErrorLine(unknown, 2, /unknown federation command/);
    expectOneErrorLine(badId, 2, /ID must be 32 hex digits/);
  });
});

describe("federation dlq on Redis", () => {
  let redis: RedisFixture;
  let env: NodeJS.ProcessEnv;
  let masterKey: SecretBytes;
  const prefix = uniquePrefix();
  const dlq = (...args: string[]) =>
    run(["federation", "dlq", ...args, "--redis", redis.url, "--redis-prefix", prefix], "", env);
  const deadLetterIds = async () => {
    const ports = redisPorts({ url: redis.url, prefix, masterKey });
    try {
      return (await ports.federation.deadLetters()).map((dead) => dead.id);
    } finally {
      await ports.close();
    }
  };

  beforeAll(async () => {
    redis = await startRedis();
    const key = (await run(["keys", "new-master-key"])).stdout.trim();
    env = { SHROUD_MASTER_KEY: key };
    masterKey = new SecretBytes(fromBase64Url(key));
  });

  afterAll(async () => {
    await redis?.stop();
  });

  it("list prints nothing for a relay without dead letters", async () => {
    expect(await dlq("list")).toEqual({ code: 0, stdout: "", stderr: "no dead letters\n" });
  });

  it("list shows dead letters, replay puts one back, drop deletes one, unknown ids exit 1", async () => {
    // Two batches for a peer that never answers, dead after their only attempt.
    const peer = `http://127.0.0.1:${await freePort()}`;
    const ports = redisPorts({ url: redis.url, prefix, masterKey });
    try {
      const queue = ports.federation;
      for (let i = 0; i < 2; i++) {
        await queue.hold(peer, randomBytes(64));
        await queue.send(await queue.claim(peer, 16), randomBytes(1000 + i));
      }
      await queue.startDelivery(
        async () => {
          throw new Error("peer down");
        },
        { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 10 },
      );
      await expect.poll(async () => (await queue.deadLetters()).length).toBe(2);
      await queue.stopDelivery();
    } finally {
      await ports.close();
    }

    const listed = await dlq("list");
    expect(listed.code).toBe(0);
    expect(listed.stderr).toBe("");
    const lines = listed.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).toMatch(/^[0-9a-f]{32} {2}http:\/\/127\.0\.0\.1:\d+ {2}1 attempt {2}\d+ bytes$/);
      expect(line).toContain(peer);
    }
    const [first, second] = lines.map((line) => line.split(" ")[0]!);

    const replayed = await dlq("replay", first!);
    expect(replayed.code).toBe(0);
    expect(replayed.stdout).toBe(`replayed ${first}: back in delivery with fresh attempts\n`);
    expect(await deadLetterIds()).toEqual([second]);

    expect(await dlq("drop", second!)).toEqual({
      code: 0,
      stdout: `dropped ${second}\n`,
      stderr: "",
    });
    expect(await deadLetterIds()).toEqual([]);
    expect(await dlq("list")).toEqual({ code: 0, stdout: "", stderr: "no dead letters\n" });

    const unknown = toHex(randomBytes(16));
    expectOneErrorLine(await dlq("drop", unknown), 1, new RegExp(`no dead letter ${unknown}`));
    expectOneErrorLine(await dlq("replay", second!), 1, /no dead letter/);
  });

  it("needs SHROUD_MASTER_KEY like every Redis command", async () => {
    const result = await run(["federation", "dlq", "list", "--redis", redis.url]);
    expectOneErrorLine(result, 2, /SHROUD_MASTER_KEY must be set/);
  });
});
