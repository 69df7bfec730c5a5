/**
 * Round pool port: deposits accepted into the open round, invisible to fetches until the round
 * closes. Entries are held without any arrival time or order that outlives the process.
 *
 * A closed round is read and released in pages (see RoundCloser), so the memory a close needs
 * and the size of every backend command stay bounded however large a round grows. Pages come in
 * an order drawn from the CSPRNG, never in arrival order: Redis and Workers give each entry a
 * random sort key when it is added and page by inbox, then that key (so a page reaches few
 * inboxes and costs few appends), the embedded pool shuffles a round's entries when it closes. Sequence numbers are per inbox; an inbox's entries come in a random order, and the
 * closer shuffles each page again before appending it, so neither the order within a page nor
 * the order of the pages says anything about when deposits arrived.
 */
import type { InboxUsage, RoundEntry } from "./inbox-store.js";

/** What a deposit may add to its inbox: what it stores and the per-inbox limits. */
export interface QuotaCheck {
  /** What the inbox already stores. */
  stored: InboxUsage;
  maxItems: number;
  maxBytes: number;
}

/** What adding a deposit to the open round did. */
export type AddResult = "added" | "duplicate" | "quota";

/** What names an entry of a round: enough to release it. */
export type EntryKey = Pick<RoundEntry, "inboxId" | "messageId">;

/**
 * How much one page of a closed round holds at most: `entries` entries, and items adding up to
 * `bytes` (a page always holds at least one entry, whatever its size).
 */
export interface PageLimit {
  entries: number;
  bytes: number;
}

/**
 * The page a round closer reads at a time: a thousand entries keeps a Redis command's arguments
 * and a Durable Object call's message small; 8 MiB bounds a page of large (up to 1 MiB) items.
 *
 * @example const page = await pool.page(roundId, DEFAULT_PAGE_LIMIT);
 */
export const DEFAULT_PAGE_LIMIT: Readonly<PageLimit> = Object.freeze({
  entries: 1000,
  bytes: 8 * 1024 * 1024,
});

/**
 * Round pool port: deposits waiting for their round to close, then read page by page and released
 * once appended to their inboxes.
 */
export interface RoundPool {
  /**
   * Adds an entry to the open round. "duplicate" if the same (inbox, message id) is pending;
   * "quota" if stored plus pending plus this entry would exceed the limits (or the backend's own
   * cap on pending bytes, where it has one). Resolves only once the entry is durable in this
   * backend.
   */
  add(entry: RoundEntry, quota: QuotaCheck): Promise<AddResult>;

  /**
   * Closes the open round atomically (a deposit lands in exactly one round) and returns its id,
   * or undefined if it was empty. Its entries stay, still counted as pending, until released.
   */
  close(): Promise<string | undefined>;

  /** Ids of closed rounds that still hold entries, e.g. because their closer died. */
  unreleased(): Promise<string[]>;

  /**
   * The first entries of closed round `roundId` in its page order, within `limit`; empty once
   * every entry is released, or for an id that is not a closed round. Changes nothing: until
   * they are released, the same entries come back.
   */
  page(roundId: string, limit: PageLimit): Promise<RoundEntry[]>;

  /**
   * Forgets these entries of closed round `roundId` (one page, once appended) and takes them off
   * the pending usage. Entries no longer held (another closer released them) are skipped, so
   * releasing a page twice releases it once. Resolves true once the round holds no entries:
   * it is then forgotten.
   */
  release(roundId: string, entries: readonly EntryKey[]): Promise<boolean>;
}
