/** A group change in the story: a commit that never shows in time is the story's own failure. */
import { GroupError } from "../../client/errors.js";
import type { ChangeOutcome, GroupChange, GroupSession } from "../../client/mls/group-session.js";
import { DemoError } from "../demo-error.js";

/**
 * GroupSession.change, with a commit that no member's commit decided in time reported as a
 * DemoError naming the epoch.
 *
 * @example
 * const outcome = await changeGroup(group, { remove: ["carol"] });
 */
export async function changeGroup(
  session: GroupSession,
  what: GroupChange,
  options?: { retry?: boolean },
): Promise<ChangeOutcome> {
  try {
    return await session.change(what, options);
  } catch (error) {
    if (error instanceof GroupError && /in time/.test(error.message)) {
      throw new DemoError(`timed out waiting until a commit decided epoch ${session.epoch}`);
    }
    throw error;
  }
}
