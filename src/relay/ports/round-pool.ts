/**
 * Round pool port: deposits accepted into the open round, invisible to fetches until the round
 * closes. Entries are held without any arrival time or order that outlives the process; the
 * closer shuffles each round before appending it.
 */
import type { InboxUsage, RoundEntry } from "./inbox-store.js";

export interface ClosedRound {
  id: string;
  entries: RoundEntry[];
}

export interface QuotaCheck {
  /** What the inbox already stores. */
  stored: InboxUsage;
  maxItems: number;
  maxBytes: number;
}

export type AddResult = "added" | "duplicate" | "quota";

export interface RoundPool {
  /**
   * Adds an entry to the open round. "duplicate" if the same (inbox, message id) is pending;
   * "quota" if stored plus pending plus this entry would exceed the limits. Resolves only once
   * the entry is durable in this backend.
   */
  add(entry: RoundEntry, quota: QuotaCheck): Promise<AddResult>;

  /** Closes the open round and returns it (undefined if it was empty). It stays until released. */
  close(): Promise<ClosedRound | undefined>;

  /** Closed rounds not yet released, e.g. because their closer died. */
  unreleased(): Promise<ClosedRound[]>;

  /** Forgets a closed round once its entries are appended. */
  release(roundId: string): Promise<void>;
}
