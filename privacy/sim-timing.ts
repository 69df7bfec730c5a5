/**
 * The simulated users' habits and the relays' round, in nominal milliseconds, and the time scale
 * a run compresses them by. Every duration of a run (rounds, polling, think times, shaping
 * intervals, the attack's windows) is multiplied by the same `scale`, so a run at 0.25 plays four
 * nominal seconds in one; costs and latencies are reported back in nominal time.
 */
import type { ShapingProfile } from "../src/client/shaping-profile.js";

export interface SimTiming {
  /** Wall-clock milliseconds per nominal millisecond (1: real time). */
  scale: number;
  /** The relays' round interval (nominal 1 s, the relay's default). */
  roundMs: number;
  /** How often an application without shaping polls its inbox (nominal 1 s). */
  pollMs: number;
  /** After a fetch that found something, the ack leaves this long later (reading time). */
  readDelayMs: { min: number; max: number };
  /** Mean think time before a reply (exponential; nominal 3 s). */
  thinkMs: number;
  /** Chance that a received message is answered. */
  replyProbability: number;
  /** Mean gap between messages a client starts unprompted (exponential; nominal 20 s). */
  unpromptedMs: number;
  /** Polling only, before anyone sends (nominal 12 s). */
  idleMs: number;
  /** After the last counted message, so its answers and the attack's windows are recorded. */
  tailMs: number;
}

/** The habits at nominal speed. */
const NOMINAL = {
  roundMs: 1000,
  pollMs: 1000,
  readDelayMs: { min: 200, max: 700 },
  thinkMs: 3000,
  replyProbability: 0.85,
  unpromptedMs: 20_000,
  idleMs: 12_000,
  tailMs: 8000,
} as const;

/**
 * The habits compressed by `scale`.
 *
 * @example simTiming(0.25).roundMs // 250
 */
export function simTiming(scale: number): SimTiming {
  const s = (ms: number) => ms * scale;
  return {
    scale,
    roundMs: Math.max(1, Math.round(s(NOMINAL.roundMs))),
    pollMs: s(NOMINAL.pollMs),
    readDelayMs: { min: s(NOMINAL.readDelayMs.min), max: s(NOMINAL.readDelayMs.max) },
    thinkMs: s(NOMINAL.thinkMs),
    replyProbability: NOMINAL.replyProbability,
    unpromptedMs: s(NOMINAL.unpromptedMs),
    idleMs: s(NOMINAL.idleMs),
    tailMs: s(NOMINAL.tailMs),
  };
}

/** Resolves after `ms`, or as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * A shaping profile with its intervals compressed like the rest of the run (cells unchanged).
 *
 * @example scaledProfile(ShapingProfiles.constant, 0.25) // { kind: "constant", intervalMs: 125, cellSize: 4096 }
 */
export function scaledProfile(profile: ShapingProfile, scale: number): ShapingProfile {
  switch (profile.kind) {
    case "off":
      return profile;
    case "constant":
      return { ...profile, intervalMs: profile.intervalMs * scale };
    case "poisson":
      return { ...profile, meanIntervalMs: profile.meanIntervalMs * scale };
  }
}
