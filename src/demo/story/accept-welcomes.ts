/** Step: Bob and Carol read their personal inboxes (on B, through A) and join from the Welcomes. */
import { acceptInvitations } from "../../client/mls/accept-invitations.js";
import type { GroupDeps, GroupSession } from "../../client/mls/group-session.js";
import type { Member } from "../../client/mls/member.js";
import type { Cast } from "./cast.js";
import { pollUntil } from "./poll-until.js";
import { sameState } from "./same-state.js";
import type { StoryContext } from "./story-context.js";

/** Reads `member`'s personal inbox until a Welcome is there; checks it was the only item. */
async function joinFromWelcome(
  story: StoryContext,
  cast: Cast,
  member: Member,
  route: GroupDeps["route"],
): Promise<GroupSession> {
  const personal = await route(member.inbox.relay);
  const problems: string[] = [];
  return pollUntil(story, `${member.name}'s Welcome never arrived`, async () => {
    const found = await acceptInvitations(member, personal, cast.deps(route));
    problems.push(...found.problems);
    if (found.joined.length === 0) return undefined;
    story.log.check(
      found.joined.length === 1 && problems.length === 0,
      `${member.name} found one good invitation and joined`,
      () => [`${found.joined.length} joined`, ...problems].join("; "),
    );
    return found.joined[0]!;
  });
}

/**
 * Joins Bob and Carol to Alice's `group` at once; checks that they reached her epoch, tree hash
 * and inbox, and that all three see the same members.
 *
 * @example
 * const { bob, carol } = await acceptWelcomes(story, cast, group);
 */
export async function acceptWelcomes(
  story: StoryContext,
  cast: Cast,
  group: GroupSession,
): Promise<{ bob: GroupSession; carol: GroupSession }> {
  const [bob, carol] = await Promise.all([
    joinFromWelcome(story, cast, cast.bob, cast.routes.bob),
    joinFromWelcome(story, cast, cast.carol, cast.routes.carol),
  ]);
  story.log.note(
    `bob and carol read their personal inboxes on B through A and join at epoch ${group.epoch}`,
  );
  for (const [name, session] of [
    ["bob", bob],
    ["carol", carol],
  ] as const) {
    story.log.check(sameState(group, session), `${name} is at alice's epoch, tree hash and inbox`);
  }
  const everyone = [cast.alice, cast.bob, cast.carol].map((m) => m.name);
  story.log.check(
    [group, bob, carol].every((s) => s.members.join() === everyone.join()),
    "every member sees alice, bob and carol",
  );
  return { bob, carol };
}
