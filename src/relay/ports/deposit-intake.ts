/**
 * Deposit intake port: everything storage does for one deposit, as one operation. A backend
 * that can do it in one atomic step offers one (on one Redis server: one Lua script, one round
 * trip); every other backend gets the relay's composition of its replay set, inbox store and
 * round pool (stepwise-deposit-intake.ts), which behaves the same.
 */
import type { InboxStore, RoundEntry } from "./inbox-store.js";
import type { ReplaySet } from "./replay-set.js";
import type { RoundPool } from "./round-pool.js";

/** A request's replay record: its encapsulated key, under the tag of the HPKE key it opened with. */
export interface ReplayRecord {
  keyTag: string;
  enc: Uint8Array;
}

/** One deposit as storage sees it. */
export interface Deposit {
  /** Inbox id, message id and padded item. */
  entry: RoundEntry;
  /** The day the inbox lives to at least (it is registered for expiry in the same step). */
  expiresDay: number;
  /** Per-inbox limits over stored plus pending items and bytes. */
  limits: { maxItems: number; maxBytes: number };
  /**
   * The request's replay record, recorded first in the same step. Absent when the caller
   * records it itself (a request that spends a token records it before the token is looked at).
   */
  replay?: ReplayRecord;
}

/**
 * What a deposit did. "replay": its replay record was already there, nothing changed. "full":
 * the inbox is new and the backend holds as many as it may. "duplicate": the message id is
 * pending or delivered in that inbox. "quota": stored plus pending plus this item would pass
 * the limits. Only "added" puts anything in the round; every answer but "replay" leaves the
 * replay record recorded.
 */
export type DepositOutcome = "added" | "duplicate" | "quota" | "full" | "replay";

/** The ports whose work a deposit intake does. */
export interface DepositParts {
  inboxes: InboxStore;
  pool: RoundPool;
  replay: ReplaySet;
}

/** Deposit intake port: one deposit, replay record to round pool, in one call. */
export interface DepositIntake {
  /**
   * The ports this intake stands in for. The relay uses it only alongside exactly these: ports
   * wrapped in decorators (an operator's view that records each call) are composed step by step
   * instead, so the decorators see every call.
   */
  readonly parts: DepositParts;

  /**
   * Whether one call is one atomic step of the backend, the replay record included. Only then
   * does the relay hand it a request's replay record (elsewhere it records it first, as
   * always): a call that fails has then recorded nothing, and the request fails as a failed
   * replay write makes it fail.
   */
  readonly atomic: boolean;

  /**
   * Records the replay record (if given), then readies the inbox as `InboxStore.admit` does and
   * adds the entry as `RoundPool.add` does, against the inbox's stored usage. Resolves once the
   * outcome is durable in the backend.
   */
  deposit(deposit: Deposit): Promise<DepositOutcome>;
}
