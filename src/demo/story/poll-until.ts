/** Waiting for an outcome that needs relay rounds to close, without waiting for ever. */
import { DemoError } from "../demo-error.js";
import type { StoryContext } from "./story-context.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `attempt` every `story.pollMs` until it returns something other than undefined; throws a
 * DemoError saying `timedOut` once `story.waitMs` has passed.
 *
 * @example
 * const joined = await pollUntil(story, "bob's Welcome never arrived", async () => tryJoin());
 */
export async function pollUntil<T>(
  story: StoryContext,
  timedOut: string,
  attempt: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + story.waitMs;
  for (;;) {
    const result = await attempt();
    if (result !== undefined) return result;
    if (Date.now() > deadline) throw new DemoError(timedOut);
    await sleep(story.pollMs);
  }
}
