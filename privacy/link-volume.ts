/**
 * What an observer of the link between two relays learns: how many batches and bytes cross it,
 * and how many proxied requests, with their times. It sees no clients; what it can learn is when
 * the relays' users are busy. Compared per round between the stretch with polling only and the
 * stretch with messages, and as the correlation, over windows of a few rounds, between the bytes
 * of batches on the link and the messages the users really sent (which the observer should not
 * be able to tell).
 */
import type { RunRecords } from "./records.js";

export interface LinkStretch {
  batchesPerRound: number;
  batchBytesPerRound: number;
  proxiesPerRound: number;
}

export interface LinkVolume {
  idle: LinkStretch;
  busy: LinkStretch;
  /** Pearson correlation of batch bytes A -> B with the users' messages, per window (0: constant). */
  batchCorrelation: number;
  /** Rounds per correlation window. */
  windowRounds: number;
}

function pearson(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  if (n < 3) return 0;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  }
  return sxx === 0 || syy === 0 ? 0 : sxy / Math.sqrt(sxx * syy);
}

/**
 * @example const volume = linkVolume(run.records, timing.roundMs);
 */
export function linkVolume(records: RunRecords, roundMs: number, windowRounds = 5): LinkVolume {
  const links = records.relayLinks.filter((l) => l.from === "A");
  const stretch = ({ start, end }: { start: number; end: number }): LinkStretch => {
    const rounds = Math.max(1e-9, (end - start) / roundMs);
    const inside = links.filter((l) => l.start >= start && l.start < end);
    const batches = inside.filter((l) => l.what === "batch");
    return {
      batchesPerRound: batches.length / rounds,
      batchBytesPerRound: batches.reduce((a, l) => a + l.up, 0) / rounds,
      proxiesPerRound: inside.filter((l) => l.what === "proxy").length / rounds,
    };
  };
  // The users' real messages, as only the harness knows them (each left the client as a forward).
  const sent = records.messages
    .filter((m) => m.depositedAt !== undefined)
    .map((m) => m.depositedAt!);
  const start = records.idle.start;
  const width = roundMs * windowRounds;
  const windows = Math.max(0, Math.floor((records.busy.end - start) / width));
  const bytes = new Array<number>(windows).fill(0);
  const real = new Array<number>(windows).fill(0);
  for (const l of links) {
    const w = Math.floor((l.start - start) / width);
    if (l.what === "batch" && w >= 0 && w < windows) bytes[w]! += l.up;
  }
  for (const t of sent) {
    const w = Math.floor((t - start) / width);
    if (w >= 0 && w < windows) real[w]!++;
  }
  return {
    idle: stretch(records.idle),
    busy: stretch(records.busy),
    batchCorrelation: pearson(bytes, real),
    windowRounds,
  };
}
