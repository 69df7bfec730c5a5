/**
 * The epoch inboxes a member reads, current first. An applied commit puts the new epoch's inbox in
 * front; an older one is still read while ts-mls keeps its epoch's keys, since messages sent just
 * before a commit land there, and dropped after that, since nothing there would open. A shaping
 * client's cover reads follow the same list.
 */
import type { RelayClient } from "../relay-client.js";
import { epochInbox } from "./epoch-inbox.js";
import { RETAINED_EPOCHS } from "./mls-suite.js";
import { currentEpoch, type SessionContext, type SessionState } from "./session-context.js";

/** Starts reading the inbox of the epoch the member's state has just entered. */
export async function enterEpoch(group: SessionState): Promise<void> {
  group.readings.unshift({ ...(await epochInbox(group.state, group.relay)), cursor: 0 });
}

/** Stops reading epoch inboxes whose keys ts-mls no longer keeps (nothing there opens). */
export function pruneReadings(group: SessionState): void {
  const epoch = currentEpoch(group);
  group.readings = group.readings.filter(
    (r, i) => i === 0 || epoch - r.epoch <= BigInt(RETAINED_EPOCHS),
  );
}

/**
 * Keeps the home client's cover reads on the epoch inboxes this member reads, so that the
 * group relay sees them read on the client's schedule, not only when the app syncs.
 */
export function watchReadings(ctx: SessionContext, client: RelayClient): void {
  const { group, watches } = ctx;
  for (const [reading, stop] of watches) {
    if (group.removed || !group.readings.includes(reading)) {
      stop();
      watches.delete(reading);
    }
  }
  if (group.removed) return;
  for (const reading of group.readings) {
    if (!watches.has(reading)) {
      watches.set(
        reading,
        client.watch(reading, () => reading.cursor),
      );
    }
  }
}
