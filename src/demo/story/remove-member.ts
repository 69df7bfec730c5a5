/** Step: one member removes another; the rest apply the commit and the removed one learns of it. */
import type { ChangeOutcome, GroupEvent } from "../../client/mls/group-session.js";
import { toHex } from "../../protocol/bytes.js";
import { shortId } from "../demo-render.js";
import { changeGroup } from "./change-group.js";
import { readUntil, type Participant } from "./participant.js";
import { sameState } from "./same-state.js";
import type { StoryContext } from "./story-context.js";

export interface Removal {
  outcome: ChangeOutcome;
  /** What each stayer's and the removed member's syncs reported during the step, by name. */
  read: Map<string, GroupEvent[]>;
}

/**
 * `remover` commits the removal of `removed`; each of `stayers` reads until it has applied it,
 * and `removed` until its sync reports the removal. Checks that the commit won, that every
 * stayer saw it, that the removed member was told, and that the rest agree on members, tree
 * hash and inbox.
 *
 * @example
 * await removeMember(story, alice, carol, [bob]);
 */
export async function removeMember(
  story: StoryContext,
  remover: Participant,
  removed: Participant,
  stayers: Participant[],
): Promise<Removal> {
  const marks = new Map([...stayers, removed].map((p) => [p, p.events.length]));
  const since = (p: Participant) => p.events.slice(marks.get(p));
  const remaining = remover.session.members.filter((name) => name !== removed.name);
  const epoch = remover.session.epoch + 1n;
  const outcome = await changeGroup(remover.session, { remove: [removed.name] });
  story.log.note(
    `${remover.name} commits "remove ${removed.name}" → epoch ${remover.session.epoch}, inbox ${shortId(toHex(remover.session.currentInboxId))}`,
  );
  story.log.check(
    outcome.status === "committed" && remover.session.epoch === epoch,
    `${remover.name}'s removal committed`,
    () => outcome.status,
  );
  for (const stayer of stayers) {
    await readUntil(
      story,
      stayer,
      () => stayer.session.epoch === epoch,
      `${stayer.name} has applied the removal`,
    );
    story.log.check(
      since(stayer).some(
        (e) =>
          e.kind === "commit" &&
          e.epoch === epoch &&
          e.committer === remover.name &&
          e.removed.join() === removed.name,
      ),
      `${stayer.name} saw ${remover.name} remove ${removed.name}`,
    );
  }
  await readUntil(
    story,
    removed,
    () => removed.session.removed,
    `${removed.name} has learnt of her removal`,
  );
  story.log.check(
    since(removed).some((e) => e.kind === "removed" && e.committer === remover.name),
    `${removed.name}'s sync reports that ${remover.name} removed her`,
  );
  const rest = [remover, ...stayers];
  const names = rest.map((p) => p.name).join(" and ");
  story.log.check(
    rest.every((p) => p.session.members.join() === remaining.join()),
    `${names} see only ${remaining.join(" and ")}`,
  );
  story.log.check(
    sameState(remover.session, ...stayers.map((p) => p.session)),
    `${names} share epoch ${epoch}'s tree hash and inbox`,
  );
  return { outcome, read: new Map([...marks.keys()].map((p) => [p.name, since(p)])) };
}
