/**
 * `shroud agent`: a long-running client for one profile. A one-shot command starts, sends and
 * exits, so its requests show when its user acts; the agent's relay clients send on their
 * shaping schedule whatever the user does (cover when idle), it reads its groups on its own timer
 * and keeps what it read for `group read`, and the profile's other commands hand their work to
 * it over its socket (agent-server.ts) while it runs. It holds the profile (its lock) until
 * SIGINT or SIGTERM, then saves it, closes its clients, removes its socket and exits 0.
 *
 * It prints one line when it is ready and one when it stops; nothing about groups, names or
 * times in between.
 */
import { ShroudError } from "../protocol/errors.js";
import { reachAgent, removeStaleSocket, handOff } from "./agent-client.js";
import { agentConfig, describeShaping, AGENT_OPTIONS, type AgentConfig } from "./agent-config.js";
import {
  agentSocketPath,
  MAX_SOCKET_PATH_BYTES,
  socketsSupported,
  type AgentRequest,
} from "./agent-protocol.js";
import { TaskQueue } from "./agent-queue.js";
import { AgentServer } from "./agent-server.js";
import { AgentSync } from "./agent-sync.js";
import { CliError, line, parseOptions, UsageError, type CliIo } from "./cli-support.js";
import { checkGroupArgs, runGroup } from "./group-command.js";
import { Profile, profileDir } from "./profile-context.js";
import { runCard } from "./profile-command.js";
import { runTokens } from "./tokens-command.js";
import { listenForStop, type StopSignals } from "./stop-signals.js";
import { AGENT_USAGE } from "./usage.js";

/** How long a stopping agent lets commands under way finish before it closes its clients. */
const STOP_GRACE_MS = 20_000;

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

/** `agent status`: how the agent sends and what it keeps (counters only, never times). */
async function printStatus(config: AgentConfig, profile: Profile, io: CliIo): Promise<number> {
  await line(io.stdout, `agent for the profile in ${config.dir}: ${describeShaping(config)}`);
  // One line per relay client: each has its own slots and its own loop through its relay.
  for (const client of await profile.clients()) {
    const stats = client.shapingStats;
    if (!stats) continue;
    const route = client.via ? `${client.origin} via ${client.via.origin}` : client.origin;
    await line(
      io.stdout,
      `${route}: ${stats.real + stats.cover} requests in slots (${stats.real} real, ` +
        `${stats.cover} cover, ${stats.coverFailures} cover failed, ${stats.skipped} skipped); ` +
        `loop: ${stats.loopSent} sent, ${stats.loopReceived} came back`,
    );
  }
  let kept = profile.newsCount;
  for (const group of await profile.loadGroups()) kept += group.session.unread;
  await line(io.stdout, `kept for group read: ${plural(kept, "event")}`);
  return 0;
}

/** Runs one request from the socket on the agent's profile. */
function handler(config: AgentConfig, profile: Profile, queue: TaskQueue, sync: AgentSync) {
  return async (request: AgentRequest, io: CliIo): Promise<number> => {
    if (request.command === "status") return printStatus(config, profile, io);
    if (request.command === "profile") return queue.run(() => runCard(profile, io));
    if (request.command === "tokens") {
      return queue.run(() => runTokens(request.sub, request.positionals, profile, io));
    }
    checkGroupArgs(request.sub, request.positionals);
    const input = { cards: request.cards, source: sync.source };
    return queue.run(() => runGroup(request.sub, request.positionals, profile, io, input));
  };
}

async function status(args: string[], io: CliIo): Promise<number> {
  const values = parseOptions(args, AGENT_OPTIONS, "agent status");
  if (values.help) {
    await line(io.stdout, AGENT_USAGE);
    return 0;
  }
  const dir = profileDir(values.profile, io.env);
  const agent = await reachAgent(dir);
  if (agent.status !== "running") throw new CliError(`no agent runs for the profile in ${dir}`);
  return handOff(agent.socket, { command: "status" }, io);
}

/** Runs `shroud agent [status]`. */
export async function agentCommand(args: string[], io: CliIo): Promise<number> {
  if (args[0] === "status") return status(args.slice(1), io);
  const config = agentConfig(args, io.env);
  if (config === "help") {
    await line(io.stdout, AGENT_USAGE);
    return 0;
  }
  if (!socketsSupported()) {
    throw new CliError(
      "shroud agent needs Unix domain sockets, which this system does not have " +
        "(the one-shot commands work without it)",
    );
  }
  const socketPath = agentSocketPath(config.dir);
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw new UsageError(
      `${socketPath} is too long for a Unix socket (at most ${MAX_SOCKET_PATH_BYTES} bytes): ` +
        "give --profile a shorter path",
    );
  }
  const running = await reachAgent(config.dir);
  if (running.status === "running") {
    running.socket.destroy();
    throw new CliError(`an agent already runs for the profile in ${config.dir}`);
  }

  // Signals are heard from here on: one during start-up still saves and releases the profile.
  const signals = listenForStop();
  try {
    return await serveProfile(config, io, signals);
  } finally {
    signals.dispose();
  }
}

async function serveProfile(config: AgentConfig, io: CliIo, signals: StopSignals): Promise<number> {
  const profile = await Profile.open(config.dir, config.secrets, { shaping: config.shaping });
  let server: AgentServer | undefined;
  let sync: AgentSync | undefined;
  const queue = new TaskQueue();
  try {
    // The lock is ours now: no other agent listens, so a socket file left is a killed one's.
    await removeStaleSocket(config.dir);
    if (signals.stopping) return 0;
    await profile.loadGroups();
    sync = new AgentSync(profile, queue, config.syncMeanMs);
    // Listening before the relays are reached: a command typed meanwhile waits in the queue
    // rather than for the profile's lock.
    server = await AgentServer.listen(
      agentSocketPath(config.dir),
      handler(config, profile, queue, sync),
    );
    await queue.run(async () => {
      const home = await profile.route(profile.member.inbox.relay);
      // Invitations are read on the schedule too, not only when the agent looks for them.
      home.watch(profile.member.inbox);
    });
    if (signals.stopping) return 0;
    sync.start();
    await line(
      io.stdout,
      `agent running for the profile in ${config.dir} (${describeShaping(config)}); ` +
        "its commands go through it until it stops (Ctrl-C)",
    );
    await signals.requested;
    return 0;
  } finally {
    await shutDown(profile, queue, server, sync);
    if (server) await line(io.stdout, "agent stopped; profile saved");
  }
}

/**
 * Lets commands under way finish (for a while), closes the clients (failing what still waits
 * for a slot: every group saved its state before anything left, so the next command retries
 * it), and once nothing runs any more saves the profile and releases it.
 */
async function shutDown(
  profile: Profile,
  queue: TaskQueue,
  server: AgentServer | undefined,
  sync: AgentSync | undefined,
): Promise<void> {
  const closing = server?.close(STOP_GRACE_MS);
  await sync?.stop();
  const grace = new Promise<void>((resolve) => setTimeout(resolve, STOP_GRACE_MS).unref());
  await Promise.race([queue.idle(), grace]);
  await profile.closeClients();
  // The store's key is forgotten on close: nothing may write the profile after that.
  await queue.idle();
  await closing;
  try {
    await profile.save();
  } catch (error) {
    if (!(error instanceof ShroudError)) throw error;
  } finally {
    await profile.close();
  }
}
