/**
 * deploy/compose.yaml, run without Docker: each service's own command and environment started
 * as a local process (redis-server for the Redis services, this checkout's CLI for the relays,
 * names and ports mapped onto loopback by support.ts), then a message from a sender on
 * provider A to an inbox on provider B, read back through A: the two providers federate as
 * the file configures them.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes, toBase64Url } from "../../src/protocol/bytes.js";
import { ManagedChild } from "../../testkit/child-process.js";
import { freePort } from "../../testkit/free-port.js";
import { redisReady } from "../../testkit/redis-ready.js";
import { REPO_ROOT } from "../../testkit/repo-root.js";
import { requireBuild, run } from "../cli/support.js";
import { localService, readCompose, readDockerfile, type LocalService } from "./support.js";

const compose = readCompose({
  SHROUD_A_MASTER_KEY: toBase64Url(randomBytes(32)),
  SHROUD_B_MASTER_KEY: toBase64Url(randomBytes(32)),
});
const children: ManagedChild[] = [];
const started = new Map<string, LocalService>();
let dir: string;

/** Services in an order that starts each after what it depends on. */
function startOrder(): string[] {
  const order: string[] = [];
  const visit = (name: string) => {
    if (order.includes(name)) return;
    for (const dependency of Object.keys(compose.services[name]!.depends_on ?? {})) {
      visit(dependency);
    }
    order.push(name);
  };
  for (const name of Object.keys(compose.services)) visit(name);
  return order;
}

beforeAll(async () => {
  requireBuild();
  dir = await mkdtemp(join(tmpdir(), "shroud-compose-"));
  const image = readDockerfile();
  const ports: Record<string, number> = {};
  for (const name of Object.keys(compose.services)) ports[name] = await freePort();
  for (const name of startOrder()) {
    const service = localService(name, compose.services[name]!, ports, image);
    const child = new ManagedChild(name, service.command, service.args, {
      cwd: REPO_ROOT,
      env: { ...process.env, ...service.env },
    });
    children.push(child);
    started.set(name, service);
    if (service.command === "redis-server") {
      const stopped = child.exited().then((code) => `${name} exited (${code}): ${child.stderr}`);
      await redisReady(`redis://127.0.0.1:${service.port}`, Date.now() + 30_000, stopped);
    } else {
      await child.waitForLine((line) => (line.includes("listening on") ? true : undefined), 60_000);
    }
  }
}, 120_000);

afterAll(async () => {
  await Promise.all(children.reverse().map((child) => child.stop()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("deploy/compose.yaml as local processes", () => {
  it("has two providers, each a relay on its own Redis, read-only and with health checks", () => {
    const relays = Object.entries(compose.services).filter(([, s]) => s.build);
    expect(relays.map(([name]) => name)).toEqual(["relay-a", "relay-b"]);
    for (const [, relay] of relays) {
      expect(relay.read_only).toBe(true);
      const redis = relay.command!.at(relay.command!.indexOf("--redis") + 1)!;
      const redisService = compose.services[new URL(redis).hostname]!;
      expect(redisService.image).toMatch(/^redis:7/);
      expect(redisService.healthcheck?.test).toContain("ping");
    }
  });

  it("federates: a sender on A reaches an inbox on B", { timeout: 120_000 }, async () => {
    const a = `http://127.0.0.1:${started.get("relay-a")!.port}`;
    const b = `http://127.0.0.1:${started.get("relay-b")!.port}`;
    const inbox = join(dir, "inbox.json");
    const card = join(dir, "card.json");
    const created = await run(["inbox", "create", "--relay", b, "--out", inbox, "--card", card]);
    expect(created.stderr).toBe("");
    const sent = await run(["send", "--card", card, "--via", a], "hello from provider A\n");
    expect(sent).toEqual({ code: 0, stdout: `forwarded via ${a}\n`, stderr: "" });
    await expect
      .poll(async () => (await run(["fetch", "--inbox", inbox, "--via", a])).stdout, {
        timeout: 60_000,
        interval: 250,
        message: "the message never reached B's inbox",
      })
      .toBe("hello from provider A\n");
  });
});
