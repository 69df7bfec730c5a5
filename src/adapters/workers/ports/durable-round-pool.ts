import type { RoundEntry } from "../../../relay/ports/inbox-store.js";
import type {
  AddResult,
  EntryKey,
  PageLimit,
  QuotaCheck,
  RoundPool,
} from "../../../relay/ports/round-pool.js";
import type { RoundObjectApi } from "../objects/round-object-api.js";

/**
 * The round pool as seen from a Worker: calls on the relay's round object, which keeps the
 * pool in its storage (SqlRoundPool). Each call is one atomic step inside the object, and each
 * carries at most a page of a closed round, never the whole round.
 *
 * @example const pool = new DurableRoundPool(() => env.ROUNDS.get(env.ROUNDS.idFromName(roundName("shroud"))));
 */
export class DurableRoundPool implements RoundPool {
  constructor(private readonly round: () => DurableObjectStub<RoundObjectApi>) {}

  add(entry: RoundEntry, quota: QuotaCheck): Promise<AddResult> {
    return this.round().add(entry, quota);
  }

  async close(): Promise<string | undefined> {
    return this.round().close();
  }

  async unreleased(): Promise<string[]> {
    return this.round().unreleased();
  }

  async page(roundId: string, limit: PageLimit): Promise<RoundEntry[]> {
    return this.round().page(roundId, { entries: limit.entries, bytes: limit.bytes });
  }

  async release(roundId: string, entries: readonly EntryKey[]): Promise<boolean> {
    // Only the names cross to the object, not the items a page's entries still carry.
    const keys = entries.map(({ inboxId, messageId }) => ({ inboxId, messageId }));
    return this.round().release(roundId, keys);
  }
}
