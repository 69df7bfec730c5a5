/**
 * Helpers for the process tests: `shroud serve` (on Redis, or on the embedded store) as a child
 * process (the built CLI, bin/shroud.js -> dist/cli/main.js), retrying client calls, and
 * CSPRNG-only randomness.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";
import { RedisKeys } from "../../src/adapters/redis/redis-keys.js";
import { fromUtf8, toBase64Url } from "../../src/protocol/bytes.js";
import { encode } from "../../src/protocol/codec.js";
import { keyConfigCodec } from "../../src/protocol/key-config.js";
import type { Descriptor } from "../../src/protocol/descriptor.js";
import type { ContactCard, Inbox } from "../../src/client/inbox.js";
import { RelayClient, type DepositResult } from "../../src/client/relay-client.js";
import { TransportError } from "../../src/protocol/errors.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const bin = join(root, "bin", "shroud.js");
const built = join(root, "dist", "cli", "main.js");

/** Throws a clear error when the CLI has not been built. */
export function requireBuiltCli(): void {
  if (!existsSync(built)) {
    throw new Error(
      `${built} is missing: run \`npm run build\` before these tests (npm test builds first)`,
    );
  }
}

/** A fresh SHROUD_MASTER_KEY: 32 random bytes in base64url. */
export function newMasterKey(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
}

/** A uniformly drawn integer in [min, max] from the CSPRNG (rejection sampling, no bias). */
export function randomInt(min: number, max: number): number {
  const range = max - min + 1;
  const limit = Math.floor(0x1_0000_0000 / range) * range;
  for (;;) {
    const [x] = crypto.getRandomValues(new Uint32Array(1));
    if (x! < limit) return min + (x! % range);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface ServeOptions {
  /** Run on Redis (with `prefix` and `masterKey`); without it, on the embedded store. */
  redisUrl?: string;
  prefix?: string;
  masterKey?: string;
  port: number;
  roundMs: number;
  /** More `serve` arguments (e.g. limits, `--data DIR` for the embedded store). */
  args?: string[];
}

export interface RelayProcess {
  child: ChildProcess;
  url: string;
  output(): { stdout: string; stderr: string };
  exited: Promise<number | null>;
  /** SIGKILL, resolving once the process is gone. */
  kill(): Promise<void>;
}

/** Every child started here, so afterAll can SIGKILL whatever is left. */
const children = new Set<ChildProcess>();

export function killAllRelays(): void {
  for (const child of children) child.kill("SIGKILL");
}

function childEnv(masterKey: string | undefined): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("SHROUD_") && k !== "REDIS_URL"),
  );
  return masterKey === undefined ? env : { ...env, SHROUD_MASTER_KEY: masterKey };
}

/** Starts `shroud serve [--redis ...]` and resolves once it has printed its URL and hint. */
export function startRelayProcess(options: ServeOptions): Promise<RelayProcess> {
  const args = [
    bin,
    "serve",
    ...(options.redisUrl === undefined
      ? []
      : ["--redis", options.redisUrl, "--redis-prefix", options.prefix ?? "shroud"]),
    "--port",
    String(options.port),
    "--round-ms",
    String(options.roundMs),
    ...(options.args ?? []),
  ];
  const child = spawn(process.execPath, args, { cwd: root, env: childEnv(options.masterKey) });
  children.add(child);
  let stdout = "";
  let stderr = "";
  const exited = new Promise<number | null>((resolveExit) =>
    child.on("exit", (code) => {
      children.delete(child);
      resolveExit(code);
    }),
  );
  const kill = async () => {
    child.kill("SIGKILL");
    await exited;
  };
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`serve did not start in 20 s: ${stderr}`));
    }, 20_000);
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      // serve prints its URL and the try-it hint in one write; wait for the end of the hint.
      if (match && stdout.includes("fetch --inbox inbox.json --ack\n")) {
        clearTimeout(timer);
        resolveStart({ child, url: match[1]!, output: () => ({ stdout, stderr }), exited, kill });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${stderr}`));
    });
  });
}

/** The published keys of a descriptor as comparable strings. */
export function descriptorKeys(descriptor: Descriptor): { signing: string; hpke: string[] } {
  return {
    signing: toBase64Url(descriptor.signingKey),
    hpke: descriptor.keys.map((k) => toBase64Url(encode(keyConfigCodec, k.config))),
  };
}

/**
 * A RelayClient for one origin that survives relay restarts: connects lazily, and reconnects
 * when a call fails with anything but a transport error (a stale descriptor, say).
 */
export class ResilientClient {
  #client: RelayClient | undefined;
  /** Failures seen, by kind, for diagnostics. */
  readonly failures = new Map<string, number>();
  reconnects = 0;

  constructor(readonly origin: string) {}

  #note(kind: string): void {
    this.failures.set(kind, (this.failures.get(kind) ?? 0) + 1);
  }

  async #retry<T>(
    what: (client: RelayClient) => Promise<T>,
    done: (result: T) => boolean,
    deadline: number,
  ): Promise<T> {
    for (;;) {
      try {
        if (!this.#client) {
          this.#client = await RelayClient.connect(this.origin, { shaping: ShapingProfiles.off });
          this.reconnects++;
        }
        const result = await what(this.#client);
        if (done(result)) return result;
        this.#note(`status ${(result as { status: string }).status}`);
      } catch (error) {
        this.#note(error instanceof Error ? error.name : "error");
        if (!(error instanceof TransportError)) this.#client = undefined;
      }
      if (Date.now() > deadline) {
        throw new Error(`gave up on ${this.origin}: ${JSON.stringify([...this.failures])}`);
      }
      await sleep(10);
    }
  }

  /** The current client, connecting (with retries) if there is none. */
  ensureConnected(deadline = Date.now() + 40_000): Promise<RelayClient> {
    return this.#retry(
      async (c) => c,
      () => true,
      deadline,
    );
  }

  /** Deposits until the relay answers "accepted" (a duplicate counts), same message id each time. */
  deposit(
    card: ContactCard,
    message: Uint8Array,
    messageId: Uint8Array,
    deadline = Date.now() + 40_000,
  ): Promise<DepositResult> {
    return this.#retry(
      (c) => c.deposit(card, message, { messageId }),
      (r) => r.status === "accepted",
      deadline,
    );
  }

  /** Fetches every item after `afterSeq` until one fetch succeeds. */
  async fetchAll(
    inbox: Inbox,
    afterSeq = 0,
    deadline = Date.now() + 40_000,
  ): Promise<{ seq: number; text: string }[]> {
    const result = await this.#retry(
      (c) => c.fetchAll(inbox, afterSeq),
      (r) => r.status === "ok" || r.status === "not_found",
      deadline,
    );
    if (result.status !== "ok") return [];
    if (result.unreadable.length > 0) throw new Error(`unreadable items: ${result.unreadable}`);
    return result.messages.map((m) => ({ seq: m.seq, text: fromUtf8(m.payload) }));
  }
}

/** How often each text occurs. */
export function tally(texts: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of texts) counts.set(t, (counts.get(t) ?? 0) + 1);
  return counts;
}

/** What the round pool still holds: open or unreleased rounds, pending usage, entry keys. */
export async function poolLeftovers(redis: Redis, prefix: string): Promise<string[]> {
  const keys = new RedisKeys(prefix);
  const left: string[] = [];
  if (await redis.exists(keys.openRound)) left.push(keys.openRound);
  for (const id of await redis.smembers(keys.closedRounds)) left.push(`closed round ${id}`);
  if (await redis.exists(keys.pendingItems)) left.push(keys.pendingItems);
  if (await redis.exists(keys.pendingBytes)) left.push(keys.pendingBytes);
  // Braces are not glob characters, so the entry prefix is its own pattern.
  left.push(...(await redis.keys(`${keys.entryPrefix}*`)));
  return left;
}
