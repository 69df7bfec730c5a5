/**
 * A profile command's side of the agent's socket: is an agent running for this profile, and if
 * so, hand the command to it and print its answer exactly as the command would have printed it.
 */
import { lstat, unlink } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import {
  agentSocketPath,
  encodeMessage,
  lineReader,
  parseAnswer,
  socketsSupported,
  type AgentRequest,
} from "./agent-protocol.js";
import { CliError, write, type CliIo } from "./cli-support.js";

/** Answers are what a command prints: far below this, unless something else speaks. */
const MAX_ANSWER_LINE_BYTES = 16 * 1024 * 1024;

/**
 * running: an agent answers on the socket (connected); stale: a socket file nobody listens on
 * (an agent was killed); absent: no socket file.
 */
export type AgentReach = { status: "running"; socket: Socket } | { status: "stale" | "absent" };

/**
 * Connects to the agent of the profile in `dir`, if one runs.
 *
 * @example
 * const agent = await reachAgent("alice");
 * if (agent.status === "running") return handOff(agent.socket, request, io);
 */
export function reachAgent(dir: string): Promise<AgentReach> {
  if (!socketsSupported()) return Promise.resolve({ status: "absent" });
  return new Promise((resolve) => {
    const socket = connect(agentSocketPath(dir));
    socket.once("connect", () => {
      socket.removeAllListeners("error");
      resolve({ status: "running", socket });
    });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      socket.destroy();
      // ENOENT: no socket (or no directory); anything else, e.g. ECONNREFUSED: nobody listens.
      resolve({ status: error.code === "ENOENT" ? "absent" : "stale" });
    });
  });
}

/**
 * Removes a socket left by a killed agent. Only call it holding the profile's lock: a running
 * agent holds that lock, so none can be listening on it then. Anything but a socket is left.
 */
export async function removeStaleSocket(dir: string): Promise<void> {
  const path = agentSocketPath(dir);
  const info = await lstat(path).catch(() => undefined);
  if (info?.isSocket()) await unlink(path).catch(() => undefined);
}

/**
 * Sends `request` to the agent on `socket`, writes each chunk of its answer to stdout or stderr
 * as it comes, and returns the command's exit code. CliError when the agent goes away before
 * it answered in full.
 */
export function handOff(socket: Socket, request: AgentRequest, io: CliIo): Promise<number> {
  return new Promise((resolve, reject) => {
    let exit: number | undefined;
    // Output is written in order: each chunk waits for the one before it.
    let printed: Promise<void> = Promise.resolve();
    const fail = (message: string) => {
      socket.destroy();
      void printed.then(() => reject(new CliError(message)), reject);
    };
    const feed = lineReader(
      MAX_ANSWER_LINE_BYTES,
      (text) => {
        const answer = parseAnswer(text);
        if (answer === undefined) return fail("the profile's agent answered something else");
        if ("exit" in answer) {
          exit = answer.exit;
          socket.end();
          return;
        }
        const [stream, chunk] =
          "stdout" in answer ? [io.stdout, answer.stdout] : [io.stderr, answer.stderr];
        printed = printed.then(() => write(stream, chunk));
      },
      () => fail("the profile's agent answered something else"),
    );
    socket.on("data", feed);
    socket.on("error", () => undefined);
    socket.on("close", () => {
      void printed.then(() => {
        if (exit !== undefined) return resolve(exit);
        reject(
          new CliError(
            "the profile's agent stopped before it answered; the command may or may not " +
              "have run (see `shroud group read`)",
          ),
        );
      }, reject);
    });
    socket.write(encodeMessage(request));
  });
}
