import { randomBytes, toHex } from "../../protocol/bytes.js";
import { RECENTLY_SENT, retryDelay } from "../../relay/retry-delay.js";
import type {
  DeadLetter,
  Deliver,
  DeliveryOptions,
  FederationQueue,
  OnDeadLetter,
  OnDeadLetterDropped,
  OutboundClaim,
} from "../../relay/ports/federation-queue.js";

interface Outbound {
  id: string;
  peer: string;
  batch: Uint8Array;
  /** Failed attempts so far. */
  attempts: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  running: boolean;
}

interface Delivery {
  deliver: Deliver;
  options: DeliveryOptions;
  onDeadLetter: OnDeadLetter | undefined;
  onDropped: OnDeadLetterDropped | undefined;
}

/**
 * The embedded federation queue. Held slots wait per peer in a map (its insertion order lives
 * only in process memory; no time is recorded) and claims take the oldest. Sent batches are
 * delivered by timers in this process: one attempt at a time per batch, any number of batches
 * (and peers) in parallel; a failed attempt is retried after `retryDelay`, and a batch that has
 * failed `maxAttempts` times waits in memory as a dead letter for `replay` or `drop`; past
 * `maxDeadLetters` the oldest is deleted. Nothing here survives a restart.
 *
 * @example
 * const queue = new MemoryFederationQueue();
 * await queue.startDelivery(deliver, { maxAttempts: 8, baseDelayMs: 500, maxDelayMs: 60_000 });
 */
export class MemoryFederationQueue implements FederationQueue {
  /** peer -> slot id -> slot. */
  readonly #held = new Map<string, Map<string, Uint8Array>>();
  readonly #claims = new Map<string, OutboundClaim>();
  /** Claim ids sent lately (insertion-ordered, so the oldest is forgotten first). */
  readonly #sent = new Set<string>();
  readonly #queued = new Map<string, Outbound>();
  /** Dead letters in the order they died. */
  readonly #dead = new Map<string, DeadLetter>();
  readonly #running = new Set<Promise<void>>();
  #delivery: Delivery | undefined;

  async hold(peer: string, slot: Uint8Array): Promise<void> {
    let slots = this.#held.get(peer);
    if (!slots) {
      slots = new Map();
      this.#held.set(peer, slots);
    }
    slots.set(toHex(randomBytes(16)), slot.slice());
  }

  async claim(peer: string, max: number): Promise<OutboundClaim> {
    const id = toHex(randomBytes(16));
    const held = this.#held.get(peer);
    const slots: Uint8Array[] = [];
    const count = Number.isNaN(max) ? 0 : Math.floor(max);
    if (held) {
      for (const [slotId, slot] of held) {
        if (slots.length >= count) break;
        slots.push(slot);
        held.delete(slotId);
      }
      if (held.size === 0) this.#held.delete(peer);
    }
    if (slots.length > 0) this.#claims.set(id, { id, peer, slots });
    return { id, peer, slots: slots.map((s) => s.slice()) };
  }

  async unsent(): Promise<OutboundClaim[]> {
    return [...this.#claims.values()].map(copyClaim);
  }

  async send(claim: OutboundClaim, batch: Uint8Array): Promise<void> {
    this.#claims.delete(claim.id);
    if (this.#sent.has(claim.id)) return;
    this.#sent.add(claim.id);
    if (this.#sent.size > RECENTLY_SENT) this.#sent.delete(this.#sent.values().next().value!);
    const outbound: Outbound = {
      id: claim.id,
      peer: claim.peer,
      batch: batch.slice(),
      attempts: 0,
      timer: undefined,
      running: false,
    };
    this.#queued.set(outbound.id, outbound);
    if (this.#delivery) this.#schedule(outbound, 0);
  }

  async startDelivery(
    deliver: Deliver,
    options: DeliveryOptions,
    onDeadLetter?: OnDeadLetter,
    onDeadLetterDropped?: OnDeadLetterDropped,
  ): Promise<void> {
    if (this.#delivery) return;
    this.#delivery = { deliver, options, onDeadLetter, onDropped: onDeadLetterDropped };
    for (const outbound of this.#queued.values()) {
      if (!outbound.running && !outbound.timer) this.#schedule(outbound, 0);
    }
  }

  async stopDelivery(): Promise<void> {
    this.#delivery = undefined;
    for (const outbound of this.#queued.values()) {
      clearTimeout(outbound.timer);
      outbound.timer = undefined;
    }
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  async deadLetters(): Promise<DeadLetter[]> {
    return [...this.#dead.values()].map((d) => ({ ...d, batch: d.batch.slice() }));
  }

  async replay(id: string): Promise<boolean> {
    const dead = this.#dead.get(id);
    if (!dead) return false;
    this.#dead.delete(id);
    const outbound: Outbound = {
      id,
      peer: dead.peer,
      batch: dead.batch,
      attempts: 0,
      timer: undefined,
      running: false,
    };
    this.#queued.set(id, outbound);
    if (this.#delivery) this.#schedule(outbound, 0);
    return true;
  }

  async drop(id: string): Promise<boolean> {
    return this.#dead.delete(id);
  }

  async peersWithTraffic(): Promise<string[]> {
    return [...this.#held.keys()].sort();
  }

  #schedule(outbound: Outbound, delayMs: number): void {
    outbound.timer = setTimeout(() => {
      outbound.timer = undefined;
      const run = this.#attempt(outbound);
      this.#running.add(run);
      void run.finally(() => this.#running.delete(run));
    }, delayMs);
  }

  async #attempt(outbound: Outbound): Promise<void> {
    const delivery = this.#delivery;
    if (!delivery || outbound.running) return;
    outbound.running = true;
    try {
      await delivery.deliver(outbound.peer, outbound.batch.slice());
      this.#queued.delete(outbound.id);
      return;
    } catch {
      outbound.attempts += 1;
    } finally {
      outbound.running = false;
    }
    // The delivery running now (it may have been stopped, or restarted).
    const current = this.#delivery ?? delivery;
    const options = current.options;
    if (outbound.attempts >= options.maxAttempts) {
      this.#queued.delete(outbound.id);
      this.#dead.set(outbound.id, {
        id: outbound.id,
        peer: outbound.peer,
        attempts: outbound.attempts,
        batch: outbound.batch,
      });
      current.onDeadLetter?.(outbound.peer);
      const max = options.maxDeadLetters ?? Infinity;
      // The map keeps the order they died in: the first is the oldest.
      for (const id of this.#dead.keys()) {
        if (this.#dead.size <= max) break;
        this.#dead.delete(id);
        current.onDropped?.();
      }
    } else if (this.#delivery) {
      this.#schedule(outbound, retryDelay(outbound.attempts, options));
    }
  }
}

function copyClaim(claim: OutboundClaim): OutboundClaim {
  return { id: claim.id, peer: claim.peer, slots: claim.slots.map((s) => s.slice()) };
}
