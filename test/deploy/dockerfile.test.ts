/**
 * deploy/Dockerfile against the CLI it packages: the command it runs parses as `shroud serve`,
 * binds every interface on the port it exposes, keeps its data in the volume, runs as a user
 * other than root, and its health check passes against that relay (and fails once it is gone).
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { serveConfig } from "../../src/cli/serve-command.js";
import { ManagedChild } from "../../testkit/child-process.js";
import { freePort } from "../../testkit/free-port.js";
import { REPO_ROOT } from "../../testkit/repo-root.js";
import { readDockerfile } from "./support.js";

const image = readDockerfile();
const data = mkdtempSync(join(tmpdir(), "shroud-dockerfile-"));
let relay: ManagedChild | undefined;

afterAll(async () => {
  await relay?.stop();
  rmSync(data, { recursive: true, force: true });
});

/** Runs the image's health check command as the container would, with the relay's port. */
async function healthcheck(port: number): Promise<number> {
  const [program, ...args] = image.healthcheck;
  expect(program).toBe("node");
  return promisify(execFile)(process.execPath, args, {
    env: { ...process.env, SHROUD_PORT: String(port) },
    timeout: 10_000,
  }).then(
    () => 0,
    (error: { code?: number }) => error.code ?? 1,
  );
}

describe("deploy/Dockerfile", () => {
  it("runs `shroud serve` on all interfaces, on the port it exposes, with data in the volume", () => {
    expect([...image.entrypoint, ...image.cmd]).toEqual(["node", "bin/shroud.js", "serve"]);
    const config = serveConfig(image.cmd.slice(1), image.env);
    if (config === "help") throw new Error("the image's command asks for help");
    expect(config.host).toBe("0.0.0.0");
    expect(image.expose).toEqual([String(config.port)]);
    expect(image.volumes).toEqual([config.dataDir]);
    expect(image.user).toBeDefined();
    expect(["root", "0"]).not.toContain(image.user);
  });

  it("copies only files that exist, and every tsconfig the build script names", () => {
    expect(image.copied.length).toBeGreaterThan(0);
    for (const source of image.copied) {
      expect(existsSync(join(REPO_ROOT, source)), source).toBe(true);
    }
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    const configs = [...pkg.scripts["build"]!.matchAll(/tsc -p (\S+)/g)].map((m) => m[1]!);
    expect(configs.length).toBeGreaterThan(0);
    for (const config of configs) expect(image.copied).toContain(config);
  });

  it(
    "has a health check that passes against the relay and fails without it",
    { timeout: 60_000 },
    async () => {
      const port = await freePort();
      relay = new ManagedChild(
        "relay",
        process.execPath,
        [
          join(REPO_ROOT, "bin", "shroud.js"),
          ...image.cmd,
          "--host",
          "127.0.0.1",
          "--round-ms",
          "0",
        ],
        { env: { ...process.env, ...image.env, SHROUD_PORT: String(port), SHROUD_DATA: data } },
      );
      await relay.waitForLine((line) => (line.includes("listening on") ? true : undefined), 30_000);
      expect(await healthcheck(port)).toBe(0);
      await relay.stop();
      expect(await healthcheck(port)).not.toBe(0);
    },
  );
});
