/**
 * A client's request schedule: requests leave in slots whose times do not depend on what the
 * user does, alternately a write slot (a deposit or forward) and a read slot (a fetch, ack or
 * proxied read). A slot carries the oldest waiting request of its kind, or cover when none waits:
 * a loop deposit into the client's own sink inbox, or a fetch of it. Write slots may belong to
 * contacts' lanes (setLanes), whose cover is a drop into the contact's inbox. Every request of a
 * shaped client fills one cell (bucket), so an observer of the client's link sees the same
 * requests at the same times whatever the client does, and the loop lets the client notice
 * dropped traffic.
 *
 * Runtime-neutral: timers only (setTimeout), randomness from the platform CSPRNG.
 */
import { TransportError } from "../protocol/errors.js";
import type { ShapingProfile } from "./shaping-profile.js";

/** Which slots a request may ride. */
export type SlotKind = "write" | "read";

/** What a slot sends when no real request waits for it. */
export interface CoverTraffic {
  /** Cover for a write slot: a loop deposit, or for a contact's lane a drop into its inbox. */
  write(lane?: string): Promise<void>;
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
  /** The contact lane a write waits for (see setLanes); none: any loop slot. */
  lane?: string | undefined;
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
  #lanes: readonly string[] = [];
  #laneShare = 0;

  constructor(
    private readonly profile: Exclude<ShapingProfile, { kind: "off" }>,
    private readonly cover: CoverTraffic,
  ) {}

  /** Whether the slots are running (started and not stopped). */
  get running(): boolean {
    return this.#running;
  }

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

  /**
   * Contact lanes: a `share` of the write slots is given, at random and evenly, to one of
   * `lanes`, decided before the slot looks at what waits; the rest are loop slots. A write
   * submitted for a lane leaves only in that lane's slots, and a lane's slot with nothing waiting
   * sends drop cover into that contact's inbox. So each contact's inbox receives deposits from
   * this client at a fixed rate, whether or not the user writes to it; other writes take loop
   * slots.
   */
  setLanes(lanes: readonly string[], share: number): void {
    // Without a share, no slot would ever be a lane's: every write takes loop slots.
    this.#lanes = share > 0 ? [...lanes] : [];
    this.#laneShare = share;
  }

  /** Queues `send` for the next slot of `kind` and resolves with what it returns. */
  submit<T>(kind: SlotKind, send: () => Promise<T>, lane?: string): Promise<T> {
    if (!this.#running) {
      return Promise.reject(new TransportError("the client's traffic shaper is stopped"));
    }
    return new Promise<T>((resolve, reject) => {
      this.#queues[kind].push({
        lane,
        send,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
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
    const lane = kind === "write" ? this.#pickLane() : undefined;
    const queue = this.#queues[kind];
    const index = queue.findIndex((job) => this.#laneOf(job) === lane);
    const job = index < 0 ? undefined : queue.splice(index, 1)[0];
    if (job) {
      this.stats.real++;
      Promise.resolve().then(job.send).then(job.resolve, job.reject).finally(done);
    } else {
      this.stats.cover++;
      (kind === "write" ? this.cover.write(lane) : this.cover.read())
        .catch(() => {
          this.stats.coverFailures++;
        })
        .finally(done);
    }
  }

  /** The lane of a write slot, drawn before looking at the queue; undefined: a loop slot. */
  #pickLane(): string | undefined {
    if (this.#lanes.length === 0 || uniform() > this.#laneShare) return undefined;
    return this.#lanes[Math.floor(uniform() * this.#lanes.length) % this.#lanes.length];
  }

  /** A job's lane if it is still one of the lanes, else the loop's. */
  #laneOf(job: Job): string | undefined {
    return job.lane !== undefined && this.#lanes.includes(job.lane) ? job.lane : undefined;
  }
}
