/**
 * An ingress relay's per-round release of its clients' hop requests (forward, proxy,
 * peer_descriptor), so that neither the next hop nor anyone who watches both of this relay's
 * links can tell, by time, which client request a proxied request leaving for a next hop, or an
 * answer going back to a client, belongs to.
 *
 * Every request is given the next release: the next multiple of the round interval on the wall
 * clock, the same instant for every process or isolate of a relay whose clocks agree. Each held
 * request starts its own proxied exchange from a timer of its own, set to the release plus a
 * jitter drawn from the CSPRNG (up to a tenth of the round, at most 50 ms), so the exchanges of
 * one release leave in a random order, never the order the requests came in; and on Workers,
 * where a timer and any I/O belong to the request that made them, no request does another's
 * I/O. Answers are grouped by the next hop the request named: the answers to all of one
 * release's requests for one next hop go back together once every proxied exchange among them
 * has settled (answered, failed, or past its deadline). So a forward or a descriptor request is
 * answered at the moment a proxied read for the same hop is, and a slow or stalling next hop
 * delays only the requests that named it. Nothing here records when a request arrived.
 */
import type { Clock } from "./ports/clock.js";
import { randomBelow } from "./shuffle.js";

/** Longest jitter after a release before a held request's exchange starts. */
const MAX_JITTER_MS = 50;

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

interface Held {
  /** The next hop it names: answers are released together per group. */
  group: string;
  /** Resolves (never rejects) once its work has settled. */
  settled: Promise<unknown>;
  /** Starts its work if it has not started. */
  begin: () => void;
  /** Starts its work and answers it once its group's work has settled (its timer's job). */
  fire: () => void;
}

/**
 * The first multiple of `intervalMs` after `now`.
 *
 * @example nextRelease(12_345, 1000) // 13_000
 */
export function nextRelease(now: number, intervalMs: number): number {
  return (Math.floor(now / intervalMs) + 1) * intervalMs;
}

/**
 * @example
 * const release = new IngressRelease(config.roundIntervalMs, clock);
 * const answer = await release.exchange(nextHop, () => federation.proxy(request, capacity));
 */
export class IngressRelease {
  /**
   * Requests waiting, by release time: each held request's timer looks up only the few release
   * times pending, not every request. Within one, in arrival order (shuffled when released).
   */
  readonly #held = new Map<number, Held[]>();

  constructor(
    private readonly intervalMs: number,
    private readonly clock: Clock,
  ) {
    if (!Number.isInteger(intervalMs) || intervalMs < 1) {
      throw new RangeError("the release interval must be a positive integer");
    }
  }

  /** Runs `exchange` at the next release; returns its result with its group's answers. */
  exchange<T>(group: string, exchange: () => Promise<T>): Promise<T> {
    return this.#hold(group, exchange, false);
  }

  /** Runs `work` now; returns its result at the next release, with its group's answers. */
  answer<T>(group: string, work: () => Promise<T>): Promise<T> {
    return this.#hold(group, work, true);
  }

  /** Releases every waiting request now (the relay is stopping). */
  releaseAll(): void {
    const all = [...this.#held.values()].flat();
    for (const one of all) one.begin();
    for (const one of all) one.fire();
  }

  #hold<T>(group: string, work: () => Promise<T>, startNow: boolean): Promise<T> {
    const release = nextRelease(this.clock.now(), this.intervalMs);
    let begun: Promise<Outcome<T>> | undefined;
    let settle: (outcome: Outcome<T>) => void = () => undefined;
    const settled = new Promise<Outcome<T>>((resolve) => (settle = resolve));
    const begin = () => {
      begun ??= Promise.resolve()
        .then(work)
        .then(
          (value): Outcome<T> => ({ ok: true, value }),
          (error: unknown): Outcome<T> => ({ ok: false, error }),
        )
        .then((outcome) => {
          settle(outcome);
          return outcome;
        });
    };
    let fire: () => void = () => undefined;
    const held: Held = { group, settled, begin, fire: () => fire() };
    const due = this.#held.get(release);
    if (due) due.push(held);
    else this.#held.set(release, [held]);
    if (startNow) begin();
    const jitter = randomBelow(
      Math.max(1, Math.min(MAX_JITTER_MS, Math.floor(this.intervalMs / 10))),
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const answer = new Promise<T>((resolve, reject) => {
      let fired = false;
      fire = () => {
        if (fired) return;
        fired = true;
        if (timer !== undefined) clearTimeout(timer);
        begin();
        // Past the release no request joins it any more: its members for this hop are final.
        const members = (this.#held.get(release) ?? []).filter((m) => m.group === group);
        void Promise.all(members.map((m) => m.settled)).then(async () => {
          const outcome = await settled;
          if (outcome.ok) resolve(outcome.value);
          else reject(outcome.error);
        });
      };
      timer = setTimeout(fire, Math.max(0, release - this.clock.now()) + jitter);
    });
    // Cleared by the request that armed it, in its own context (Workers ties timers to one).
    return answer.finally(() => {
      if (timer !== undefined) clearTimeout(timer);
      const left = this.#held.get(release)?.filter((m) => m !== held);
      if (left && left.length > 0) this.#held.set(release, left);
      else this.#held.delete(release);
    });
  }
}
