import type { RoundScheduler } from "../../../relay/ports/round-scheduler.js";
import type { RoundObjectApi } from "../objects/round-object-api.js";

/**
 * Rounds on Workers close in the round object's alarm, which runs the relay's closer itself:
 * `start` makes sure that alarm is set (every Worker isolate calls it once; only the first call
 * sets it), `stop` clears it. The `close` callback is not called here: no Worker isolate lives
 * long enough to own a timer.
 *
 * @example await new AlarmRoundScheduler(() => roundStub, "shroud").start(1000, async () => {});
 */
export class AlarmRoundScheduler implements RoundScheduler {
  constructor(
    private readonly round: () => DurableObjectStub<RoundObjectApi>,
    private readonly instance: string,
  ) {}

  async start(intervalMs: number, _close: () => Promise<void>): Promise<void> {
    // With 0 ms rounds deposits close their own round; the alarm still sends link batches.
    await this.round().start(this.instance, intervalMs || 1000);
  }

  async stop(): Promise<void> {
    await this.round().stop();
  }
}
