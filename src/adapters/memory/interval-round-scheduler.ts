import type { RoundScheduler } from "../../relay/ports/round-scheduler.js";

/**
 * Closes rounds on a timer in this process: right for a single relay on the embedded store.
 * A failed close is left to the `close` callback to report (the relay logs it); the next tick
 * delivers what it left behind.
 *
 * @example await new IntervalRoundScheduler().start(1000, close);
 */
export class IntervalRoundScheduler implements RoundScheduler {
  #timer: ReturnType<typeof setInterval> | undefined;
  #running: Promise<void> = Promise.resolve();

  async start(intervalMs: number, close: () => Promise<void>): Promise<void> {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      this.#running = close().catch(() => undefined);
    }, intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
