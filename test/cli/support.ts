/**
 * Running the built CLI (bin/shroud.js -> dist/cli/main.js) in child processes, for the CLI
 * tests: one-shot commands, `shroud serve` until it prints its URL, free ports, and the checks
 * every failure must pass (one "shroud: ..." line, no stack trace).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const bin = join(root, "bin", "shroud.js");
const built = join(root, "dist", "cli", "main.js");

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Throws unless the CLI has been built (the tests run dist/, not src/). */
export function requireBuild(): void {
  if (!existsSync(built)) {
    throw new Error(
      `${built} is missing: run \`npm run build\` before these tests (npm test builds first)`,
    );
  }
}

/**
 * The environment without SHROUD_* variables and REDIS_URL, so the caller's shell cannot change
 * a test; `extra` is added on top.
 */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const kept = Object.entries(process.env).filter(
    ([k]) => !k.startsWith("SHROUD_") && k !== "REDIS_URL",
  );
  return { ...Object.fromEntries(kept), ...extra };
}

const children = new Set<ChildProcess>();

function spawnCli(args: string[], env?: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: cleanEnv(env) });
  children.add(child);
  child.on("close", () => children.delete(child));
  return child;
}

/** Kills every CLI process still running (for afterAll). */
export function killAll(): void {
  for (const child of children) child.kill("SIGKILL");
}

/** Runs the CLI to completion, feeding `input` (if any) to stdin. */
export function run(args: string[], input?: string, env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawnCli(args, env);
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
    child.stdin!.end(input ?? "");
  });
}

export { freePort } from "../../testkit/free-port.js";

export interface Served {
  child: ChildProcess;
  url: string;
  output: () => { stdout: string; stderr: string };
  exited: Promise<number | null>;
}

/** Starts `shroud serve` and resolves once it has printed its URL and try-it hint. */
export function serve(args: string[], env?: NodeJS.ProcessEnv): Promise<Served> {
  const child = spawnCli(["serve", ...args], env);
  let stdout = "";
  let stderr = "";
  const exited = new Promise<number | null>((resolveExit) => child.on("close", resolveExit));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 30_000);
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      // serve prints its URL and the try-it hint in one write; wait for the end of the hint.
      if (match && stdout.includes("fetch --inbox inbox.json --ack\n")) {
        clearTimeout(timer);
        resolvePromise({ child, url: match[1]!, output: () => ({ stdout, stderr }), exited });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${stderr}`));
    });
  });
}

/** The command failed with `code` and exactly one "shroud: ..." line matching `pattern`. */
export function expectOneErrorLine(result: RunResult, code: number, pattern: RegExp): void {
  expect(result.code).toBe(code);
  const lines = result.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^shroud: /);
  expect(lines[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\bat .*\.js:\d+/);
}
