/**
 * Processing one MLS message read from an epoch inbox, under ts-mls's rules for a delivery
 * service: a message of a future epoch waits in a buffer until a commit brings the member there
 * (the next epoch's inbox is only known once the commit is applied); a commit of an epoch already
 * decided lost to the one that decided it and is skipped; a message ts-mls rejects is reported as
 * unreadable, never thrown, so that nobody can stop a member from reading its group.
 */
import {
  makePskIndex,
  processPrivateMessage,
  type ClientState,
  type ProcessMessageResult,
} from "ts-mls";
import { dropLostCommit } from "./commit-race.js";
import { commitWatcher, type CommitSummary } from "./commit-summary.js";
import { enterEpoch } from "./epoch-readings.js";
import { lenientUtf8, type GroupEvent } from "./group-record.js";
import { nameOf, sameMember } from "./group-roster.js";
import { mlsSuite } from "./mls-suite.js";
import { decodePrivateMessage, senderOf, type MessageSender } from "./sender-data.js";
import { currentEpoch, zeroConsumed, type SessionState } from "./session-context.js";

/** How many future-epoch messages a member holds; the oldest go first beyond it. */
const MAX_BUFFERED = 1024;

/** A message about to be processed: its epoch, its sender and the state it meets. */
interface Received {
  epoch: bigint;
  sender: string;
  from: MessageSender | undefined;
  /** The member's state before the message. */
  before: ClientState;
}

/** Processes one MLS message from a group inbox; what it meant, as events. */
export async function receiveMessage(
  group: SessionState,
  bytes: Uint8Array,
): Promise<GroupEvent[]> {
  const pm = decodePrivateMessage(bytes);
  if (!pm) return [{ kind: "unreadable", reason: "not an MLS private message" }];
  if (group.removed) return [];
  if (pm.epoch > currentEpoch(group)) {
    group.buffered.push(bytes);
    if (group.buffered.length > MAX_BUFFERED) group.buffered.shift();
    return [];
  }
  // A commit for an epoch already decided lost to the one that decided it: nothing to apply.
  if (pm.contentType === "commit" && pm.epoch < currentEpoch(group)) return [];
  const before = group.state;
  const from = await senderOf(before, pm);
  const received: Received = {
    epoch: pm.epoch,
    sender: from ? nameOf(from.tree, from.leafIndex) : "someone",
    from,
    before,
  };
  const watcher = commitWatcher(before.ratchetTree);
  let result: ProcessMessageResult;
  try {
    const psks = makePskIndex(before, {});
    result = await processPrivateMessage(before, pm, psks, await mlsSuite(), watcher.callback);
  } catch (error) {
    const reason = error instanceof Error ? error.message : "rejected";
    return [{ kind: "unreadable", reason: `epoch ${pm.epoch} message: ${reason}` }];
  }
  if (result.kind === "applicationMessage") return applicationData(group, result, received);
  return groupChanged(group, result, received, watcher.summary());
}

/** Retries buffered messages whose epoch has come. */
export async function drainBuffer(group: SessionState): Promise<GroupEvent[]> {
  const events: GroupEvent[] = [];
  let progressed = true;
  while (progressed && !group.removed) {
    progressed = false;
    const waiting = group.buffered;
    group.buffered = [];
    for (const bytes of waiting) {
      const pm = decodePrivateMessage(bytes);
      if (pm && pm.epoch <= currentEpoch(group)) {
        events.push(...(await receiveMessage(group, bytes)));
        progressed = true;
      } else group.buffered.push(bytes);
    }
  }
  return events;
}

function applicationData(
  group: SessionState,
  result: Extract<ProcessMessageResult, { kind: "applicationMessage" }>,
  { epoch, sender, from, before }: Received,
): GroupEvent[] {
  group.state = result.newState;
  zeroConsumed(result.consumed);
  // A member removed since keeps the old epoch's keys and write token: what it sends there
  // after its removal would otherwise be read as a group message for four more epochs.
  if (from?.past && !sameMember(from.tree, before.ratchetTree, from.leafIndex)) {
    return [
      {
        kind: "unreadable",
        reason: `epoch ${epoch} message from a member no longer in the group (${sender})`,
      },
    ];
  }
  const text = lenientUtf8.decode(result.message);
  return [{ kind: "message", epoch, sender, data: result.message, text }];
}

/** A proposal (kept for its commit), a commit that moved the group on, or this member's removal. */
async function groupChanged(
  group: SessionState,
  result: Extract<ProcessMessageResult, { kind: "newState" }>,
  { epoch, sender, before }: Received,
  commit: CommitSummary | undefined,
): Promise<GroupEvent[]> {
  const committer = commit?.committer ?? sender;
  if (result.newState.groupActiveState.kind === "removedFromGroup") {
    group.removed = true;
    group.pending = undefined;
    group.outbox = [];
    return [{ kind: "removed", epoch: epoch + 1n, committer }];
  }
  group.state = result.newState;
  zeroConsumed(result.consumed);
  if (currentEpoch(group) === before.groupContext.epoch) return []; // a proposal: applied at the commit
  dropLostCommit(group);
  await enterEpoch(group);
  const { added = [], removed = [] } = commit ?? {};
  return [{ kind: "commit", epoch: currentEpoch(group), committer, added, removed }];
}
