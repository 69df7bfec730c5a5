/** Whether members agree on where their group is. */
import type { GroupSession } from "../../client/mls/group-session.js";
import { toHex } from "../../protocol/bytes.js";

/**
 * True if every session is at `reference`'s epoch, with its tree hash and its epoch inbox.
 *
 * @example
 * story.log.check(sameState(group, bobGroup), "bob is at alice's epoch, tree hash and inbox");
 */
export function sameState(reference: GroupSession, ...sessions: GroupSession[]): boolean {
  const tree = toHex(reference.treeHash);
  const inbox = toHex(reference.currentInboxId);
  return sessions.every(
    (s) =>
      s.epoch === reference.epoch &&
      toHex(s.treeHash) === tree &&
      toHex(s.currentInboxId) === inbox,
  );
}
