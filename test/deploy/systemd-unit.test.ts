/**
 * deploy/shroud.service against the CLI: its command is `shroud serve` with settings that
 * parse, its data directory is the one systemd creates for it, and systemd itself accepts the
 * unit (`systemd-analyze verify`, where systemd is installed).
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { serveConfig } from "../../src/cli/serve-command.js";
import { DEPLOY_DIR } from "./support.js";

const UNIT = join(DEPLOY_DIR, "shroud.service");

/** Every `Key=value` of the unit, in order (comments and section headers left out). */
const settings = readFileSync(UNIT, "utf8")
  .split("\n")
  .filter((line) => /^[A-Za-z]+=/.test(line))
  .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]);
const values = (key: string) => settings.filter(([k]) => k === key).map(([, v]) => v!);

describe("deploy/shroud.service", () => {
  it("runs `shroud serve` with an environment the CLI accepts", () => {
    const [node, bin, ...args] = values("ExecStart")[0]!.split(" ");
    expect(node).toMatch(/\/node$/);
    expect(bin).toMatch(/\/bin\/shroud\.js$/);
    expect(args[0]).toBe("serve");
    const env = Object.fromEntries(
      values("Environment").map((pair) => [
        pair.slice(0, pair.indexOf("=")),
        pair.slice(pair.indexOf("=") + 1),
      ]),
    );
    const config = serveConfig(args.slice(1), env);
    if (config === "help") throw new Error("the unit asks for help");
    expect(config.host).toBe("127.0.0.1");
    expect(config.origin).toMatch(/^https:\/\//);
    expect(config.limits.trustProxy).toBe(true);
    expect(config.dataDir).toBe(`/var/lib/${values("StateDirectory")[0]}`);
    expect(values("ProtectSystem")).toEqual(["strict"]);
  });

  it.skipIf(!existsSync("/usr/bin/systemd-analyze"))("passes systemd-analyze verify", () => {
    const dir = mkdtempSync(join(tmpdir(), "shroud-unit-"));
    try {
      copyFileSync(UNIT, join(dir, "shroud.service"));
      // verify exits non-zero for errors and only warns (exit 0) about settings it ignores:
      // both count.
      const result = spawnSync("systemd-analyze", ["verify", join(dir, "shroud.service")], {
        encoding: "utf8",
      });
      expect(result.stderr).toBe("");
      expect(result.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
