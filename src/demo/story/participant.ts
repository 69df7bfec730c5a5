/** A member in the story's group, and reading its group until something has happened. */
import type { GroupEvent, GroupSession } from "../../client/mls/group-session.js";
import { DemoError } from "../demo-error.js";
import { pollUntil } from "./poll-until.js";
import type { StoryContext } from "./story-context.js";

/** A member's session and every event its syncs reported, in order. */
export interface Participant {
  name: string;
  session: GroupSession;
  events: GroupEvent[];
}

/** @example const alice = participant("alice", group); */
export function participant(name: string, session: GroupSession): Participant {
  return { name, session, events: [] };
}

/**
 * Syncs `member` until `done`; an item that does not open fails at once (a DemoError) rather
 * than at the deadline.
 *
 * @example
 * await readUntil(story, bob, () => bob.session.epoch === 3n, "bob has applied the removal");
 */
export async function readUntil(
  story: StoryContext,
  member: Participant,
  done: () => boolean,
  what: string,
): Promise<void> {
  await pollUntil(story, `timed out waiting until ${what}`, async () => {
    const events = await member.session.sync();
    member.events.push(...events);
    const bad = events.find((e) => e.kind === "unreadable");
    if (bad?.kind === "unreadable") {
      throw new DemoError(`${member.name} met an item it could not read (${bad.reason})`);
    }
    return done() ? true : undefined;
  });
}

/** Texts of the messages from `sender` among `events`, in the order the reader got them. */
export function textsFrom(events: readonly GroupEvent[], sender: string): string[] {
  return events.flatMap((e) => (e.kind === "message" && e.sender === sender ? [e.text] : []));
}
