/**
 * Loads the Lua scripts in ./lua (each file's header names its KEYS and ARGV) and registers
 * them as ioredis commands, which run them by SHA and reload them after a NOSCRIPT. A script
 * whose number of keys varies (`keys: undefined`) takes that number as its first argument.
 */
import { readFileSync } from "node:fs";
import type { ChainableCommander, Cluster, Redis } from "ioredis";

const SCRIPTS = {
  deposit: { file: "deposit.lua", keys: undefined },
  inboxAdmit: { file: "inbox-admit.lua", keys: 2 },
  inboxAppend: { file: "inbox-append.lua", keys: 3 },
  inboxFetch: { file: "inbox-fetch.lua", keys: 2 },
  inboxAck: { file: "inbox-ack.lua", keys: 2 },
  inboxExpire: { file: "inbox-expire.lua", keys: 3 },
  poolAdd: { file: "pool-add.lua", keys: 4 },
  poolClose: { file: "pool-close.lua", keys: 3 },
  poolPage: { file: "pool-page.lua", keys: 1 },
  poolRelease: { file: "pool-release.lua", keys: 4 },
  fedHold: { file: "fed-hold.lua", keys: 2 },
  fedClaim: { file: "fed-claim.lua", keys: 3 },
  fedSent: { file: "fed-sent.lua", keys: 3 },
  fedRemember: { file: "fed-remember.lua", keys: 1 },
} as const;
export type ScriptName = keyof typeof SCRIPTS;

type Arg = string | number | Buffer;
type ScriptCall = (...args: Arg[]) => Promise<unknown>;

const sources = new Map<ScriptName, string>();

function read(file: string): string {
  return readFileSync(new URL(`./lua/${file}`, import.meta.url), "utf8");
}

/**
 * A script's source, with each `-- include: FILE as NAME` line replaced by FILE's script as a
 * local function NAME(KEYS, ARGV), whose `return` answers the caller: a script that does what
 * others do calls them rather than copying their rules.
 */
function source(name: ScriptName): string {
  let lua = sources.get(name);
  if (!lua) {
    lua = read(SCRIPTS[name].file).replace(
      /^-- include: (\S+\.lua) as (\w+)$/gm,
      (_, file: string, fn: string) => `local function ${fn}(KEYS, ARGV)\n${read(file)}end`,
    );
    sources.set(name, lua);
  }
  return lua;
}

/** Registers every script on a connection (once per connection). */
export function defineScripts(redis: Redis | Cluster): void {
  for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
    const { keys } = SCRIPTS[name];
    redis.defineCommand(name, {
      lua: source(name),
      ...(keys === undefined ? {} : { numberOfKeys: keys }),
    });
  }
}

/**
 * Runs a registered script on a connection or queues it on a pipeline. With `buffers`, replies
 * come back as Buffers instead of strings.
 */
export function runScript(
  target: Redis | Cluster | ChainableCommander,
  name: ScriptName,
  args: Arg[],
  buffers = false,
): Promise<unknown> {
  const commands = target as unknown as Record<string, ScriptCall>;
  const call = commands[buffers ? `${name}Buffer` : name];
  if (!call) throw new Error(`script ${name} is not defined on this connection`);
  return call.apply(target, args);
}
