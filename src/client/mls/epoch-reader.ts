/**
 * Reading a group: fetching every epoch inbox the member reads and acting on what arrived, in
 * the inbox's order. The relay shuffles each round, so a fetched page is read with each sender's
 * application messages back in ratchet-generation order (sender-order.ts); commits keep their
 * places, which decide the epoch (commit-race.ts). A member never processes its own messages: it
 * skips its own message ids. What is read becomes events kept with the session until a sync or
 * take returns them, so a read that fails part-way loses nothing it had read.
 */
import { decode } from "../../protocol/codec.js";
import { TransportError } from "../../protocol/errors.js";
import { reassemble, type OpenedItem, type ReadEntry } from "../fragment.js";
import type { RelayClient } from "../relay-client.js";
import { GroupError } from "../errors.js";
import { adoptWinningCommit, depositPending, isPendingCommit } from "./commit-race.js";
import { pruneReadings, watchReadings } from "./epoch-readings.js";
import { groupMessageCodec, openGroupItem, type GroupMessage } from "./group-payload.js";
import type { EpochInbox } from "./epoch-inbox.js";
import type { Reading } from "./group-record.js";
import { flushOutbox, isOwnMessage } from "./outbox.js";
import { drainBuffer, receiveMessage } from "./receive-message.js";
import { inSenderOrder } from "./sender-order.js";
import { currentEpoch, homeClient, saveSession, type SessionContext } from "./session-context.js";

/**
 * Reads every inbox: the current epoch's inbox (moving to the next one when a commit is
 * applied), then older epochs' inboxes still within key retention, then buffered future-epoch
 * messages; again while a pass moved the group to a later epoch (its new inbox may hold more).
 * What arrives after a pass is for the next read: reading every inbox once more to find nothing
 * would double a read's requests. Delivers the outbox first, and a restored pending commit last.
 */
export async function readGroup(ctx: SessionContext): Promise<void> {
  const { group } = ctx;
  await flushOutbox(ctx);
  watchReadings(ctx, await homeClient(ctx));
  for (;;) {
    const epoch = currentEpoch(group);
    let progressed = false;
    for (const reading of [...group.readings]) {
      if (group.removed) break;
      if (await readInbox(ctx, reading)) progressed = true;
    }
    group.events.push(...(await drainBuffer(group)));
    pruneReadings(group);
    watchReadings(ctx, await homeClient(ctx));
    await saveSession(ctx);
    if (group.removed) return;
    const restored = group.pending !== undefined && !group.pendingSent;
    if (progressed && currentEpoch(group) === epoch && !restored) return;
    if (!progressed) {
      // A commit restored from before a restart goes out only once everything visible is
      // read: if another commit already decided its epoch, it is never sent at all.
      if (!group.pending || group.pendingSent) return;
      await depositPending(ctx);
    }
  }
}

/** Reads until a commit (this member's or another's) has moved the group past `epoch`. */
export async function readUntilEpochAfter(ctx: SessionContext, epoch: bigint): Promise<void> {
  const deadline = Date.now() + (ctx.deps.commitWaitMs ?? 30_000);
  for (;;) {
    await readGroup(ctx);
    if (currentEpoch(ctx.group) > epoch || ctx.group.removed) return;
    if (Date.now() > deadline) {
      throw new GroupError(
        "no commit of this epoch became visible in time (a pending one stays, for a later sync to decide)",
      );
    }
    await new Promise((resolve) => setTimeout(resolve, ctx.deps.pollMs ?? 100));
  }
}

/** Reads what is new in one epoch inbox; whether anything was. */
async function readInbox(ctx: SessionContext, reading: Reading): Promise<boolean> {
  const client = await homeClient(ctx);
  const page = await client.fetchAllItems(reading, reading.cursor);
  if (page.status === "not_found") return false;
  if (page.status !== "ok") throw new TransportError(`group fetch failed (${page.status})`);
  const entries = await readEntries(client, reading, page.items, reading.cursor);
  const messages = entries.map((entry) => ("message" in entry ? entry.message : undefined));
  let progressed = false;
  for (const [i, message] of (await inSenderOrder(ctx.group.state, messages)).entries()) {
    const entry = entries[i]!;
    reading.cursor = Math.max(reading.cursor, entry.through);
    progressed = true;
    await actOn(ctx, reading, entry, message);
  }
  return progressed;
}

/** Opens a group inbox's items fetched after `cursor` and puts fragmented messages back together. */
export async function readEntries(
  client: RelayClient,
  reading: Pick<EpochInbox, "inboxId" | "payloadKey">,
  items: readonly { seq: number; payload: Uint8Array }[],
  cursor: number,
): Promise<(ReadEntry<GroupMessage> & { through: number })[]> {
  const opened: OpenedItem<GroupMessage>[] = [];
  for (const item of items) opened.push(await openGroupItem(reading, item, client.padding));
  // A message sent in fragments takes its place at its first fragment; one still missing
  // some holds back what follows it until they arrive (fragment.ts).
  const { entries } = reassemble(opened, cursor, (bytes) => {
    try {
      // Rebuilt from fragments, each of which fit a bucket: the message itself may be larger
      // than any one bucket (a large group's Welcome or commit), up to what fragments carry.
      return decode(groupMessageCodec, bytes, bytes.length);
    } catch {
      return undefined;
    }
  });
  return entries;
}

/**
 * Acts on one entry: `message` is the entry's message after sender ordering (which may be
 * another entry's), undefined when that place holds nothing readable.
 */
async function actOn(
  ctx: SessionContext,
  reading: Reading,
  entry: ReadEntry<GroupMessage>,
  message: GroupMessage | undefined,
): Promise<void> {
  const { group } = ctx;
  if (!message) {
    group.events.push({
      kind: "unreadable",
      reason:
        "unreadable" in entry && entry.unreadable === "incomplete"
          ? "a message's fragments did not all arrive"
          : "an item did not open under the epoch key",
    });
    return;
  }
  if (isPendingCommit(group, reading, message, entry.payloads)) {
    await adoptWinningCommit(ctx);
    return;
  }
  if (isOwnMessage(group, message.messageId)) return;
  group.events.push(...(await receiveMessage(group, message.mlsMessage)));
}
