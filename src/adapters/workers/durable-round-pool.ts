import type { RoundEntry } from "../../relay/ports/inbox-store.js";
import type {
  AddResult,
  ClosedRound,
  QuotaCheck,
  RoundPool,
} from "../../relay/ports/round-pool.js";
import type { RoundObjectApi } from "./round-object-api.js";

/**
 * The round pool as seen from a Worker: calls on the relay's round object, which keeps the
 * pool in its storage (SqlRoundPool). Each call is one atomic step inside the object.
 *
 * @example const pool = new DurableRoundPool(() => env.ROUNDS.get(env.ROUNDS.idFromName(roundName("shroud"))));
 */
export class DurableRoundPool implements RoundPool {
  constructor(private readonly round: () => DurableObjectStub<RoundObjectApi>) {}

  add(entry: RoundEntry, quota: QuotaCheck): Promise<AddResult> {
    return this.round().add(entry, quota);
  }

  close(): Promise<ClosedRound | undefined> {
    return this.round().close();
  }

  unreleased(): Promise<ClosedRound[]> {
    return this.round().unreleased();
  }

  release(roundId: string): Promise<void> {
    return this.round().release(roundId);
  }
}
