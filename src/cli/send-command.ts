/** `shroud send`: seal a message to a contact card's inbox and deposit it. */
import { cardFromJson, type ContactCard } from "../client/inbox.js";
import { RelayClient } from "../client/relay-client.js";
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
import { SEND_USAGE } from "./usage.js";

/** Reads and parses a contact card, naming the file in any error. */
export async function loadCard(path: string): Promise<ContactCard> {
  const text = await readTextFile(path, "card file");
  try {
    return cardFromJson(text);
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
      help: { type: "boolean", short: "h" },
    },
    "send",
  );
  if (values.help) {
    await line(io.stdout, SEND_USAGE);
    return 0;
  }
  const card = await loadCard(required(values.card, "--card FILE", "send"));
  let message: Uint8Array;
  if (values.file !== undefined) {
    message = await readBytesFile(values.file, "message file");
  } else {
    if (io.stdin.isTTY) await line(io.stderr, "reading the message from stdin (end with Ctrl-D)");
    message = await readAll(io.stdin);
  }
  const client = await RelayClient.connect(
    card.relay,
    card.relaySigningKey ? { pinnedSigningKey: card.relaySigningKey } : {},
  );
  const result = await client.deposit(card, message);
  if (result.status !== "accepted") {
    await line(io.stderr, `shroud: deposit failed: ${result.status}`);
    return 1;
  }
  await line(io.stdout, result.duplicate ? "accepted (duplicate)" : "accepted");
  return 0;
}
