/**
 * Round scheduler port: decides when rounds close. With one process a timer does; with many
 * processes on one backend the scheduler must run each round's close once across all of them.
 */
export interface RoundScheduler {
  /** Starts calling `close` once per `intervalMs` (across every instance on this backend). */
  start(intervalMs: number, close: () => Promise<void>): Promise<void>;
  /** Stops scheduling; resolves once no close started by this scheduler is running. */
  stop(): Promise<void>;
}
