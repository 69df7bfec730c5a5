/**
 * `shroud demo` as a command: in process through demoCommand (exit code, output, argument and
 * Redis errors), and once as the built CLI in a child process, which must exit by itself.
 */
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { CliError, UsageError, type CliIo } from "../../src/cli/cli-support.js";
import { demoCommand } from "../../src/cli/demo-command.js";
import { freePort } from "../../testkit/free-port.js";
import { requireBuild, root } from "../cli/support.js";

function captureIo(): { io: CliIo; stdout: () => string } {
  const stdout = new PassThrough();
  let text = "";
  stdout.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
  const io: CliIo = { stdout, stderr: new PassThrough(), stdin: new PassThrough(), env: {} };
  return { io, stdout: () => text };
}

describe("demoCommand", () => {
  it("runs the demo, prints every step and exits 0", async () => {
    const { io, stdout } = captureIo();
    expect(await demoCommand([], io)).toBe(0);
    const text = stdout();
    expect(text).toMatch(/^Shroud demo: two federated relays/);
    for (const step of ["1. two providers", "5. bob and carol commit", "8. what the operators"]) {
      expect(text).toContain(`── ${step}`);
    }
    expect(text).toMatch(/\ndemo passed: \d+ checks in [\d.]+ s on the embedded store\n$/);
  }, 300_000);

  it("prints its help", async () => {
    const { io, stdout } = captureIo();
    expect(await demoCommand(["--help"], io)).toBe(0);
    expect(stdout()).toMatch(/^Usage: shroud demo \[--web\] \[--redis URL\]/);
  });

  it("refuses a --redis that is not a Redis URL, and unknown options", async () => {
    const { io } = captureIo();
    await expect(demoCommand(["--redis", "http://127.0.0.1:6379"], io)).rejects.toThrow(UsageError);
    await expect(demoCommand(["--fast"], io)).rejects.toThrow(UsageError);
  });

  it("fails with one CliError when Redis cannot be reached, without its password", async () => {
    const { io } = captureIo();
    const url = `redis://user:hunter2@127.0.0.1:${await freePort()}`;
    const failure = demoCommand(["--redis", url], io);
    await expect(failure).rejects.toThrow(CliError);
    await expect(failure).rejects.toThrow(
      /^demo failed: cannot reach Redis at redis:\/\/user:\*\*\*@/,
    );
    await expect(failure).rejects.not.toThrow(/hunter2/);
  });
});

/** Whether the built CLI knows `demo` yet (src/cli/main.ts registers it). */
function registered(): boolean {
  requireBuild();
  const help = spawnSync(process.execPath, [join(root, "bin", "shroud.js"), "help", "demo"], {
    cwd: root,
    encoding: "utf8",
  });
  return help.status === 0;
}

describe("the built CLI", () => {
  it.skipIf(!registered())(
    "`shroud demo` passes and the process exits by itself",
    async () => {
      const child = spawn(process.execPath, [join(root, "bin", "shroud.js"), "demo"], {
        cwd: root,
      });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      const timer = setTimeout(() => child.kill("SIGKILL"), 290_000);
      const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
      clearTimeout(timer);
      expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
      expect(stdout).toMatch(/\ndemo passed: \d+ checks/);
    },
    300_000,
  );
});
