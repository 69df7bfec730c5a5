/** Step: Alice adds Bob and Carol in one commit; their Welcomes go to their personal inboxes. */
import type { ChangeOutcome, GroupSession } from "../../client/mls/group-session.js";
import { toHex } from "../../protocol/bytes.js";
import { shortId } from "../demo-render.js";
import type { Cast } from "./cast.js";
import { changeGroup } from "./change-group.js";
import type { StoryContext } from "./story-context.js";

/**
 * Commits the add from Alice's session (`group`); checks that her commit won its epoch.
 *
 * @example
 * const added = await inviteMembers(story, cast, group); // group.epoch is now 1n
 */
export async function inviteMembers(
  story: StoryContext,
  cast: Cast,
  group: GroupSession,
): Promise<ChangeOutcome> {
  const before = group.epoch;
  const added = await changeGroup(group, { add: [cast.bob.card(), cast.carol.card()] });
  story.log.note(
    `alice commits "add bob, carol" (forwarded through B) → epoch ${group.epoch}, inbox ${shortId(toHex(group.currentInboxId))}`,
    "Welcomes go sealed to bob's and carol's personal inboxes on B",
  );
  story.log.check(
    added.status === "committed" && group.epoch === before + 1n,
    `alice's commit won epoch ${before}`,
    () => JSON.stringify({ ...added, epoch: String(added.epoch), now: String(group.epoch) }),
  );
  return added;
}
