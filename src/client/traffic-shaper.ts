/**
 * A client's request schedule: requests leave in slots whose times do not depend on what the
 * user does, alternately a write slot (a deposit or forward) and a read slot (a fetch, ack or
 * proxied read). A slot carries the oldest waiting request of its kind, or cover when none waits:
 * a loop deposit into the client's own sink inbox, or a fetch of it. Every request of a shaped
 * client fills one cell (bucket), so an observer of the client's link sees the same requests at
 * the same times whatever the client does, and the loop lets the client notice dropped traffic.
 *
 * Runtime-neutral: timers only (setTimeout), randomness from the platform CSPRNG.
 */
import { TransportError } from "../protocol/errors.js";
import type { ShapingProfile } from "./shaping-profile.js";

/** Which slots a request may ride. */
export type SlotKind = "write" | "read";

/** What a slot sends when no real request waits for it. */
export interface CoverTraffic {
  write(): Promise<void>;
  read(): Promise<void>;
}

/** Counters of a shaper's slots, for apps and tests (never sent anywhere). */
export interface ShaperStats {
  /** Slots that carried an app's request. */
  real: number;
  /** Slots that carried cover. */
  cover: number;
  /** Cover requests that failed (a relay or network problem the app may want to know of). */
  coverFailures: number;
  /** Slots skipped because MAX_IN_FLIGHT earlier requests were still unanswered. */
  skipped: number;
}

/**
 * Slots whose requests may be unanswered at once; past it a slot sends nothing. A relay that
 * stopped answering would otherwise collect one hanging request per slot for as long as it is
 * down.
 */
export const MAX_IN_FLIGHT = 16;

interface Job {
  send: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** A uniform draw from (0, 1] with 53 bits from the CSPRNG. */
function uniform(): number {
  const [hi, lo] = crypto.getRandomValues(new Uint32Array(2));
  return ((hi! >>> 5) * 67108864 + (lo! >>> 6) + 1) / 9007199254740992;
}

/** Milliseconds to the next slot under a profile that shapes. */
export function slotGap(profile: Exclude<ShapingProfile, { kind: "off" }>): number {
  if (profile.kind === "constant") return profile.intervalMs;
  // Exponential gaps: slot times form a Poisson process, memoryless whatever came before.
  return -profile.meanIntervalMs * Math.log(uniform());
}

type Timer = ReturnType<typeof setTimeout> & { ref?: () => unknown; unref?: () => unknown };

/**
 * @example
 * const shaper = new TrafficShaper(ShapingProfiles.constant, { write: loopDeposit, read: loopFetch });
 * shaper.start();
 * const answer = await shaper.submit("write", () => depositNow());
 */
export class TrafficShaper {
  readonly #queues: Record<SlotKind, Job[]> = { write: [], read: [] };
  #next: SlotKind = "write";
  #timer: Timer | undefined;
  #running = false;
  readonly stats: ShaperStats = { real: 0, cover: 0, coverFailures: 0, skipped: 0 };
  #inFlight = 0;

  constructor(
    private readonly profile: Exclude<ShapingProfile, { kind: "off" }>,
    private readonly cover: CoverTraffic,
  ) {}

  /** The bucket every request of this shaper fills. */
  get cellSize(): number {
    return this.profile.cellSize;
  }

  /** Starts the slots (at a random point of the first gap, so starts do not line up). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#arm(slotGap(this.profile) * uniform());
  }

  /** Stops the slots; requests still waiting fail with TransportError. */
  stop(): void {
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const kind of ["write", "read"] as const) {
      for (const job of this.#queues[kind].splice(0)) {
        job.reject(new TransportError("the client was closed before its request left"));
      }
    }
  }

  /** Queues `send` for the next slot of `kind` and resolves with what it returns. */
  submit<T>(kind: SlotKind, send: () => Promise<T>): Promise<T> {
    if (!this.#running) {
      return Promise.reject(new TransportError("the client's traffic shaper is stopped"));
    }
    return new Promise<T>((resolve, reject) => {
      this.#queues[kind].push({ send, resolve: resolve as (value: unknown) => void, reject });
      // A waiting request keeps a Node process alive until its slot; cover alone does not.
      this.#timer?.ref?.();
    });
  }

  /** Requests waiting for a slot. */
  get waiting(): number {
    return this.#queues.write.length + this.#queues.read.length;
  }

  #arm(delayMs: number): void {
    const timer: Timer = setTimeout(() => this.#fire(), delayMs);
    if (this.waiting === 0) timer.unref?.();
    this.#timer = timer;
  }

  #fire(): void {
    if (!this.#running) return;
    this.#arm(slotGap(this.profile));
    if (this.#inFlight >= MAX_IN_FLIGHT) {
      // Nothing leaves; the next slot sends what this one would have, so writes and reads
      // still take turns.
      this.stats.skipped++;
      return;
    }
    const kind = this.#next;
    this.#next = kind === "write" ? "read" : "write";
    this.#inFlight++;
    const done = () => {
      this.#inFlight--;
    };
    const job = this.#queues[kind].shift();
    if (job) {
      this.stats.real++;
      Promise.resolve().then(job.send).then(job.resolve, job.reject).finally(done);
    } else {
      this.stats.cover++;
      this.cover[kind]()
        .catch(() => {
          this.stats.coverFailures++;
        })
        .finally(done);
    }
  }
}
