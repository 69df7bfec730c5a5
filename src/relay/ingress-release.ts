/**
 * An ingress relay's per-round release of its clients' hop requests (forward, proxy,
 * peer_descriptor), so that neither the next hop nor anyone who watches both of this relay's
 * links can tell, by time, which client request a proxied request leaving for a next hop, or an
 * answer going back to a client, belongs to.
 *
 * Every request is given the next release: the next multiple of the round interval on the wall
 * clock, the same instant for every process or isolate of a relay whose clocks agree. At a
 * release the requests due are put in a random order (CSPRNG), and the proxied exchanges start
 * in that order. Answers are grouped by the next hop the request named: the answers to all of
 * one release's requests for one next hop go back together, in a random order, once every
 * proxied exchange among them has settled (answered, failed, or past its deadline). So a forward
 * or a descriptor request is answered at the moment a proxied read for the same hop is, and a
 * slow or stalling next hop delays only the requests that named it.
 *
 * Each held request arms its own timer to its release, and the first timer to fire releases
 * every request due: on Workers a timer belongs to the request that armed it and ends with it,
 * so no request depends on another one's timer. Nothing here records when a request arrived.
 */
import type { Clock } from "./ports/clock.js";
import { secureShuffle } from "./shuffle.js";

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

interface Held {
  /** The next hop it names: answers are released together per group. */
  group: string;
  /** Starts its work if it has not started; resolves (never rejects) once the work settled. */
  begin: () => Promise<unknown>;
  /** Hands the caller its outcome (the work must have settled). */
  deliver: () => void;
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
    this.#release(Infinity);
  }

  #hold<T>(group: string, work: () => Promise<T>, startNow: boolean): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const answer = new Promise<T>((resolve, reject) => {
      let outcome: Promise<Outcome<T>> | undefined;
      const begin = () =>
        (outcome ??= Promise.resolve()
          .then(work)
          .then(
            (value): Outcome<T> => ({ ok: true, value }),
            (error: unknown): Outcome<T> => ({ ok: false, error }),
          ));
      if (startNow) void begin();
      const release = nextRelease(this.clock.now(), this.intervalMs);
      const held: Held = {
        group,
        begin,
        deliver: () => void begin().then((o) => (o.ok ? resolve(o.value) : reject(o.error))),
      };
      const due = this.#held.get(release);
      if (due) due.push(held);
      else this.#held.set(release, [held]);
      timer = setTimeout(() => this.#release(release), Math.max(0, release - this.clock.now()));
    });
    // Cleared by the request that armed it, in its own context (Workers ties timers to one).
    return answer.finally(() => {
      if (timer !== undefined) clearTimeout(timer);
    });
  }

  #release(upTo: number): void {
    const due: Held[] = [];
    for (const [release, held] of this.#held) {
      if (release > upTo) continue;
      this.#held.delete(release);
      for (const one of held) due.push(one);
    }
    if (due.length === 0) return;
    const groups = new Map<string, Held[]>();
    for (const held of secureShuffle(due)) {
      // Proxied exchanges leave for their next hops in this random order.
      void held.begin();
      const members = groups.get(held.group);
      if (members) members.push(held);
      else groups.set(held.group, [held]);
    }
    for (const members of groups.values()) {
      void Promise.all(members.map((held) => held.begin())).then(() => {
        for (const held of secureShuffle(members)) held.deliver();
      });
    }
  }
}
