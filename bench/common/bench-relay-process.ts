/**
 * A relay the bench measures, as `shroud serve` in a child process (testkit/relay-process.ts)
 * with the per-address request limit off (the load comes from one loopback address and the
 * limit would cap it), stopped by the bench's cleanup whatever happens.
 */
import {
  newMasterKey,
  startRelayProcess,
  type RelayProcessOptions,
} from "../../testkit/relay-process.js";
import type { Cleanup } from "./cleanup.js";

export interface BenchRelayProcess {
  url: string;
  pid: number | undefined;
  /** The command line, for the report (the master key is in the environment, not shown). */
  command: string;
  /** The end of what the relay wrote to stderr (its log). */
  stderr(): string;
  /** SIGTERM (the relay delivers its open round), SIGKILL after the grace; rejects unless 0. */
  stop(): Promise<void>;
  /** Resolves with the exit code once the relay has exited (null: killed by a signal). */
  exited(): Promise<number | null>;
}

export interface BenchRelayProcessOptions extends Omit<RelayProcessOptions, "masterKey"> {
  /** How long `stop` waits after SIGTERM before SIGKILL (default 10 s). */
  stopGraceMs?: number;
}

/**
 * On Redis a fresh master key is generated; on the embedded store pass `--data DIR` in `args`.
 *
 * @example const relay = await startBenchRelay({ redisUrl, prefix, roundMs: 1000 }, cleanup);
 */
export async function startBenchRelay(
  options: BenchRelayProcessOptions,
  cleanup: Cleanup,
): Promise<BenchRelayProcess> {
  const relay = await startRelayProcess({
    ...options,
    ...(options.redisUrl === undefined ? {} : { masterKey: newMasterKey() }),
    args: [...(options.args ?? []), "--rate-limit", "0", "--max-connections-per-address", "0"],
  });
  const stop = cleanup.add({
    name: options.name ?? "relay",
    stop: async () => {
      const code = await relay.stop(options.stopGraceMs ?? 10_000);
      if (code !== 0) throw new Error(`relay exited with ${code ?? "a signal"}: ${relay.stderr()}`);
    },
    now: () => relay.killNow(),
  });
  return {
    url: relay.url,
    pid: relay.pid,
    command: relay.command,
    stderr: relay.stderr,
    stop,
    exited: () => relay.exited,
  };
}
