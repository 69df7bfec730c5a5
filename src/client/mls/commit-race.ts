/**
 * How a member's own commit meets the others of its epoch. Commit ordering needs nothing of the
 * relay but one order every reader sees, its sequence numbers: every member applies the FIRST
 * commit in the epoch inbox's order that is valid for its group state and skips the others. A
 * committer keeps the state createCommit returned aside (the pending commit, saved with the
 * session) until its own commit is the first valid one it reads (it won: it adopts that state) or
 * another one is (it lost: it applied that one, and drops its own). The relay never sees which
 * deposit is a commit, and nobody can hold an epoch shut.
 */
import { constantTimeEqual } from "../../protocol/bytes.js";
import { TransportError } from "../../protocol/errors.js";
import { GroupError } from "../errors.js";
import { enterEpoch } from "./epoch-readings.js";
import type { DepositResult } from "../relay-client.js";
import type { GroupMessage } from "./group-payload.js";
import { stateFromBytes, type Reading } from "./group-record.js";
import { flushOutbox, rememberSent } from "./outbox.js";
import {
  currentEpoch,
  homeClient,
  saveSession,
  zeroConsumed,
  type SessionContext,
  type SessionState,
} from "./session-context.js";

/**
 * Deposits the pending commit once per process (again after a restart: the same message ids,
 * so the relay keeps one), its stored Welcome first: a round that releases the commit has
 * released the Welcome too. A definite refusal drops it: the group stays in its epoch.
 */
export async function depositPending(ctx: SessionContext): Promise<void> {
  const { group } = ctx;
  const pending = group.pending;
  if (!pending || group.pendingSent) return;
  const client = await homeClient(ctx);
  let result: DepositResult = { status: "accepted", duplicate: false };
  for (const entry of pending.welcome) {
    result = await client.depositPayload(entry, entry.payload, { messageId: entry.messageId });
    if (result.status !== "accepted" && result.status !== "forwarded") break;
  }
  if (result.status === "accepted" || result.status === "forwarded") {
    result = await client.depositParts(group.readings[0]!, pending.payloads, {
      messageId: pending.messageId,
    });
  }
  if (result.status === "accepted" || result.status === "forwarded") {
    group.pendingSent = true;
    return;
  }
  if (result.status === "internal" || result.status === "unavailable") {
    throw new TransportError(`the relay could not take the commit (${result.status})`);
  }
  group.pending = undefined;
  group.consumedOnWin = [];
  await saveSession(ctx);
  throw new GroupError(`the relay refused the commit (${result.status})`);
}

/**
 * Whether an item of `reading` is this member's pending commit, byte for byte: a commit that
 * merely claims its message id is somebody else's, and is processed like any other.
 */
export function isPendingCommit(
  group: SessionState,
  reading: Reading,
  message: GroupMessage,
  payloads: Uint8Array[],
): boolean {
  const pending = group.pending;
  if (!pending || reading.epoch !== currentEpoch(group)) return false;
  return (
    constantTimeEqual(message.messageId, pending.messageId) &&
    payloads.length === pending.payloads.length &&
    payloads.every((payload, i) => constantTimeEqual(payload, pending.payloads[i]!))
  );
}

/** This member's commit is the first valid one of the epoch: adopt the state it made. */
export async function adoptWinningCommit(ctx: SessionContext): Promise<void> {
  const { group } = ctx;
  const pending = group.pending!;
  group.state = stateFromBytes(pending.newState);
  rememberSent(group, pending.messageId);
  group.outbox.push(...pending.invitations);
  group.pending = undefined;
  zeroConsumed(group.consumedOnWin);
  group.consumedOnWin = [];
  await enterEpoch(group);
  await saveSession(ctx);
  await flushOutbox(ctx);
}

/**
 * Another member's commit came first: this member's pending commit lost the epoch. Its secrets
 * were never used (the old state applied the winner), so nothing is zeroed.
 */
export function dropLostCommit(group: SessionState): void {
  group.pending = undefined;
  group.consumedOnWin = [];
}
