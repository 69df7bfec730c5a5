/** Step: Alice creates the group, whose epoch inboxes live on her provider's relay (A). */
import { GroupSession } from "../../client/mls/group-session.js";
import { toHex } from "../../protocol/bytes.js";
import { shortId } from "../demo-render.js";
import type { Cast } from "./cast.js";
import type { StoryContext } from "./story-context.js";

/** The group's name: operators must never see it. */
export const GROUP_NAME = "hiking-club";

/** @example const group = await createGroup(story, cast); // epoch 0, alice alone */
export async function createGroup(story: StoryContext, cast: Cast): Promise<GroupSession> {
  const group = await GroupSession.create(
    GROUP_NAME,
    cast.alice,
    cast.aliceToA,
    cast.deps(cast.routes.alice),
  );
  story.log.note(
    `alice creates "${GROUP_NAME}" on A: epoch ${group.epoch}, inbox ${shortId(toHex(group.currentInboxId))}`,
  );
  return group;
}
