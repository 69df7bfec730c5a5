/**
 * What the round object answers over RPC. Callers (the round pool and scheduler seen from a
 * Worker, the bindings) name this instead of the class, which itself builds a relay on those
 * callers: the class would otherwise depend on itself.
 */
import type { RoundEntry } from "../../../relay/ports/inbox-store.js";
import type {
  AddResult,
  EntryKey,
  PageLimit,
  QuotaCheck,
} from "../../../relay/ports/round-pool.js";

export interface RoundObjectApi extends Rpc.DurableObjectBranded {
  /** One atomic add to the open round (see RoundPool.add). */
  add(entry: RoundEntry, quota: QuotaCheck): AddResult;
  /** The closed round's id, or undefined if the open round was empty (see RoundPool.close). */
  close(): string | undefined;
  unreleased(): string[];
  /** One page of a closed round (see RoundPool.page). */
  page(roundId: string, limit: PageLimit): RoundEntry[];
  /** Releases one page of a closed round; true once the round is empty (see RoundPool.release). */
  release(roundId: string, entries: EntryKey[]): boolean;
  /** Entries waiting in the open round. */
  pending(): number;
  /** Starts closing rounds for `instance` every `intervalMs`, unless already started. */
  start(instance: string, intervalMs: number): Promise<void>;
  /** Stops the schedule; the open round stays until the next start. */
  stop(): Promise<void>;
}
