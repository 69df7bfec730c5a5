/**
 * `shroud fetch`: read an inbox's messages to stdout or to files, then optionally ack them;
 * with --via, fetch and ack are proxied by an ingress relay so the inbox's relay never sees us.
 */
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { inboxFromJson, type Inbox } from "../client/inbox.js";
import type { InboxMessage } from "../client/relay-client.js";
import { ShroudError } from "../protocol/errors.js";
import {
  CliError,
  isAlreadyExists,
  line,
  parseOptions,
  readTextFile,
  required,
  warnIfShared,
  write,
  writeNewFile,
  type CliIo,
} from "./cli-support.js";
import { connectRelay, viaOption } from "./relay-connection.js";
import { FETCH_USAGE } from "./usage.js";

const NEWLINE = 0x0a;

/** Reads and parses a private inbox file, naming the file in any error. */
export async function loadInbox(path: string): Promise<Inbox> {
  const text = await readTextFile(path, "inbox file");
  try {
    return await inboxFromJson(text);
  } catch (error) {
    if (error instanceof ShroudError) throw new CliError(`${path}: ${error.message}`);
    throw error;
  }
}

async function writeMessageFile(dir: string, message: InboxMessage): Promise<void> {
  const path = join(dir, `${message.seq}.msg`);
  try {
    await writeNewFile(path, message.payload, 0o600, "message file");
  } catch (error) {
    // Fetching again without --ack rewrites the same messages: identical content is fine. A
    // different message under the same number (a restarted relay counts from 1 again) must not
    // silently replace one the user already has.
    const existing = await readFile(path).catch(() => undefined);
    if (existing?.equals(message.payload)) return;
    if (existing) {
      throw new CliError(`${path} exists with other content; nothing acked, choose another --out`);
    }
    throw error;
  }
}

/**
 * How far an ack may go: up to the last item before the first one that did not open. An item
 * that does not open may be a damaged or mis-sealed message the user still wants (or another
 * client's to read), so it and everything after it stay on the relay.
 */
function ackableSeq(result: { messages: InboxMessage[]; unreadable: number[]; lastSeq: number }) {
  if (result.unreadable.length === 0) return result.lastSeq;
  const firstUnreadable = Math.min(...result.unreadable);
  let upTo = 0;
  for (const message of result.messages) {
    if (message.seq < firstUnreadable) upTo = Math.max(upTo, message.seq);
  }
  return upTo;
}

async function writeToStdout(io: CliIo, message: InboxMessage): Promise<void> {
  await write(io.stdout, message.payload);
  if (message.payload.at(-1) !== NEWLINE) await write(io.stdout, "\n");
}

/** Runs `shroud fetch`. */
export async function fetchCommand(args: string[], io: CliIo): Promise<number> {
  const values = parseOptions(
    args,
    {
      inbox: { type: "string" },
      out: { type: "string" },
      ack: { type: "boolean" },
      via: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    "fetch",
  );
  if (values.help) {
    await line(io.stdout, FETCH_USAGE);
    return 0;
  }
  const inboxPath = required(values.inbox, "--inbox FILE", "fetch");
  const inbox = await loadInbox(inboxPath);
  await warnIfShared(inboxPath, "inbox file", io);
  const via = viaOption(values.via);
  const outDir = values.out;
  if (outDir !== undefined) {
    await mkdir(outDir, { recursive: true, mode: 0o700 }).catch((error: unknown) => {
      if (isAlreadyExists(error)) throw new CliError(`--out ${outDir} is not a directory`);
      throw new CliError(`cannot create directory ${outDir}`);
    });
  }
  const { client } = await connectRelay(io, inbox.relay, inbox.relaySigningKey, via);
  const result = await client.fetchAll(inbox);
  // An inbox exists on the relay only from its first deposit on, so "not found" just means empty.
  if (result.status === "not_found") {
    await line(io.stderr, "0 messages");
    return 0;
  }
  if (result.status !== "ok") {
    await line(io.stderr, `shroud: fetch failed: ${result.status}`);
    return 1;
  }
  for (const message of result.messages) {
    if (outDir === undefined) await writeToStdout(io, message);
    else await writeMessageFile(outDir, message);
  }
  const count = result.messages.length;
  const parts = [`${count} message${count === 1 ? "" : "s"}`];
  if (outDir !== undefined && count > 0) parts.push(`written to ${outDir}`);
  if (result.unreadable.length > 0) {
    parts.push(`${result.unreadable.length} unreadable (not sealed to this inbox)`);
  }
  if (result.more) parts.push("more waiting: fetch again");
  if (values.ack) {
    const upTo = ackableSeq(result);
    if (upTo > 0) {
      const acked = await client.ack(inbox, upTo);
      if (acked.status !== "ok") {
        await line(io.stderr, `shroud: ack failed: ${acked.status} (${parts.join(", ")})`);
        return 1;
      }
      parts.push(`acked ${acked.removed}`);
    } else if (count + result.unreadable.length > 0) {
      parts.push("acked 0");
    }
    if (upTo < result.lastSeq) {
      const kept = result.unreadable.length + result.messages.filter((m) => m.seq > upTo).length;
      parts.push(
        `not acked from the first unreadable item on (${kept} item${kept === 1 ? "" : "s"} kept on the relay)`,
      );
    }
  }
  await line(io.stderr, parts.join(", "));
  return 0;
}
