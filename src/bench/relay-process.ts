/**
 * A relay on Redis in a child process, started the way an operator would: a master key from
 * `shroud keys new-master-key`, then `shroud serve --redis URL --redis-prefix P --port 0`
 * (the OS picks a free port and the relay prints its URL), with `--peer URL` for each peer it
 * federates with (a relay naming a peer needs the peer's port beforehand: pass `port`).
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { BenchChild } from "./child-process.js";
import type { Cleanup } from "./cleanup.js";

/** bin/shroud.js, from dist/bench/ (built) where this module runs. */
const SHROUD_BIN = fileURLToPath(new URL("../../bin/shroud.js", import.meta.url));
const START_TIMEOUT_MS = 20_000;
const LISTENING = /^shroud relay listening on (http:\/\/\S+)/;

export interface RelayProcessOptions {
  redisUrl: string;
  prefix: string;
  roundMs: number;
  /** Port to listen on (default 0: the OS picks one). */
  port?: number;
  /** Peer relays' origins (`--peer`, federation allowlist); default none. */
  peers?: readonly string[];
  /** Name in error messages and cleanup notes (default "relay"). */
  name?: string;
  /** How long `stop` waits after SIGTERM before SIGKILL (default 10 s). */
  stopGraceMs?: number;
}

export interface RelayProcess {
  url: string;
  pid: number | undefined;
  /** The end of what the relay wrote to stderr (its log). */
  stderr(): string;
  /** The command line, for the report (the master key is in the environment, not shown). */
  command: string;
  /**
   * SIGTERM (the relay delivers its open round and exits), SIGKILL after a grace period; rejects
   * unless the relay exited with code 0.
   */
  stop(): Promise<void>;
  /** Resolves with the exit code once the relay has exited (null: killed by a signal). */
  exited(): Promise<number | null>;
}

/** A fresh master key, base64url, from `shroud keys new-master-key`. */
export async function newMasterKey(): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [
    SHROUD_BIN,
    "keys",
    "new-master-key",
  ]);
  return stdout.trim();
}

/**
 * @example const relay = await startRelayProcess({ redisUrl, prefix, roundMs: 1000 }, cleanup);
 */
export async function startRelayProcess(
  options: RelayProcessOptions,
  cleanup: Cleanup,
): Promise<RelayProcess> {
  const masterKey = await newMasterKey();
  const args = ["serve", "--redis", options.redisUrl, "--redis-prefix", options.prefix];
  args.push("--port", String(options.port ?? 0), "--round-ms", String(options.roundMs));
  // The load comes from one address (loopback): the per-address request limit would cap it.
  args.push("--rate-limit", "0");
  for (const peer of options.peers ?? []) args.push("--peer", peer);
  const name = options.name ?? "relay";
  const child = new BenchChild(`${name} (shroud serve)`, process.execPath, [SHROUD_BIN, ...args], {
    env: { ...process.env, SHROUD_MASTER_KEY: masterKey },
  });
  const stop = cleanup.add({
    name,
    stop: async () => {
      const code = await child.stop("SIGTERM", options.stopGraceMs ?? 10_000);
      if (code !== 0) throw new Error(`relay exited with ${code ?? "a signal"}: ${child.stderr}`);
    },
    now: () => child.killNow(),
  });
  try {
    const url = await child.waitForLine((line) => LISTENING.exec(line)?.[1], START_TIMEOUT_MS);
    const command = `node bin/shroud.js ${args.join(" ")}`;
    return {
      url,
      pid: child.pid,
      command,
      stop,
      exited: () => child.exited(),
      stderr: () => child.stderr,
    };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}
