/**
 * What a profile command and `shroud agent` say to each other over the agent's socket,
 * DIR/agent.sock (a Unix domain socket, mode 0600, in the 0700 profile directory): one JSON line
 * per message, UTF-8.
 *
 *   request (one per connection): {"shroud":"agent-request/v1","command":"group","sub":"send",
 *                                  "positionals":["friends","hi"],"cards":[]}
 *                                 {"shroud":"agent-request/v1","command":"profile","sub":"card",
 *                                  "positionals":[]}
 *                                 {"shroud":"agent-request/v1","command":"tokens","sub":"refill",
 *                                  "positionals":["32"]}
 *                                 {"shroud":"agent-request/v1","command":"status"}
 *   answer (a stream, then exit):  {"stdout":"[friends] sent (epoch 1)\n"} {"stderr":"..."}
 *                                  {"exit":0}
 *
 * `cards` holds the contents of the card files `group add` names (read where the command was
 * typed). The answer is what the command would have printed itself, chunk by chunk in the order
 * written, and its exit code. Nothing else crosses the socket: no passphrase (the agent already
 * holds the profile), no option but the command's own arguments.
 */
import { join } from "node:path";
import { UsageError } from "./cli-support.js";

/** The socket's file name in the profile directory. */
export const AGENT_SOCKET = "agent.sock";
export const REQUEST_TAG = "agent-request/v1";

/**
 * Longest request line: the largest message `group send` takes from stdin fits with room to
 * spare. Longer lines are refused before they are parsed.
 */
export const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/** Longest Unix socket path the platforms take (macOS: 104 bytes with the terminator). */
export const MAX_SOCKET_PATH_BYTES = 103;

export type AgentRequest =
  | { command: "group"; sub: string; positionals: string[]; cards: string[] }
  | { command: "profile"; sub: "card"; positionals: [] }
  | { command: "tokens"; sub: "status" | "refill"; positionals: string[] }
  | { command: "status" };

export type AgentAnswer = { stdout: string } | { stderr: string } | { exit: number };

/** Where the agent of the profile in `dir` listens. */
export function agentSocketPath(dir: string): string {
  return join(dir, AGENT_SOCKET);
}

/** Whether this platform has Unix domain sockets at a path (Windows has named pipes instead). */
export function socketsSupported(platform: string = process.platform): boolean {
  return platform !== "win32";
}

/** One line for the socket. */
export function encodeMessage(message: AgentRequest | AgentAnswer): string {
  const body = "command" in message ? { shroud: REQUEST_TAG, ...message } : message;
  return `${JSON.stringify(body)}\n`;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((x) => typeof x === "string");
}

/**
 * A request line as the agent reads it. UsageError for anything that is not a request this
 * agent knows (the client is a different version, or not a shroud command at all).
 */
export function parseRequest(text: string): AgentRequest {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new UsageError("the agent got a request that is not JSON");
  }
  if (record === null || typeof record !== "object" || record["shroud"] !== REQUEST_TAG) {
    throw new UsageError(
      `the agent speaks ${REQUEST_TAG} only: restart it with this version of shroud`,
    );
  }
  const { command, sub, positionals, cards } = record;
  if (command === "status") return { command };
  if (
    command === "group" &&
    typeof sub === "string" &&
    isStringArray(positionals) &&
    isStringArray(cards)
  ) {
    return { command, sub, positionals, cards };
  }
  if (
    command === "tokens" &&
    (sub === "status" || sub === "refill") &&
    isStringArray(positionals) &&
    positionals.length <= 1
  ) {
    return { command, sub, positionals };
  }
  if (command === "profile" && sub === "card" && isStringArray(positionals)) {
    if (positionals.length > 0) throw new UsageError("profile card takes no arguments");
    return { command, sub, positionals: [] };
  }
  throw new UsageError("the agent got a request it does not know");
}

/** An answer line as a command reads it; undefined when the line is not one. */
export function parseAnswer(text: string): AgentAnswer | undefined {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (record === null || typeof record !== "object") return undefined;
  if (typeof record["stdout"] === "string") return { stdout: record["stdout"] };
  if (typeof record["stderr"] === "string") return { stderr: record["stderr"] };
  const exit = record["exit"];
  if (typeof exit === "number" && Number.isInteger(exit) && exit >= 0 && exit <= 255) {
    return { exit };
  }
  return undefined;
}

/**
 * Splits a stream into lines, calling `onLine` for each; `onTooLong` once a line passes
 * `maxBytes` (after which nothing more is read). Returns the function to feed chunks to.
 *
 * @example
 * const feed = lineReader(MAX_REQUEST_BYTES, (text) => handle(text), () => refuse());
 * socket.on("data", feed);
 */
export function lineReader(
  maxBytes: number,
  onLine: (text: string) => void,
  onTooLong: () => void,
): (chunk: Buffer) => void {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let overflowed = false;
  return (chunk) => {
    if (overflowed) return;
    let rest = chunk;
    for (let nl = rest.indexOf(10); nl >= 0; nl = rest.indexOf(10)) {
      if (pendingBytes + nl > maxBytes) break;
      const text = Buffer.concat([...pending, rest.subarray(0, nl)]).toString("utf8");
      pending = [];
      pendingBytes = 0;
      rest = rest.subarray(nl + 1);
      onLine(text);
    }
    pending.push(rest);
    pendingBytes += rest.length;
    if (pendingBytes > maxBytes) {
      overflowed = true;
      pending = [];
      onTooLong();
    }
  };
}
