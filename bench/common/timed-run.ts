/**
 * Runs an async task with a fixed number in flight for a fixed time, after a warm-up that is
 * not counted, and reports completions per second and latency percentiles.
 */
import { ascending, percentile } from "./percentile.js";

export interface TimedRunOptions {
  seconds: number;
  warmupSeconds: number;
  concurrency: number;
  /** Number of indexes available (warm-up included); the run ends early when they run out. */
  limit?: number;
  /** Called when the warm-up is over and the measured window starts. */
  onWindowStart?: () => void;
}

export interface TimedRunResult {
  /** Operations that completed without throwing during the measured window. */
  ops: number;
  /** Operations that completed during the warm-up (not counted anywhere else). */
  warmupOps: number;
  /** Operations that threw, warm-up included (none are counted in `ops`). */
  errors: number;
  firstError: string | undefined;
  concurrency: number;
  /** True when `limit` ran out before the time was up (the window is then shorter). */
  exhausted: boolean;
  /** From the start of the window until the last operation in flight finished. */
  elapsedMs: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

interface Tally {
  ops: number;
  errors: number;
  firstError: string | undefined;
  latencies: number[];
}

async function drive(
  task: (index: number) => Promise<unknown>,
  nextIndex: () => number | undefined,
  concurrency: number,
  durationMs: number,
  tally: Tally,
): Promise<void> {
  const deadline = performance.now() + durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const index = nextIndex();
      if (index === undefined) return;
      const started = performance.now();
      try {
        await task(index);
        tally.latencies.push(performance.now() - started);
        tally.ops++;
      } catch (error) {
        tally.errors++;
        tally.firstError ??= error instanceof Error ? `${error.name}: ${error.message}` : "error";
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/**
 * `task(index)` gets a fresh index on every call (warm-up included), so a task can use each
 * pre-built input once.
 *
 * @example const r = await timedRun((i) => open(envelopes[i % n]), { seconds: 3, ... });
 */
export async function timedRun(
  task: (index: number) => Promise<unknown>,
  options: TimedRunOptions,
): Promise<TimedRunResult> {
  const limit = options.limit ?? Infinity;
  let index = 0;
  const nextIndex = () => (index < limit ? index++ : undefined);
  const warmup: Tally = { ops: 0, errors: 0, firstError: undefined, latencies: [] };
  if (options.warmupSeconds > 0) {
    await drive(task, nextIndex, options.concurrency, options.warmupSeconds * 1000, warmup);
  }
  const tally: Tally = { ops: 0, errors: 0, firstError: undefined, latencies: [] };
  options.onWindowStart?.();
  const started = performance.now();
  await drive(task, nextIndex, options.concurrency, options.seconds * 1000, tally);
  const elapsedMs = performance.now() - started;
  const sorted = ascending(tally.latencies);
  return {
    ops: tally.ops,
    warmupOps: warmup.ops,
    errors: tally.errors + warmup.errors,
    firstError: warmup.firstError ?? tally.firstError,
    concurrency: options.concurrency,
    exhausted: index >= limit,
    elapsedMs,
    perSecond: tally.ops / (elapsedMs / 1000),
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
  };
}
