/**
 * Inbox store port: where delivered items live until acknowledged or expired.
 *
 * Inboxes are keyed by inbox id, which commits to both the read secret and the write token (see
 * src/protocol/inbox-id.ts), so the store holds no capability at all: whoever names an inbox id
 * may write to it. The store keeps, per inbox, a day-granularity expiry, items with per-inbox
 * sequence numbers and the message ids it has delivered (for idempotent retries). It never
 * receives an arrival time.
 */

/** An item ready to append: its payload is already padded to a bucket. */
export interface RoundEntry {
  inboxId: Uint8Array;
  messageId: Uint8Array;
  item: Uint8Array;
}

/** An item as an inbox holds it: its sequence number there and its padded bytes. */
export interface StoredItem {
  seq: number;
  item: Uint8Array;
}

/** What one inbox stores: items and their bytes. */
export interface InboxUsage {
  items: number;
  bytes: number;
}

/** What a deposit learns of its inbox before it joins the round. */
export interface Admission {
  /** The inbox did not exist and was made by this call. */
  created: boolean;
  /** The message id was already delivered to this inbox (and has not expired). */
  duplicate: boolean;
  /** What the inbox stores now. */
  stored: InboxUsage;
}

/**
 * Inbox store port: where delivered items live until acknowledged or expired, by inbox id. It
 * holds no capability and never receives an arrival time.
 */
export interface InboxStore {
  /**
   * Readies an inbox for a deposit, in one step: creates it if unknown, extends its expiry day
   * to at least `expiresDay`, and tells whether `messageId` was already delivered and what the
   * inbox stores. "full" when the backend has reached a configured cap (inbox count or total
   * bytes) and takes no more deposits for now; nothing is then created or changed.
   */
  admit(
    inboxId: Uint8Array,
    messageId: Uint8Array,
    expiresDay: number,
  ): Promise<Admission | "full">;

  /** Items and bytes currently stored for an inbox (zero for an unknown inbox). */
  usage(inboxId: Uint8Array): Promise<InboxUsage>;

  /**
   * Appends a closed round's entries in the given order, which the caller has shuffled.
   * Entries whose message id the inbox already holds are skipped, so appending the same round
   * twice (a closer that died half way) delivers each item once. Entries for inboxes that do not
   * exist are dropped. Resolves with how many entries it appended (the rest were skipped or
   * dropped), so two closers delivering one round count its items once.
   */
  appendRound(entries: readonly RoundEntry[], expiresDay: number): Promise<number>;

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
