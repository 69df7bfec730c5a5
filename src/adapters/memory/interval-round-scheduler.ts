import type { RoundScheduler } from "../../relay/ports/round-scheduler.js";

/**
 * Closes rounds on a timer in this process: right for a single relay on the embedded store.
 *
 * @example await new IntervalRoundScheduler((m) => console.error(m)).start(1000, close);
 */
export class IntervalRoundScheduler implements RoundScheduler {
  #timer: ReturnType<typeof setInterval> | undefined;
  #running: Promise<void> = Promise.resolve();

  constructor(private readonly log: (message: string) => void = (m) => console.error(m)) {}

  async start(intervalMs: number, close: () => Promise<void>): Promise<void> {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      this.#running = close().catch((error: unknown) =>
        this.log(`shroud: round close failed (${error instanceof Error ? error.name : "error"})`),
      );
    }, intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
