/**
 * One redis-server process on a loopback port with its own data directory and no RDB
 * snapshots, for the test fixtures (a lone server, or each node of a cluster): started and
 * waited for, then stopped.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { redisReady } from "./redis-ready.js";

/**
 * Starts redis-server with `args` besides port, bind address, directory and `--save ""`, and
 * resolves once it answers PING; on failure the process is killed and the reason thrown.
 *
 * @example const child = await spawnRedisServer(6390, dir, ["--appendonly", "no"], 10_000);
 */
export async function spawnRedisServer(
  port: number,
  dir: string,
  args: readonly string[],
  readyMs: number,
): Promise<ChildProcess> {
  const base = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""];
  const child = spawn("redis-server", [...base, ...args], { stdio: "ignore" });
  const exited = new Promise<string>((resolve) => {
    child.once("error", (error) => resolve(`redis-server: ${error.message}`));
    child.once("exit", (code) => resolve(`redis-server exited with ${code}`));
  });
  try {
    await redisReady(`redis://127.0.0.1:${port}`, Date.now() + readyMs, exited);
  } catch (error) {
    await stopRedisServer(child, "SIGKILL");
    throw error;
  }
  return child;
}

/** Signals a server the fixture started and waits for it to exit (at once if it has, or never ran). */
export async function stopRedisServer(
  child: ChildProcess,
  signal: NodeJS.Signals = "SIGTERM",
): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  await exited;
}
