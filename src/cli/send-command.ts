/**
 * `shroud send`: seal a message to a contact card's inbox and deposit it, directly or (--via)
 * forwarded by an ingress relay in its next federation batch.
 */
import { stat } from "node:fs/promises";
import { cardFromJson, type ContactCard } from "../client/inbox.js";
import { ShroudError } from "../protocol/errors.js";
import {
  CliError,
  line,
  parseOptions,
  readAll,
  readBytesFile,
  readTextFile,
  required,
  type CliIo,
} from "./cli-support.js";
import { connectRelay, viaOption } from "./relay-connection.js";
import { SEND_USAGE } from "./usage.js";

/** Reads and parses a contact card, naming the file in any error. */
export async function loadCard(path: string): Promise<ContactCard> {
  const text = await readTextFile(path, "card file");
  try {
    return await cardFromJson(text);
  } catch (error) {
    if (error instanceof ShroudError) throw new CliError(`${path}: ${error.message}`);
    throw error;
  }
}

/** Runs `shroud send`. */
export async function sendCommand(args: string[], io: CliIo): Promise<number> {
  const values = parseOptions(
    args,
    {
      card: { type: "string" },
      file: { type: "string" },
      via: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    "send",
  );
  if (values.help) {
    await line(io.stdout, SEND_USAGE);
    return 0;
  }
  const cardPath = required(values.card, "--card FILE", "send");
  const viaOrigin = viaOption(values.via);
  const card = await loadCard(cardPath);
  const { client, via } = await connectRelay(io, card.relay, card.relaySigningKey, viaOrigin);
  let message: Uint8Array;
  if (values.file !== undefined) {
    // Before reading it all: a file over the limit costs no memory and says the limit.
    const size = (await stat(values.file).catch(() => undefined))?.size;
    if (size !== undefined && size > client.maxMessageBytes) {
      throw new CliError(
        `message file ${values.file} has ${size} bytes; a message may have at most ` +
          `${client.maxMessageBytes} bytes`,
      );
    }
    message = await readBytesFile(values.file, "message file");
  } else {
    if (io.stdin.isTTY) await line(io.stderr, "reading the message from stdin (end with Ctrl-D)");
    message = await readAll(io.stdin);
  }
  const result = await client.deposit(card, message);
  if (result.status === "forwarded" && via !== undefined) {
    // Held by the ingress relay; it reaches the inbox's relay in the ingress's next batch.
    await line(io.stdout, `forwarded via ${via}`);
    return 0;
  }
  if (result.status !== "accepted") {
    const hint =
      via !== undefined && result.status === "forbidden"
        ? ` (${via} does not forward to ${client.origin})`
        : "";
    await line(io.stderr, `shroud: deposit failed: ${result.status}${hint}`);
    return 1;
  }
  await line(io.stdout, result.duplicate ? "accepted (duplicate)" : "accepted");
  return 0;
}
