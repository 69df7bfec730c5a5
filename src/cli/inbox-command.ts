/** `shroud inbox create`: a new personal inbox, pinned to the relay's verified signing key. */
import { access } from "node:fs/promises";
import { resolve } from "node:path";
import { cardToJson, contactCard, createInbox, inboxToJson } from "../client/inbox.js";
import { RelayClient } from "../client/relay-client.js";
import { ShapingProfiles } from "../client/shaping-profile.js";
import {
  CliError,
  line,
  originArgument,
  parseOptions,
  removeQuietly,
  required,
  UsageError,
  writeNewFile,
  type CliIo,
} from "./cli-support.js";
import { INBOX_USAGE } from "./usage.js";

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Runs `shroud inbox <subcommand>`. */
export async function inboxCommand(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined) {
    throw new UsageError("missing inbox command, e.g. `shroud inbox create` (see --help)");
  }
  if (sub === "--help" || sub === "-h" || sub === "help") {
    await line(io.stdout, INBOX_USAGE);
    return 0;
  }
  if (sub !== "create") {
    throw new UsageError(`unknown inbox command "${sub}" (see \`shroud inbox --help\`)`);
  }
  const values = parseOptions(
    rest,
    {
      relay: { type: "string" },
      out: { type: "string" },
      card: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    "inbox create",
  );
  if (values.help) {
    await line(io.stdout, INBOX_USAGE);
    return 0;
  }
  const relay = originArgument(required(values.relay, "--relay URL", "inbox create"), "--relay");
  const out = required(values.out, "--out FILE", "inbox create");
  const cardPath = values.card;
  if (cardPath !== undefined && resolve(cardPath) === resolve(out)) {
    throw new UsageError("--out and --card must be different files");
  }
  // Check both targets before touching the network, so a typo costs nothing.
  for (const [path, what] of [
    [out, "inbox file"],
    [cardPath, "card file"],
  ] as const) {
    if (path !== undefined && (await exists(path))) {
      throw new CliError(`${what} ${path} already exists; not overwriting it`);
    }
  }
  // Only the descriptor is read: nothing to shape.
  const client = await RelayClient.connect(relay, { shaping: ShapingProfiles.off });
  const inbox = await createInbox(client.origin, client.descriptor.signingKey);
  await writeNewFile(out, `${inboxToJson(inbox)}\n`, 0o600, "inbox file");
  if (cardPath !== undefined) {
    try {
      await writeNewFile(cardPath, `${cardToJson(contactCard(inbox))}\n`, 0o644, "card file");
    } catch (error) {
      // Without its card the new inbox is unreachable; undo so a retry starts clean.
      await removeQuietly(out);
      throw error;
    }
  }
  await line(io.stdout, `inbox written to ${out} (private: keep it secret)`);
  if (cardPath !== undefined) {
    await line(io.stdout, `card written to ${cardPath} (give it to whoever may send to you)`);
  }
  return 0;
}
