/**
 * Inbox store port: where delivered items live until acknowledged or expired.
 *
 * Inboxes are keyed by inbox id (a hash of the read secret). The store keeps, per inbox, the
 * hash of its write token, a day-granularity expiry, items with per-inbox sequence numbers and
 * the message ids it has delivered (for idempotent retries). It never receives an arrival time.
 */

/** An item ready to append: its payload is already padded to a bucket. */
export interface RoundEntry {
  inboxId: Uint8Array;
  messageId: Uint8Array;
  item: Uint8Array;
}

export interface StoredItem {
  seq: number;
  item: Uint8Array;
}

export interface InboxUsage {
  items: number;
  bytes: number;
}

export type AuthorizeResult = "ok" | "created" | "forbidden";

/**
 * Outcome of claiming an inbox's commit slot: "won" (it was free and is now this message's),
 * "held" (this message id already holds it: a retry), "taken" (another message holds it).
 */
export type CommitSlotClaim = "won" | "held" | "taken";

export interface InboxStore {
  /**
   * Checks `writeTokenHash` against the inbox's in constant time. An unknown inbox is created
   * with this hash (the first write token wins). Refreshes the inbox's expiry day.
   */
  authorize(
    inboxId: Uint8Array,
    writeTokenHash: Uint8Array,
    expiresDay: number,
  ): Promise<AuthorizeResult>;

  /** Items and bytes currently stored for an inbox (zero for an unknown inbox). */
  usage(inboxId: Uint8Array): Promise<InboxUsage>;

  /** Whether a message id was already delivered to this inbox (and not yet expired). */
  hasMessage(inboxId: Uint8Array, messageId: Uint8Array): Promise<boolean>;

  /**
   * Claims the inbox's one-shot commit slot for `messageId`, atomically: of any number of
   * concurrent claims with different message ids exactly one wins, on every instance. The slot
   * stays taken for the inbox's life (an MLS epoch ends once); it goes when the inbox expires.
   * The inbox must exist (authorize first).
   */
  claimCommitSlot(inboxId: Uint8Array, messageId: Uint8Array): Promise<CommitSlotClaim>;

  /**
   * Appends a closed round's entries in the given order, which the caller has shuffled.
   * Entries whose message id the inbox already holds are skipped, so appending the same round
   * twice (a closer that died half way) delivers each item once. Entries for inboxes that do not
   * exist are dropped.
   */
  appendRound(entries: readonly RoundEntry[], expiresDay: number): Promise<void>;

  /** Items after `afterSeq`, oldest first, at most `maxItems`; undefined for an unknown inbox. */
  fetch(
    inboxId: Uint8Array,
    afterSeq: number,
    maxItems: number,
  ): Promise<{ items: StoredItem[]; more: boolean } | undefined>;

  /** Removes items up to and including `upToSeq`; the count removed, undefined if unknown. */
  ack(inboxId: Uint8Array, upToSeq: number): Promise<number | undefined>;

  /** Removes items, message ids and inboxes whose expiry day is before `today`. */
  expire(today: number): Promise<void>;
}
