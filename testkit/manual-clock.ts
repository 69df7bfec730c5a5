/** A clock a test moves by hand, for relays whose time must not pass on its own. */
import type { Clock } from "../src/relay/ports/clock.js";

/** @example const clock = manualClock(); clock.advance(60_000); */
export function manualClock(
  start = Date.UTC(2026, 10, 26, 12),
): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}
