import type { ReplaySet } from "../../../relay/ports/replay-set.js";
import { replayName } from "../object-names.js";
import type { ReplayObject } from "../objects/replay-object.js";
import type { WorkerEnv } from "../worker-env.js";

/** Replay objects per relay: every opened request writes one record, so the load is spread. */
export const REPLAY_SHARDS = 8;

/** The shard of a record: a hash of all its bytes (batch-id records share long prefixes). */
function shardOf(record: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const byte of record) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h % REPLAY_SHARDS;
}

/**
 * The replay set on Durable Objects, sharded by record. Durable: records outlive any isolate,
 * so the relay keeps its HPKE keys across restarts.
 *
 * @example const replay = new DurableReplaySet(env, "shroud");
 */
export class DurableReplaySet implements ReplaySet {
  readonly durable = true;

  constructor(
    private readonly env: Pick<WorkerEnv, "REPLAY">,
    private readonly instance: string,
  ) {}

  #shard(index: number): DurableObjectStub<ReplayObject> {
    return this.env.REPLAY.get(this.env.REPLAY.idFromName(replayName(this.instance, index)));
  }

  add(keyTag: string, record: Uint8Array): Promise<boolean> {
    return this.#shard(shardOf(record)).add(keyTag, record);
  }

  has(keyTag: string, record: Uint8Array): Promise<boolean> {
    return this.#shard(shardOf(record)).has(keyTag, record);
  }

  async forget(keyTag: string): Promise<void> {
    await Promise.all(
      Array.from({ length: REPLAY_SHARDS }, (_, i) => this.#shard(i).forget(keyTag)),
    );
  }
}
