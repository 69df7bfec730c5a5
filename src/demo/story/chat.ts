/** Step: members send to the group and each reads what the others sent. */
import type { GroupEvent } from "../../client/mls/group-session.js";
import { readUntil, textsFrom, type Participant } from "./participant.js";
import type { StoryContext } from "./story-context.js";

export interface ChatOptions {
  /**
   * Send every speaker's messages at the same time (each speaker's in order) rather than one
   * speaker after another.
   */
  together?: boolean;
  /** Runs after everything is sent, before anyone reads (e.g. wait until the inbox holds it all). */
  beforeReading?: () => Promise<void>;
}

/**
 * Each speaker sends its texts; then each reads until it has every message the others sent, and
 * the check is that it read exactly those, each sender's in the order sent. Returns what each
 * speaker's syncs reported during the step.
 *
 * @example
 * await chat(story, [alice, bob], new Map([["alice", ["hi"]], ["bob", ["hello"]]]));
 */
export async function chat(
  story: StoryContext,
  speakers: Participant[],
  texts: ReadonlyMap<string, readonly string[]>,
  options: ChatOptions = {},
): Promise<Map<string, GroupEvent[]>> {
  const sent = (speaker: Participant) => texts.get(speaker.name) ?? [];
  const marks = new Map(speakers.map((s) => [s, s.events.length]));
  const since = (p: Participant) => p.events.slice(marks.get(p));
  if (options.together) {
    await Promise.all(
      speakers.map(async (s) => {
        for (const text of sent(s)) await s.session.send(text);
      }),
    );
    for (const s of speakers) story.log.note(...sent(s).map((text) => `${s.name}: "${text}"`));
  } else {
    for (const s of speakers) {
      for (const text of sent(s)) {
        await s.session.send(text);
        story.log.note(`${s.name}: "${text}"`);
      }
    }
  }
  await options.beforeReading?.();
  await Promise.all(
    speakers.map((reader) =>
      readUntil(
        story,
        reader,
        () =>
          speakers.every(
            (s) => s === reader || textsFrom(since(reader), s.name).length >= sent(s).length,
          ),
        `${reader.name} has read the others' messages`,
      ),
    ),
  );
  for (const reader of speakers) {
    const others = speakers.filter((s) => s !== reader);
    story.log.check(
      others.every(
        (s) => JSON.stringify(textsFrom(since(reader), s.name)) === JSON.stringify(sent(s)),
      ),
      `${reader.name} read ${others.map((s) => s.name).join(" and ")}`,
      () => JSON.stringify(others.map((s) => textsFrom(since(reader), s.name))),
    );
  }
  return new Map(speakers.map((s) => [s.name, since(s)]));
}
