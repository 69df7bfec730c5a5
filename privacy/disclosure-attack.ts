/**
 * A statistical disclosure attack (Danezis 2003; Mathewson and Dingledine 2004) on one
 * observer's view. For a target actor T and every other actor C it asks: does C take a larger
 * share of everyone's activity shortly after T acts than it takes otherwise? For every
 * combination of
 *
 *   - which of T's events count as "T acts" (a label set S),
 *   - which events count as "being active" (a label set R), and
 *   - how long "shortly after" is (a window W),
 *
 * it compares the fraction of C's R-events that fall within W after one of T's S-events with
 * the same fraction over every other actor's R-events: comparing shares of the same stretches
 * of time, not rates, keeps bursts that lift everyone's activity (rounds closing, the machine
 * stalling) out of the score. The excess is scored as a variance-stabilised binomial deviation
 * (arcsine transform); and the same with T and C swapped, since partners answer each other. The two are summed (divided by sqrt 2, so about N(0, 1) again
 * without a signal). A candidate's score is its best combination; candidates are ranked by score.
 *
 * The label sets are each frequent label alone and all events together, both leaving out the most
 * frequent label (an unshaped client's polling; when everything looks the same, as under
 * shaping, all events), and "rapid" events (the actor's previous event began less than
 * `rapidMs` earlier: a read that found something and reads again). The attacker picks none of
 * this by the answer: every candidate gets the same treatment, so without a signal the true
 * partner's rank is uniform among the candidates.
 *
 * The view is scanned once in time order and ranks are taken at checkpoints (after each of the
 * target's messages), using only what was observed until then.
 */
import type { Observation } from "./observation.js";

export interface AttackSettings {
  /** Window lengths (ms). */
  windowsMs: number[];
  /** An event this soon after the actor's previous one is "rapid" (ms). */
  rapidMs: number;
  /** Ignore events before this time (setup). */
  from: number;
}

export interface AttackTarget {
  actor: string;
  /** The actors it really talks to (one partner, or its group's other members). */
  partners: string[];
  /** When to take its ranking (ascending). */
  checkpoints: number[];
}

export interface TargetRanking {
  actor: string;
  /**
   * Per checkpoint: the rank of the worst-ranked partner among the candidates that are not
   * partners (1 = above all of them; ties count half), and whether every partner ranks strictly
   * above every other candidate.
   */
  ranks: number[];
  top: boolean[];
  /** Candidates ranked (every actor but the target). */
  candidates: number;
}

const MAX_SINGLE_LABELS = 8;

interface LabelSet {
  name: string;
  has: (label: string, rapid: boolean) => boolean;
}

function labelSets(observations: readonly Observation[], rapid: readonly boolean[]): LabelSet[] {
  const counts = new Map<string, number>();
  for (const o of observations) counts.set(o.label, (counts.get(o.label) ?? 0) + 1);
  const minimum = Math.max(5, observations.length * 0.005);
  const frequent = [...counts]
    .filter(([, n]) => n >= minimum)
    .sort((a, b) => b[1] - a[1])
    .slice(0, MAX_SINGLE_LABELS)
    .map(([label]) => label);
  const sets: LabelSet[] = [];
  if (frequent.length > 1) {
    // The most frequent label is an unshaped client's polling: periodic, so its phase against
    // another client's polling is noise, not news; it is left out of every set.
    const most = frequent[0]!;
    for (const label of frequent.slice(1)) sets.push({ name: label, has: (l) => l === label });
    sets.push({ name: `all but ${most}`, has: (l) => l !== most });
  } else {
    sets.push({ name: "all", has: () => true });
  }
  if (rapid.filter(Boolean).length >= minimum) {
    sets.push({ name: "rapid", has: (_, r) => r });
  }
  return sets;
}

/** Marks events that follow the same actor's previous event within `rapidMs`. */
function rapidFlags(observations: readonly Observation[], rapidMs: number): boolean[] {
  const last = new Map<string, number>();
  return observations.map((o) => {
    const previous = last.get(o.actor);
    last.set(o.actor, o.t);
    return previous !== undefined && o.t - previous < rapidMs;
  });
}

/**
 * How far `inside` of `total` events is above what a share `p` predicts, variance-stabilised
 * (the arcsine transform of a binomial proportion): about N(0, 1) when the share is really p,
 * and bounded even when p is near 0 or 1.
 */
function excess(inside: number, total: number, p: number): number {
  return 2 * Math.sqrt(total) * (Math.asin(Math.sqrt(inside / total)) - Math.asin(Math.sqrt(p)));
}

/**
 * Ranks every actor as the partner of each target, at each of its checkpoints.
 *
 * @example
 * const [alice] = disclosureAttack(view.observations, actors, [{ actor, partners, checkpoints }], settings);
 * alice.ranks.at(-1); // the partner's final rank
 */
export function disclosureAttack(
  observationsIn: readonly Observation[],
  actors: readonly string[],
  targets: readonly AttackTarget[],
  settings: AttackSettings,
  candidatesIn: readonly string[] = actors,
): TargetRanking[] {
  const index = new Map(actors.map((a, i) => [a, i]));
  // Every actor's events count; only candidates are ranked (an observer that can tell some
  // actors are never partners, e.g. the inbox relay and sink inboxes, leaves them out).
  const candidate = new Uint8Array(actors.length);
  for (const c of candidatesIn) if (index.has(c)) candidate[index.get(c)!] = 1;
  const observations = observationsIn
    .filter((o) => o.t >= settings.from && index.has(o.actor))
    .sort((a, b) => a.t - b.t);
  const rapid = rapidFlags(observations, settings.rapidMs);
  const sets = labelSets(observations, rapid);
  const nA = actors.length;
  const nS = sets.length;
  const windows = settings.windowsMs;
  const nW = windows.length;
  const maxWindow = Math.max(...windows);

  // Per (actor, set): its last event's time and how many there were so far.
  const last = new Float64Array(nA * nS).fill(-Infinity);
  const triggers = new Float64Array(nA * nS);
  // Per (actor, set): events so far, and over all actors; per (a, set, window, b, set): b's
  // events within the window after one of a's, and their sum over b.
  const events = new Float64Array(nA * nS);
  const allEvents = new Float64Array(nS);
  const inWindows = new Float64Array(nA * nS * nW * nA * nS);
  const inWindowsAll = new Float64Array(nA * nS * nW * nS);
  const at = (a: number, s: number, w: number, b: number, r: number) =>
    (((a * nS + s) * nW + w) * nA + b) * nS + r;
  const atAll = (a: number, s: number, w: number, r: number) => ((a * nS + s) * nW + w) * nS + r;

  const masks = observations.map((o, i) =>
    sets.reduce((mask, set, s) => (set.has(o.label, rapid[i]!) ? mask | (1 << s) : mask), 0),
  );

  type Checkpoint = { t: number; target: number; slot: number };
  const checkpoints: Checkpoint[] = [];
  const results: TargetRanking[] = targets.map((target, k) => {
    for (const [slot, t] of target.checkpoints.entries()) checkpoints.push({ t, target: k, slot });
    return {
      actor: target.actor,
      ranks: target.checkpoints.map(() => NaN),
      top: target.checkpoints.map(() => false),
      candidates: candidate.reduce((a, b) => a + b, 0) - (candidate[index.get(target.actor)!] ?? 0),
    };
  });
  checkpoints.sort((a, b) => a.t - b.t);

  const rank = (checkpoint: Checkpoint) => {
    const target = targets[checkpoint.target]!;
    const t = index.get(target.actor);
    if (t === undefined) return;
    const scores = new Float64Array(nA).fill(-Infinity);
    // Whether `b` has more of its R-events within w after `a`'s S-events than the others do.
    const deviation = (a: number, s: number, w: number, b: number, r: number) => {
      if (triggers[a * nS + s]! < 3) return NaN;
      const own = events[b * nS + r]!;
      const inside = inWindows[at(a, s, w, b, r)]!;
      const othersInside = inWindowsAll[atAll(a, s, w, r)]! - inside;
      const others = allEvents[r]! - events[a * nS + r]! - own;
      if (own === 0 || othersInside <= 0 || othersInside >= others) return NaN;
      return excess(inside, own, othersInside / others);
    };
    for (let c = 0; c < nA; c++) {
      if (c === t || !candidate[c]) continue;
      let best = -Infinity;
      for (let s = 0; s < nS; s++) {
        for (let w = 0; w < nW; w++) {
          for (let r = 0; r < nS; r++) {
            // Partners answer each other: C after T, and T after C, in the same terms.
            const forward = deviation(t, s, w, c, r);
            const backward = deviation(c, s, w, t, r);
            if (Number.isNaN(forward) || Number.isNaN(backward)) continue;
            best = Math.max(best, (forward + backward) / Math.SQRT2);
          }
        }
      }
      scores[c] = best;
    }
    const partners = target.partners.map((p) => index.get(p)).filter((p) => p !== undefined);
    const result = results[checkpoint.target]!;
    if (partners.length === 0) return;
    let worst = 0;
    let lowestPartner = Infinity;
    for (const p of partners) {
      const s = scores[p]!;
      lowestPartner = Math.min(lowestPartner, s);
      let above = 0;
      let tied = 0;
      for (let c = 0; c < nA; c++) {
        if (c === t || !candidate[c] || partners.includes(c)) continue;
        if (scores[c]! > s) above++;
        else if (scores[c]! === s) tied++;
      }
      worst = Math.max(worst, 1 + above + tied / 2);
    }
    let highestOther = -Infinity;
    for (let c = 0; c < nA; c++) {
      if (c !== t && candidate[c] && !partners.includes(c)) {
        highestOther = Math.max(highestOther, scores[c]!);
      }
    }
    result.ranks[checkpoint.slot] = worst;
    result.top[checkpoint.slot] = lowestPartner > highestOther;
  };

  let next = 0;
  for (const [i, o] of observations.entries()) {
    while (next < checkpoints.length && checkpoints[next]!.t < o.t) rank(checkpoints[next++]!);
    const c = index.get(o.actor)!;
    const mask = masks[i]!;
    for (let r = 0; r < nS; r++) {
      if (!(mask & (1 << r))) continue;
      events[c * nS + r]!++;
      allEvents[r]!++;
      for (let a = 0; a < nA; a++) {
        if (a === c) continue;
        for (let s = 0; s < nS; s++) {
          const since = o.t - last[a * nS + s]!;
          if (!(since > 0 && since <= maxWindow)) continue;
          for (let w = 0; w < nW; w++) {
            if (since > windows[w]!) continue;
            inWindows[at(a, s, w, c, r)]!++;
            inWindowsAll[atAll(a, s, w, r)]!++;
          }
        }
      }
    }
    for (let s = 0; s < nS; s++) {
      if (!(mask & (1 << s))) continue;
      last[c * nS + s] = o.t;
      triggers[c * nS + s]!++;
    }
  }
  while (next < checkpoints.length) rank(checkpoints[next++]!);
  return results;
}
