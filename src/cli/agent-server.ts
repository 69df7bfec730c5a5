/**
 * The agent's socket: a Unix domain socket at DIR/agent.sock, mode 0600 in the 0700 profile
 * directory, so only the profile's owner reaches it. Each connection carries one request line
 * and gets the command's output back as it is written, then its exit code (agent-protocol.ts).
 * Bad input of any kind gets one "shroud: ..." line and exit code 2, and changes nothing.
 */
import { chmod, unlink } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { Readable, Writable } from "node:stream";
import {
  encodeMessage,
  lineReader,
  MAX_REQUEST_BYTES,
  parseRequest,
  type AgentRequest,
} from "./agent-protocol.js";
import { CliError, reportFailure, UsageError, type CliIo } from "./cli-support.js";

/** Runs one request with output going to `io`; returns the exit code. */
export type AgentHandler = (request: AgentRequest, io: CliIo) => Promise<number>;

/** How long a connection may take to send its request line. */
const REQUEST_WAIT_MS = 30_000;
/** Connections open at once at most (each one a command waiting for its turn). */
const MAX_CONNECTIONS = 64;

/** A stream whose every chunk becomes one answer line on `socket`. */
function answerStream(socket: Socket, key: "stdout" | "stderr"): Writable {
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, callback) {
      // The command goes on if its caller went away (its work must finish whole); nobody reads.
      if (socket.destroyed || !socket.writable) return callback();
      const text = typeof chunk === "string" ? chunk : chunk.toString("utf8");
      socket.write(encodeMessage(key === "stdout" ? { stdout: text } : { stderr: text }), () =>
        callback(),
      );
    },
  });
}

/**
 * @example
 * const server = await AgentServer.listen("alice/agent.sock", (request, io) => run(request, io));
 * await server.close();
 */
export class AgentServer {
  readonly #connections = new Set<Socket>();
  #stopping = false;

  private constructor(
    private readonly server: Server,
    readonly path: string,
    private readonly handle: AgentHandler,
  ) {}

  /** Listens on `path` (which must not exist) with mode 0600. */
  static async listen(path: string, handle: AgentHandler): Promise<AgentServer> {
    const server = createServer();
    const agent = new AgentServer(server, path, handle);
    server.maxConnections = MAX_CONNECTIONS;
    server.on("connection", (socket) => agent.#accept(socket));
    // The socket file is created with the umask's mode; 0177 leaves it 0600 from the start, so
    // there is no moment where another user could connect.
    const umask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(path, () => {
          server.off("error", reject);
          resolve();
        });
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "error";
      throw new CliError(`cannot listen on ${path}: ${code}`);
    } finally {
      process.umask(umask);
    }
    await chmod(path, 0o600);
    server.on("error", () => undefined);
    return agent;
  }

  /**
   * Stops taking requests (one that comes now is told the agent is stopping) and waits for the
   * connections to end, at most `graceMs`; then closes what is left and removes the socket.
   */
  async close(graceMs: number): Promise<void> {
    this.#stopping = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const grace = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([closed, grace]);
    for (const socket of this.#connections) socket.destroy();
    await closed;
    await unlink(this.path).catch(() => undefined);
  }

  #accept(socket: Socket): void {
    this.#connections.add(socket);
    socket.on("close", () => this.#connections.delete(socket));
    socket.on("error", () => undefined);
    socket.setTimeout(REQUEST_WAIT_MS, () => socket.destroy());
    let received = false;
    const feed = lineReader(
      MAX_REQUEST_BYTES,
      (text) => {
        if (received) return;
        received = true;
        socket.setTimeout(0);
        void this.#answer(socket, () => parseRequest(text));
      },
      () => {
        if (received) return;
        received = true;
        void this.#answer(socket, () => {
          throw new UsageError(`a request to the agent has at most ${MAX_REQUEST_BYTES} bytes`);
        });
      },
    );
    socket.on("data", feed);
  }

  async #answer(socket: Socket, request: () => AgentRequest): Promise<void> {
    const io: CliIo = {
      stdout: answerStream(socket, "stdout"),
      stderr: answerStream(socket, "stderr"),
      stdin: Readable.from([]),
      env: {},
    };
    let code: number;
    try {
      if (this.#stopping) throw new CliError("the profile's agent is stopping; try again");
      code = await this.handle(request(), io);
    } catch (error) {
      code = await reportFailure(error, io);
    }
    if (!socket.destroyed) socket.end(encodeMessage({ exit: code }));
  }
}
