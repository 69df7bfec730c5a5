/**
 * What every step of the demo's story needs, whoever plays it: the terminal demo (which prints
 * notes and checks as a transcript) or a test (which turns checks into assertions).
 */

/** Where a step reports what happened and the checks that held. */
export interface StoryLog {
  /** Lines of the transcript: what happened, as the members know it. */
  note(...lines: string[]): void;
  /** Throws unless `ok` (`detail` says why, computed only then); otherwise records the check. */
  check(ok: boolean, description: string, detail?: () => string): void;
}

/**
 * @example
 * const story: StoryContext = { log, waitMs: 60_000, pollMs: 50 };
 * const cast = await meetCast(story, { a: relayA, b: relayB });
 */
export interface StoryContext {
  log: StoryLog;
  /** Longest wait for one expected outcome (a busy machine is slow, not broken). */
  waitMs: number;
  /** Milliseconds between reads while waiting. */
  pollMs: number;
}
