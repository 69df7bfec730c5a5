import { randomBytes, toHex } from "../../protocol/bytes.js";
import type {
  DeadLetter,
  Deliver,
  DeliveryOptions,
  FederationQueue,
  OnDeadLetter,
  OnDeadLetterDropped,
  OutboundClaim,
} from "../../relay/ports/federation-queue.js";
import { retryDelay } from "../../relay/retry-delay.js";
import type { SqlDriver } from "../sql/sql-driver.js";
import { SqlFederationStore } from "../sql/sql-federation-store.js";

interface Delivery {
  deliver: Deliver;
  options: DeliveryOptions;
  onDeadLetter: OnDeadLetter | undefined;
  onDropped: OnDeadLetterDropped | undefined;
}

/**
 * The federation queue in the SQLite file: held slots, claims, batches waiting for delivery with
 * their failed attempts, and dead letters, in the Durable Object federation object's tables and
 * through its books (SqlFederationStore), each call one transaction. Delivery runs on timers in
 * this process, as the in-memory queue's does: one attempt at a time per batch, any number of
 * batches in parallel, a failure retried after `retryDelay`; what waits survives a restart and
 * is delivered from the start of the next process's delivery, its attempts counted on.
 *
 * @example
 * const queue = new SqliteFederationQueue(db.sql);
 * await queue.startDelivery(deliver, { maxAttempts: 8, baseDelayMs: 500, maxDelayMs: 60_000 });
 */
export class SqliteFederationQueue implements FederationQueue {
  readonly #store: SqlFederationStore;
  /** Batch id -> the timer of its next attempt. */
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Batches with an attempt under way. */
  readonly #attempting = new Set<string>();
  readonly #running = new Set<Promise<void>>();
  #delivery: Delivery | undefined;

  constructor(private readonly sql: SqlDriver) {
    this.#store = new SqlFederationStore(sql);
  }

  async hold(peer: string, slot: Uint8Array): Promise<void> {
    this.sql.transaction(() => this.#store.hold(peer, slot));
  }

  async claim(peer: string, max: number): Promise<OutboundClaim> {
    const id = toHex(randomBytes(16));
    const count = Number.isNaN(max) ? 0 : Math.max(0, Math.min(Math.floor(max), 2 ** 31));
    const slots = this.sql.transaction(() => this.#store.claim(id, peer, count));
    return { id, peer, slots };
  }

  async unsent(): Promise<OutboundClaim[]> {
    return this.#store.unsent();
  }

  async send(claim: OutboundClaim, batch: Uint8Array): Promise<void> {
    const fresh = this.sql.transaction(() => this.#store.prepare(claim.id, claim.peer, batch));
    if (fresh && this.#delivery) this.#schedule(claim.id, 0);
  }

  async startDelivery(
    deliver: Deliver,
    options: DeliveryOptions,
    onDeadLetter?: OnDeadLetter,
    onDeadLetterDropped?: OnDeadLetterDropped,
  ): Promise<void> {
    if (this.#delivery) return;
    this.#delivery = { deliver, options, onDeadLetter, onDropped: onDeadLetterDropped };
    for (const id of this.#store.outboundIds()) {
      if (!this.#attempting.has(id) && !this.#timers.has(id)) this.#schedule(id, 0);
    }
  }

  async stopDelivery(): Promise<void> {
    this.#delivery = undefined;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  async deadLetters(): Promise<DeadLetter[]> {
    return this.#store.deadLetters();
  }

  async replay(id: string): Promise<boolean> {
    const revived = this.sql.transaction(() => this.#store.revive(id));
    if (revived && this.#delivery) this.#schedule(id, 0);
    return revived;
  }

  async drop(id: string): Promise<boolean> {
    return this.sql.transaction(() => this.#store.drop(id));
  }

  async peersWithTraffic(): Promise<string[]> {
    return this.#store.peersWithTraffic();
  }

  #schedule(id: string, delayMs: number): void {
    clearTimeout(this.#timers.get(id));
    this.#timers.set(
      id,
      setTimeout(() => {
        this.#timers.delete(id);
        const run = this.#attempt(id);
        this.#running.add(run);
        void run.finally(() => this.#running.delete(run));
      }, delayMs),
    );
  }

  async #attempt(id: string): Promise<void> {
    const delivery = this.#delivery;
    if (!delivery || this.#attempting.has(id)) return;
    const outbound = this.#store.outbound(id);
    if (!outbound) return;
    this.#attempting.add(id);
    try {
      await delivery.deliver(outbound.peer, outbound.batch);
      this.sql.transaction(() => this.#store.delivered(id));
      return;
    } catch {
      // Counted below, against the delivery running now (it may have been stopped or restarted).
    } finally {
      this.#attempting.delete(id);
    }
    const current = this.#delivery ?? delivery;
    const { maxAttempts, maxDeadLetters } = current.options;
    const failed = this.sql.transaction(() => this.#store.failed(id, maxAttempts, maxDeadLetters));
    if (!failed) return;
    if (failed.dead) {
      current.onDeadLetter?.(outbound.peer);
      for (let i = 0; i < failed.dropped; i++) current.onDropped?.();
    } else if (this.#delivery) {
      this.#schedule(id, retryDelay(failed.attempts, current.options));
    }
  }
}
