/**
 * `shroud serve` in a child process, started the way an operator would (the built CLI,
 * bin/shroud.js -> dist/cli/main.js): on Redis with `--redis URL --redis-prefix P`, or on the
 * embedded store; resolved once it has printed its URL and the try-it hint. The one launcher of
 * the tests and the bench.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { toBase64Url } from "../src/protocol/bytes.js";
import { ManagedChild } from "./child-process.js";
import { REPO_ROOT } from "./repo-root.js";

const SHROUD_BIN = join(REPO_ROOT, "bin", "shroud.js");
const BUILT_CLI = join(REPO_ROOT, "dist", "cli", "main.js");
const START_TIMEOUT_MS = 20_000;
const LISTENING = /^shroud relay listening on (http:\/\/\S+)/;
/** The last line of what serve prints once it listens (the try-it hint ends with it). */
const HINT_END = "fetch --inbox inbox.json --ack";

export interface RelayProcessOptions {
  /** Run on Redis (with `prefix` and `masterKey`); without it, on the embedded store. */
  redisUrl?: string;
  /** Key prefix on Redis (default "shroud"). */
  prefix?: string;
  /** SHROUD_MASTER_KEY (see newMasterKey); none: serve's own default for the store. */
  masterKey?: string;
  /** Port to listen on (default 0: the OS picks one and the relay prints it). */
  port?: number;
  roundMs: number;
  /** Peer relays' origins (`--peer`, federation allowlist); default none. */
  peers?: readonly string[];
  /** More `serve` arguments (e.g. limits, `--data DIR` for the embedded store). */
  args?: readonly string[];
  /** Name in error messages (default "relay"). */
  name?: string;
  /**
   * Relay processes on Redis (`--workers`); default 1, not serve's one per core, so that a
   * SIGKILL ends the whole relay at once, as a crash would.
   */
  workers?: number;
}

export interface RelayProcess {
  url: string;
  pid: number | undefined;
  /** The command line from the repository root (the master key is in the environment). */
  command: string;
  /** Whether the relay is still running. */
  running(): boolean;
  /** What the relay wrote to stderr (its log). */
  stderr(): string;
  /** Resolves with the exit code once the relay has exited (null: killed by a signal). */
  exited: Promise<number | null>;
  /**
   * SIGTERM (the relay delivers its open round and exits), SIGKILL after `graceMs`; resolves
   * with the exit code.
   */
  stop(graceMs?: number): Promise<number | null>;
  /** SIGKILL, resolving once the process is gone. */
  kill(): Promise<void>;
  /** SIGKILL without waiting (for exit handlers). */
  killNow(): void;
}

/** Throws a clear error when the CLI has not been built. */
export function requireBuiltCli(): void {
  if (!existsSync(BUILT_CLI)) {
    throw new Error(
      `${BUILT_CLI} is missing: run \`npm run build\` before these tests (npm test builds first)`,
    );
  }
}

/** A fresh SHROUD_MASTER_KEY: 32 random bytes in base64url. */
export function newMasterKey(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
}

/** Every relay started here, so killAllRelays can SIGKILL whatever a test left. */
const running = new Set<ManagedChild>();

/** SIGKILLs every relay still running (for afterAll). */
export function killAllRelays(): void {
  for (const child of running) child.killNow();
}

/** This process's environment without settings `shroud serve` would pick up. */
function childEnv(masterKey: string | undefined): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("SHROUD_") && k !== "REDIS_URL"),
  );
  return masterKey === undefined ? env : { ...env, SHROUD_MASTER_KEY: masterKey };
}

/**
 * @example
 * const relay = await startRelayProcess({ redisUrl, prefix, masterKey: newMasterKey(), roundMs: 200 });
 * await relay.stop();
 */
export async function startRelayProcess(options: RelayProcessOptions): Promise<RelayProcess> {
  const args = ["serve"];
  if (options.redisUrl !== undefined) {
    args.push("--redis", options.redisUrl, "--redis-prefix", options.prefix ?? "shroud");
    args.push("--workers", String(options.workers ?? 1));
  }
  args.push("--port", String(options.port ?? 0), "--round-ms", String(options.roundMs));
  for (const peer of options.peers ?? []) args.push("--peer", peer);
  args.push(...(options.args ?? []));
  const name = options.name ?? "relay";
  const child = new ManagedChild(
    `${name} (shroud serve)`,
    process.execPath,
    [SHROUD_BIN, ...args],
    {
      cwd: REPO_ROOT,
      env: childEnv(options.masterKey),
      stderrLimit: Infinity,
    },
  );
  running.add(child);
  const exited = child.exited();
  void exited.then(() => running.delete(child));
  let url: string | undefined;
  try {
    await child.waitForLine((line) => {
      url ??= LISTENING.exec(line)?.[1];
      return url !== undefined && line.trimEnd().endsWith(HINT_END) ? true : undefined;
    }, START_TIMEOUT_MS);
  } catch (error) {
    child.killNow();
    await exited;
    throw error;
  }
  return {
    url: url!,
    pid: child.pid,
    command: `node bin/shroud.js ${args.join(" ")}`,
    running: () => child.running,
    stderr: () => child.stderr,
    exited,
    stop: (graceMs = 10_000) => child.stop("SIGTERM", graceMs),
    async kill() {
      child.killNow();
      await exited;
    },
    killNow: () => child.killNow(),
  };
}
