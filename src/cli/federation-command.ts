/**
 * `shroud federation dlq list|replay ID|drop ID`: the dead-letter queue of federation batches
 * that exhausted their delivery attempts, on Redis. Only ids, peers, attempt counts and sizes
 * are shown: a batch is signed, padded and sealed, and its content is nobody's business here.
 *
 * On the embedded store the dead letters live in the serving relay, which mirrors them into
 * DATA_DIR/dead-letters every few seconds and applies the replay and drop requests this command
 * leaves there (see DeadLetterDirectory).
 */
import { join } from "node:path";
import { DeadLetterDirectory } from "../adapters/node/dead-letter-directory.js";
import { redisPorts } from "../adapters/redis/redis-ports.js";
import { ShroudError } from "../protocol/errors.js";
import {
  CliError,
  line,
  masterKeyFromEnv,
  redisUrlArgument,
  parseWithPositionals,
  UsageError,
  type CliIo,
} from "./cli-support.js";
import { FEDERATION_USAGE } from "./usage.js";

const ACTIONS = ["list", "replay", "drop"] as const;
type Action = (typeof ACTIONS)[number];
/** Dead letters are named by their claim id: 32 lowercase hex digits. */
const DEAD_LETTER_ID = /^[0-9a-f]{32}$/;
const PREFIX = /^[A-Za-z0-9_.-]{1,64}$/;

function isAction(text: string | undefined): text is Action {
  return (ACTIONS as readonly string[]).includes(text ?? "");
}

/** Runs `shroud federation <subcommand>`. */
export async function federationCommand(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined) {
    throw new UsageError("missing federation command, e.g. `shroud federation dlq list`");
  }
  if (sub === "--help" || sub === "-h" || sub === "help") {
    await line(io.stdout, FEDERATION_USAGE);
    return 0;
  }
  if (sub !== "dlq") {
    throw new UsageError(`unknown federation command "${sub}" (see \`shroud federation --help\`)`);
  }
  const { values, positionals } = parseWithPositionals(
    rest,
    {
      data: { type: "string" },
      redis: { type: "string" },
      "redis-prefix": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    "federation",
  );
  if (values.help || positionals[0] === "help") {
    await line(io.stdout, FEDERATION_USAGE);
    return 0;
  }
  const [action, id, ...extra] = positionals;
  if (!isAction(action)) {
    throw new UsageError(
      action === undefined
        ? "missing dlq command: list, replay ID or drop ID (see `shroud federation --help`)"
        : `unknown dlq command "${action}" (see \`shroud federation --help\`)`,
    );
  }
  if (action === "list" ? id !== undefined : extra.length > 0) {
    throw new UsageError(`unexpected argument "${action === "list" ? id : extra[0]}"`);
  }
  if (action !== "list") {
    if (id === undefined)
      throw new UsageError(`missing ID: \`shroud federation dlq ${action} ID\``);
    if (!DEAD_LETTER_ID.test(id)) {
      throw new UsageError(
        `ID must be 32 hex digits as \`shroud federation dlq list\` prints, got ${JSON.stringify(id)}`,
      );
    }
  }
  if (values.data !== undefined && values.redis !== undefined) {
    throw new UsageError("--data and --redis exclude each other");
  }
  const redisUrl =
    values.data !== undefined ? undefined : (values.redis ?? (io.env["REDIS_URL"] || undefined));
  if (redisUrl === undefined) {
    return embeddedDeadLetters(values.data ?? (io.env["SHROUD_DATA"] || ".shroud"), action, id, io);
  }
  redisUrlArgument(redisUrl, values.redis ? "--redis" : "REDIS_URL");
  const prefix = values["redis-prefix"] ?? (io.env["SHROUD_REDIS_PREFIX"] || "shroud");
  if (!PREFIX.test(prefix)) {
    throw new UsageError("--redis-prefix must be 1-64 letters, digits, '_', '.' or '-'");
  }
  const ports = redisPorts({ url: redisUrl, prefix, masterKey: masterKeyFromEnv(io.env) });
  const queue = ports.federation;
  try {
    await ports.verify();
    if (action === "list") {
      const letters = await queue.deadLetters();
      if (letters.length === 0) await line(io.stderr, "no dead letters");
      for (const dead of letters) {
        const attempts = `${dead.attempts} attempt${dead.attempts === 1 ? "" : "s"}`;
        await line(io.stdout, `${dead.id}  ${dead.peer}  ${attempts}  ${dead.batch.length} bytes`);
      }
      return 0;
    }
    const done = action === "replay" ? await queue.replay(id!) : await queue.drop(id!);
    if (!done) {
      throw new CliError(`no dead letter ${id} (see \`shroud federation dlq list\`)`);
    }
    await line(
      io.stdout,
      action === "replay"
        ? `replayed ${id}: back in delivery with fresh attempts`
        : `dropped ${id}`,
    );
    return 0;
  } catch (error) {
    if (error instanceof ShroudError) throw error;
    // ioredis and BullMQ errors; the URL is left out, it may hold a password.
    const message = error instanceof Error ? error.message : String(error);
    throw new CliError(`cannot use Redis: ${message}`);
  } finally {
    await ports.close();
  }
}

/** The dead letters a relay on the embedded store mirrors into its data directory. */
async function embeddedDeadLetters(
  dataDir: string,
  action: Action,
  id: string | undefined,
  io: CliIo,
): Promise<number> {
  const dead = new DeadLetterDirectory(join(dataDir, "dead-letters"));
  if (action === "list") {
    const letters = await dead.list();
    if (letters.length === 0) await line(io.stderr, "no dead letters");
    for (const letter of letters) {
      const attempts = `${letter.attempts} attempt${letter.attempts === 1 ? "" : "s"}`;
      await line(io.stdout, `${letter.id}  ${letter.peer}  ${attempts}  ${letter.bytes} bytes`);
    }
    return 0;
  }
  if (!(await dead.request(action, id!))) {
    throw new CliError(`no dead letter ${id} in ${dataDir} (see \`shroud federation dlq list\`)`);
  }
  await line(
    io.stdout,
    `${action} of ${id} requested: the relay serving ${dataDir} applies it within 5 s`,
  );
  return 0;
}
