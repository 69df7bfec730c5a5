/**
 * The `shroud` command line: dispatches to one module per command and turns every failure into
 * one "shroud: ..." line and an exit code (2 bad arguments, 1 runtime failure). It never calls
 * process.exit, so pending output is flushed and tests can run it in-process.
 */
import { readFile } from "node:fs/promises";
import { useNodeHpke } from "../adapters/node/node-hpke-primitives.js";
import { line, processIo, reportFailure, UsageError, type CliIo } from "./cli-support.js";
import { MAIN_USAGE } from "./usage.js";

type Command = (args: string[], io: CliIo) => Promise<number>;

// Each command's module is imported when it runs: serve, keys and federation pull in Redis and
// BullMQ, which would add most of a second to every `group read` in a conversation.
const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import("./serve-command.js")).serveCommand,
  inbox: async () => (await import("./inbox-command.js")).inboxCommand,
  send: async () => (await import("./send-command.js")).sendCommand,
  fetch: async () => (await import("./fetch-command.js")).fetchCommand,
  keys: async () => (await import("./keys-command.js")).keysCommand,
  federation: async () => (await import("./federation-command.js")).federationCommand,
  profile: async () => (await import("./profile-command.js")).profileCommand,
  group: async () => (await import("./group-command.js")).groupCommand,
  demo: async () => (await import("./demo-command.js")).demoCommand,
  agent: async () => (await import("./agent-command.js")).agentCommand,
  tokens: async () => (await import("./tokens-command.js")).tokensCommand,
};

/** The package version, read from package.json next to dist/ (or src/) at run time. */
export async function version(): Promise<string> {
  // Both src/cli and dist/cli sit two levels below the package root.
  const text = await readFile(new URL("../../package.json", import.meta.url), "utf8");
  return (JSON.parse(text) as { version: string }).version;
}

async function dispatch(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h") {
    await line(io.stdout, MAIN_USAGE);
    return 0;
  }
  if (name === "help") {
    const topic = rest[0];
    if (topic === undefined) {
      await line(io.stdout, MAIN_USAGE);
      return 0;
    }
    const load = Object.hasOwn(COMMANDS, topic) ? COMMANDS[topic] : undefined;
    if (!load) throw new UsageError(`no help for unknown command "${topic}"`);
    return (await load())(["--help"], io);
  }
  if (name === "--version" || name === "-v") {
    await line(io.stdout, await version());
    return 0;
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!load) {
    const what = name.startsWith("-") ? "option" : "command";
    throw new UsageError(`unknown ${what} "${name}" (see \`shroud --help\`)`);
  }
  return (await load())(rest, io);
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  // Every command seals or opens on node:crypto (see src/node.ts), before it makes any key.
  useNodeHpke();
  try {
    return await dispatch(argv, io);
  } catch (error) {
    return reportFailure(error, io);
  }
}
