import { dayOf, type Clock } from "./ports/clock.js";
import type { InboxStore } from "./ports/inbox-store.js";
import { MetricName, type Metrics } from "./ports/metrics.js";
import type { ClosedRound, RoundPool } from "./ports/round-pool.js";
import { secureShuffle } from "./shuffle.js";

/**
 * Closes rounds: takes the open round from the pool, shuffles it with a CSPRNG and appends it
 * to the inboxes, then releases it. Rounds left closed-but-unreleased by a closer that died are
 * delivered first; appending is idempotent per message id, so a repeat delivers nothing twice.
 */
export class RoundCloser {
  #running: Promise<void> | undefined;
  #queued: Promise<void> | undefined;

  constructor(
    private readonly pool: RoundPool,
    private readonly inboxes: InboxStore,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    private readonly retentionDays: number,
  ) {}

  /**
   * Closes the current round. A call made while a close runs is answered by one further close
   * that starts after it, so whatever was added before the call is delivered when it resolves;
   * any number of such calls share that one further close.
   */
  close(): Promise<void> {
    if (!this.#running) {
      this.#running = this.#closeOnce().finally(() => {
        this.#running = undefined;
      });
      return this.#running;
    }
    this.#queued ??= this.#running.then(
      () => this.#next(),
      () => this.#next(),
    );
    return this.#queued;
  }

  #next(): Promise<void> {
    this.#queued = undefined;
    return this.close();
  }

  async #closeOnce(): Promise<void> {
    for (const round of await this.pool.unreleased()) await this.#deliver(round);
    const round = await this.pool.close();
    if (round) await this.#deliver(round);
  }

  async #deliver(round: ClosedRound): Promise<void> {
    const entries = secureShuffle([...round.entries]);
    const expiresDay = dayOf(this.clock.now()) + this.retentionDays;
    await this.inboxes.appendRound(entries, expiresDay);
    await this.pool.release(round.id);
    this.metrics.count(MetricName.roundsClosed);
    this.metrics.count(MetricName.itemsDelivered, undefined, entries.length);
    this.metrics.observe(MetricName.roundSize, entries.length);
  }
}
