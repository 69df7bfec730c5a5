/**
 * Step: two members commit in the same epoch at the same moment. The relay decides nothing:
 * both commits go into the epoch's inbox as ordinary deposits, and the first valid one in the
 * inbox's order wins for every member.
 */
import type { ChangeOutcome } from "../../client/mls/group-session.js";
import { toHex } from "../../protocol/bytes.js";
import { shortId } from "../demo-render.js";
import { changeGroup } from "./change-group.js";
import type { Participant } from "./participant.js";
import type { StoryContext } from "./story-context.js";

export interface RaceResult {
  winner: Participant;
  loser: Participant;
  won: ChangeOutcome;
  lost: ChangeOutcome;
}

/** The winner's outcome: its first commit decided the epoch. */
const wonFirstTry = (o: ChangeOutcome) => o.status === "committed" && o.attempts === 1;

/**
 * Both `racers` commit a key update at once. Without `retry` the loser's change is superseded;
 * with it, the loser applies the winner's commit and wins the next epoch on its second try.
 * Checks that exactly one commit won.
 *
 * @example
 * const { winner, loser } = await commitRace(story, [bob, carol], { retry: false });
 */
export async function commitRace(
  story: StoryContext,
  racers: [Participant, Participant],
  options: { retry: boolean },
): Promise<RaceResult> {
  const [first, second] = racers;
  const epoch = first.session.epoch;
  story.log.note(
    `${first.name} and ${second.name} each commit a key update into ${shortId(toHex(first.session.currentInboxId))} at once`,
  );
  const [firstOutcome, secondOutcome] = (await Promise.all(
    racers.map((r) => changeGroup(r.session, {}, { retry: options.retry })),
  )) as [ChangeOutcome, ChangeOutcome];
  const outcomes = [firstOutcome, secondOutcome];
  const firstWon = wonFirstTry(firstOutcome);
  const [winner, loser] = firstWon ? [first, second] : [second, first];
  const [won, lost] = firstWon ? [firstOutcome, secondOutcome] : [secondOutcome, firstOutcome];
  if (options.retry) {
    story.log.check(
      outcomes.filter(wonFirstTry).length === 1 &&
        won.epoch === epoch + 1n &&
        lost.status === "committed" &&
        lost.epoch === epoch + 2n,
      "exactly one commit won; the other won the next epoch on its second try",
      () => outcomes.map((o) => `${o.status} (${o.attempts} attempts)`).join(", "),
    );
  } else {
    story.log.check(
      outcomes
        .map((o) => o.status)
        .sort()
        .join() === "committed,superseded",
      "exactly one commit won; the other was superseded",
      () => outcomes.map((o) => o.status).join(", "),
    );
  }
  story.log.note(
    "both commits went into the epoch's inbox as ordinary deposits",
    `${winner.name}'s came first in the inbox's order: every member applied it (committed)`,
    options.retry
      ? `${loser.name}'s came after it: ${loser.name} applied ${winner.name}'s commit and committed again`
      : `${loser.name}'s came after it: superseded; ${loser.name} applied ${winner.name}'s commit`,
  );
  return { winner, loser, won, lost };
}
