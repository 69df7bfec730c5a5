/** Step: a removed member reads nothing more from the group and can no longer send to it. */
import type { GroupEvent } from "../../client/mls/group-session.js";
import type { Participant } from "./participant.js";
import type { StoryContext } from "./story-context.js";

export interface ShutOut {
  /** What the removed member's sync reported. */
  events: GroupEvent[];
  /** Whether its send was refused, and with what. */
  refused: boolean;
  sendError: unknown;
}

/**
 * Syncs `removed` once and tries to send as it; checks that no message came and the send was
 * refused.
 *
 * @example
 * await checkShutOut(story, carol); // after alice and bob chatted on
 */
export async function checkShutOut(story: StoryContext, removed: Participant): Promise<ShutOut> {
  const events = await removed.session.sync();
  removed.events.push(...events);
  story.log.check(
    !events.some((e) => e.kind === "message"),
    `${removed.name}'s sync returns none of the later messages`,
  );
  let refused = false;
  let sendError: unknown;
  try {
    await removed.session.send("still here?");
  } catch (error) {
    refused = true;
    sendError = error;
  }
  story.log.check(refused, `${removed.name} can no longer send to the group`);
  return { events, refused, sendError };
}
