/**
 * What a member sends, and the rule that makes sending safe to retry: every send is saved (the
 * MLS state it advanced, then outbox entries with their message ids) before it leaves, so a send
 * cut short by a failure or a crash goes out later as the same deposits, which the relay keeps
 * once. Entries leave in order; a transport failure stops the flush and leaves the rest queued.
 */
import { createApplicationMessage, encodeMlsMessage } from "ts-mls";
import { randomBytes, toHex } from "../../protocol/bytes.js";
import { TransportError } from "../../protocol/errors.js";
import { MESSAGE_ID_LENGTH } from "../../protocol/relay-request.js";
import { partDepositId, splitMessage } from "../fragment.js";
import { TokenUnavailableError } from "../errors.js";
import type { RelayClient } from "../relay-client.js";
import type { EpochInbox } from "./epoch-inbox.js";
import { encodeGroupMessage, GROUP_SEAL_OVERHEAD, sealGroupPayload } from "./group-payload.js";
import type { OutboxEntry } from "./group-record.js";
import { mlsSuite } from "./mls-suite.js";
import {
  homeClient,
  saveSession,
  zeroConsumed,
  type SessionContext,
  type SessionState,
} from "./session-context.js";

/** How many of its own message ids a member remembers (to skip its own messages). */
const MAX_SENT_IDS = 4096;

/**
 * Encrypts application data for the current epoch, saves it as outbox entries and delivers them.
 */
export async function sendApplicationData(ctx: SessionContext, data: Uint8Array): Promise<void> {
  const { group } = ctx;
  const { newState, privateMessage, consumed } = await createApplicationMessage(
    group.state,
    data,
    await mlsSuite(),
  );
  group.state = newState;
  const messageId = randomBytes(MESSAGE_ID_LENGTH);
  const current = group.readings[0]!;
  const mls = encodeMlsMessage({
    version: "mls10",
    wireformat: "mls_private_message",
    privateMessage,
  });
  rememberSent(group, messageId);
  group.outbox.push(
    ...(await outboxEntries(
      { relay: group.relay, readId: current.readId, writeToken: current.writeToken },
      messageId,
      await sealForEpoch(ctx, current, mls, messageId),
    )),
  );
  await saveSession(ctx);
  zeroConsumed(consumed);
  await flushOutbox(ctx);
}

/**
 * Seals an MLS message for a group inbox (an epoch's, or a Welcome blob's): one payload, or its
 * fragments when it is larger than one deposit of the home client carries (every deposit one
 * cell when it shapes).
 */
export async function sealForEpoch(
  ctx: SessionContext,
  reading: Pick<EpochInbox, "inboxId" | "payloadKey">,
  mlsMessage: Uint8Array,
  messageId: Uint8Array,
): Promise<Uint8Array[]> {
  return sealGroupMessage(await homeClient(ctx), reading, mlsMessage, messageId);
}

/** sealForEpoch with the client whose cells and buckets the deposits will fill. */
export async function sealGroupMessage(
  client: RelayClient,
  reading: Pick<EpochInbox, "inboxId" | "payloadKey">,
  mlsMessage: Uint8Array,
  messageId: Uint8Array,
): Promise<Uint8Array[]> {
  const message = encodeGroupMessage({ messageId, mlsMessage });
  const key = reading.payloadKey.expose();
  const fragments = splitMessage(message, client.partCapacity(GROUP_SEAL_OVERHEAD));
  if (!fragments) {
    const padded = client.padPayload(message, GROUP_SEAL_OVERHEAD);
    return [await sealGroupPayload(key, reading.inboxId, padded)];
  }
  return Promise.all(
    fragments.map((fragment) =>
      sealGroupPayload(
        key,
        reading.inboxId,
        client.padPayload(fragment, GROUP_SEAL_OVERHEAD),
        "fragment",
      ),
    ),
  );
}

/** Outbox entries for the payloads of one message, each with the deposit id it goes by. */
export async function outboxEntries(
  target: Omit<OutboxEntry, "messageId" | "payload">,
  messageId: Uint8Array,
  payloads: readonly Uint8Array[],
): Promise<OutboxEntry[]> {
  return Promise.all(
    payloads.map(async (payload, index) => ({
      ...target,
      messageId: payloads.length === 1 ? messageId : await partDepositId(messageId, index),
      payload,
    })),
  );
}

/** Remembers a message id as this member's own, so that reading it back skips it. */
export function rememberSent(group: SessionState, messageId: Uint8Array): void {
  group.sent.push(toHex(messageId));
  if (group.sent.length > MAX_SENT_IDS) group.sent.splice(0, group.sent.length - MAX_SENT_IDS);
}

/** Whether this member sent the message with this id. */
export function isOwnMessage(group: SessionState, messageId: Uint8Array): boolean {
  return group.sent.includes(toHex(messageId));
}

/**
 * Inboxes whose deposits are in flight at once when the outbox is flushed: half of what a relay
 * lets one address hold open by default (64 connections), the rest left for reads.
 */
const FLUSH_LANES = 32;

/**
 * Delivers saved deposits: those for one inbox one after another, in order (a message's
 * fragments, a sender's messages), up to FLUSH_LANES inboxes at once, so an add of k members
 * does not wait out k answers one by one (through an ingress each answer comes with its round).
 * Stops taking new deposits at the first transport failure and rethrows it; what was not
 * delivered stays. The session is saved once, when the flush ends: each entry was saved before
 * it left, and one delivered but still saved (after a crash) goes again under its message id,
 * which the relay keeps once. Saving after every deposit made an add of k members cost k saves of
 * a state that grows with k.
 */
export async function flushOutbox(ctx: SessionContext): Promise<void> {
  const { group } = ctx;
  if (group.outbox.length === 0) return;
  const lanes = new Map<string, OutboxEntry[]>();
  for (const entry of group.outbox) {
    const key = `${entry.relay} ${toHex(entry.readId)}`;
    const lane = lanes.get(key);
    if (lane) lane.push(entry);
    else lanes.set(key, [entry]);
  }
  const waiting = [...lanes.values()];
  const delivered = new Set<OutboxEntry>();
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    for (let lane = waiting.shift(); lane && !failure; lane = waiting.shift()) {
      for (const entry of lane) {
        if (failure) return;
        try {
          await deliver(ctx, entry);
          delivered.add(entry);
        } catch (error) {
          failure ??= { error };
          return;
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(FLUSH_LANES, waiting.length) }, worker));
  } finally {
    const left = group.outbox.filter((entry) => !delivered.has(entry));
    group.outbox.splice(0, group.outbox.length, ...left);
    await saveSession(ctx);
  }
  if (failure) throw failure.error;
}

/** Deposits one entry; a definite refusal becomes an event, a transport failure throws. */
async function deliver(ctx: SessionContext, entry: OutboxEntry): Promise<void> {
  const client = await ctx.deps.route(entry.relay);
  const result = await client.depositPayload(entry, entry.payload, {
    messageId: entry.messageId,
  });
  if (result.status === "accepted" || result.status === "forwarded") return;
  if (result.status === "internal" || result.status === "unavailable") {
    throw new TransportError(`the relay could not take a deposit (${result.status})`);
  }
  if (result.status === "token_required" || result.status === "token_refused") {
    // Kept in the outbox like a transport failure: once the wallet has tokens it goes out.
    throw new TokenUnavailableError(
      `${entry.relay} asks for a Privacy Pass token for each deposit and this client has none ` +
        "it takes; the message waits in the outbox",
    );
  }
  // A definite refusal (forbidden, quota, too_large): retrying would not help.
  ctx.group.events.push({ kind: "unreadable", reason: `a deposit was refused (${result.status})` });
}
