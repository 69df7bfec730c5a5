import { dayOf, type Clock } from "./ports/clock.js";
import type { InboxStore } from "./ports/inbox-store.js";
import { MetricName, type Metrics } from "./ports/metrics.js";
import { DEFAULT_PAGE_LIMIT, type PageLimit, type RoundPool } from "./ports/round-pool.js";
import { secureShuffle } from "./shuffle.js";

/**
 * Closes rounds: takes the open round from the pool and delivers it page by page: each page
 * shuffled with a CSPRNG, appended to the inboxes, then released. Rounds left closed but not
 * wholly released by a closer that died are delivered first, from the pages it had not released;
 * appending is idempotent per message id, so a page delivered twice delivers nothing twice.
 * Only one page is held at a time, whatever the round's size.
 *
 * @example const closer = new RoundCloser(pool, inboxes, systemClock, metrics, 7);
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
    /** The page read at a time (tests use small pages to close large rounds in many). */
    private readonly pageLimit: PageLimit = DEFAULT_PAGE_LIMIT,
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
    for (const roundId of await this.pool.unreleased()) await this.#deliver(roundId);
    const roundId = await this.pool.close();
    if (roundId !== undefined) await this.#deliver(roundId);
  }

  async #deliver(roundId: string): Promise<void> {
    const expiresDay = dayOf(this.clock.now()) + this.retentionDays;
    let delivered = 0;
    for (;;) {
      const page = await this.pool.page(roundId, this.pageLimit);
      if (page.length > 0) {
        // The page is the pool's fresh array: shuffled in place.
        delivered += await this.inboxes.appendRound(secureShuffle(page), expiresDay);
      }
      // An empty page with the round not yet forgotten cannot happen (a closed round takes no
      // new entries); stopping there keeps a faulty backend from spinning the closer.
      if ((await this.pool.release(roundId, page)) || page.length === 0) break;
    }
    // Another closer may have delivered this round too (a closer that died, or two processes
    // stopping at once): only what this one appended counts, and a round it added nothing to
    // is the other's.
    if (delivered === 0) return;
    this.metrics.count(MetricName.roundsClosed);
    this.metrics.count(MetricName.itemsDelivered, undefined, delivered);
    this.metrics.observe(MetricName.roundSize, delivered);
  }
}
