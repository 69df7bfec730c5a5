/**
 * Federation queue port: what a relay owes its peers. Forwarded envelopes are held per peer
 * until the next round; at each round the relay claims up to a batch's worth per peer, builds a
 * signed, padded batch around them and hands it to delivery, which retries with exponential
 * backoff and jitter until the peer acknowledges, and dead-letters a batch that keeps failing.
 *
 * Everything here is opaque to the queue: slots and batches are bytes, peers are origins.
 */

/** Slots claimed for one batch. `id` (32 hex digits) becomes the batch id. */
export interface OutboundClaim {
  id: string;
  peer: string;
  slots: Uint8Array[];
}

/** A batch that failed delivery `attempts` times and waits for an operator. */
export interface DeadLetter {
  id: string;
  peer: string;
  attempts: number;
  batch: Uint8Array;
}

/** How a federation queue retries a batch before dead-lettering it. */
export interface DeliveryOptions {
  /** Attempts before a batch is dead-lettered (>= 1). */
  maxAttempts: number;
  /** Delay before the second attempt; doubles per attempt (ms). */
  baseDelayMs: number;
  /** Upper bound of a delay before jitter (ms). */
  maxDelayMs: number;
  /**
   * Dead letters kept at most (>= 1; default: no limit). When one more batch dies, the oldest
   * dead letters are deleted until this many are left, so a peer that is down for good cannot
   * fill the store.
   */
  maxDeadLetters?: number;
}

/** Sends one batch to its peer; resolves when the peer acknowledged it, throws otherwise. */
export type Deliver = (peer: string, batch: Uint8Array) => Promise<void>;

/** Told once, by the process whose attempt was the last, when a batch becomes a dead letter. */
export type OnDeadLetter = (peer: string) => void;

/** Told once per dead letter deleted to stay within `maxDeadLetters` (it names nothing). */
export type OnDeadLetterDropped = () => void;

/**
 * Federation queue port: slots held per peer until a round's batch claims them, claims sent with
 * retries, and batches that never got through kept as dead letters.
 */
export interface FederationQueue {
  /** Holds a slot for `peer` until a claim takes it. Durable when it resolves. */
  hold(peer: string, slot: Uint8Array): Promise<void>;

  /**
   * Takes up to `max` held slots of `peer` into a new claim, atomically: a slot is in at most
   * one claim. A claim with slots stays until `send`; an empty claim is not stored.
   */
  claim(peer: string, max: number): Promise<OutboundClaim>;

  /** Claims taken but never sent (their builder died), to be built and sent again. */
  unsent(): Promise<OutboundClaim[]>;

  /**
   * Queues a built batch for delivery and forgets its claim. Sending the same claim id twice
   * queues it once, so a rebuilt batch after a crash is not delivered twice.
   */
  send(claim: OutboundClaim, batch: Uint8Array): Promise<void>;

  /** Starts delivering queued batches (this process's share of them). */
  startDelivery(
    deliver: Deliver,
    options: DeliveryOptions,
    onDeadLetter?: OnDeadLetter,
    onDeadLetterDropped?: OnDeadLetterDropped,
  ): Promise<void>;

  /** Stops delivery; resolves when no delivery attempt of this process is running. */
  stopDelivery(): Promise<void>;

  /** Batches that exhausted their attempts, oldest first. */
  deadLetters(): Promise<DeadLetter[]>;

  /** Puts a dead letter back into delivery with fresh attempts; false if there is no such id. */
  replay(id: string): Promise<boolean>;

  /** Deletes a dead letter; false if there is no such id. */
  drop(id: string): Promise<boolean>;

  /** Peers that have held slots waiting (links an open federation must serve this round). */
  peersWithTraffic(): Promise<string[]>;
}
