/**
 * Who made a commit and whom it added and removed, for the event a member reports. ts-mls hands
 * a commit's proposals only to the callback it calls while processing, so the summary is taken
 * there, with names from the tree of the epoch the commit ends.
 */
import type { IncomingMessageCallback, RatchetTree } from "ts-mls";
import { lenientUtf8 } from "./group-record.js";
import { nameOf } from "./group-roster.js";

export interface CommitSummary {
  committer: string;
  added: string[];
  removed: string[];
}

/**
 * A callback for processPrivateMessage that accepts every message and records the last commit
 * it saw, and a way to read that record afterwards.
 *
 * @example
 * const watcher = commitWatcher(state.ratchetTree);
 * await processPrivateMessage(state, pm, psks, suite, watcher.callback);
 * watcher.summary(); // { committer: "alice", added: ["bob"], removed: [] }, or undefined
 */
export function commitWatcher(before: RatchetTree): {
  callback: IncomingMessageCallback;
  summary: () => CommitSummary | undefined;
} {
  let seen: CommitSummary | undefined;
  const callback: IncomingMessageCallback = (incoming) => {
    if (incoming.kind === "commit") {
      seen = {
        committer:
          incoming.senderLeafIndex === undefined
            ? "someone"
            : nameOf(before, incoming.senderLeafIndex),
        added: incoming.proposals.flatMap((p) =>
          p.proposal.proposalType === "add" &&
          p.proposal.add.keyPackage.leafNode.credential.credentialType === "basic"
            ? [lenientUtf8.decode(p.proposal.add.keyPackage.leafNode.credential.identity)]
            : [],
        ),
        removed: incoming.proposals.flatMap((p) =>
          p.proposal.proposalType === "remove" ? [nameOf(before, p.proposal.remove.removed)] : [],
        ),
      };
    }
    return "accept";
  };
  return { callback, summary: () => seen };
}
