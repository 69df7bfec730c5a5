/** Clock port: wall time for day buckets, key validity and descriptors. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const MS_PER_DAY = 86_400_000;

/** The day number (days since the epoch, UTC) of a time: the only time granularity stored. */
export function dayOf(ms: number): number {
  return Math.floor(ms / MS_PER_DAY);
}

/** The system clock. */
export const systemClock: Clock = { now: () => Date.now() };
