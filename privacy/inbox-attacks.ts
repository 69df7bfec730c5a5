/**
 * Attacks that need no statistics, for an observer that sees both client addresses and inbox
 * ids (a relay reached directly):
 *
 *   inbox join      the target deposits into inbox X; whoever fetches X is its partner. A
 *                   candidate scores the target's deposits into inboxes it has fetched.
 *   shared inboxes  group members fetch the same epoch inboxes. A candidate scores the inboxes
 *                   both it and the target fetched (polling alone gives it away).
 *
 * Both rank candidates by score at each checkpoint, like the disclosure attack.
 */
import type { AttackTarget, TargetRanking } from "./disclosure-attack.js";
import type { Observation } from "./observation.js";

type Score = (target: string, candidate: string) => number;

function rankAt(
  observations: readonly Observation[],
  actors: readonly string[],
  targets: readonly AttackTarget[],
  update: (o: Observation) => void,
  score: Score,
): TargetRanking[] {
  const sorted = observations.filter((o) => o.inbox !== undefined).sort((a, b) => a.t - b.t);
  const results = targets.map((target) => ({
    actor: target.actor,
    ranks: target.checkpoints.map(() => NaN),
    top: target.checkpoints.map(() => false),
    candidates: actors.length - 1,
  }));
  const checkpoints = targets
    .flatMap((target, k) => target.checkpoints.map((t, slot) => ({ t, k, slot })))
    .sort((a, b) => a.t - b.t);
  let i = 0;
  for (const checkpoint of checkpoints) {
    while (i < sorted.length && sorted[i]!.t < checkpoint.t) update(sorted[i++]!);
    const target = targets[checkpoint.k]!;
    const others = actors.filter((a) => a !== target.actor);
    const scores = new Map(others.map((c) => [c, score(target.actor, c)]));
    let worst = 0;
    for (const p of target.partners) {
      const s = scores.get(p) ?? -Infinity;
      const rest = others.filter((c) => !target.partners.includes(c));
      const above = rest.filter((c) => scores.get(c)! > s).length;
      const tied = rest.filter((c) => scores.get(c)! === s).length;
      worst = Math.max(worst, 1 + above + tied / 2);
    }
    const lowest = Math.min(...target.partners.map((p) => scores.get(p) ?? -Infinity));
    const highestOther = Math.max(
      ...others.filter((c) => !target.partners.includes(c)).map((c) => scores.get(c)!),
    );
    results[checkpoint.k]!.ranks[checkpoint.slot] = worst;
    results[checkpoint.k]!.top[checkpoint.slot] = lowest > highestOther;
  }
  return results;
}

/** Deposits are labelled "deposit", fetches "fetch" or "fetch found" (see observer-views.ts). */
const isDeposit = (o: Observation) => o.label.startsWith("deposit");
const isFetch = (o: Observation) => o.label.startsWith("fetch");

/** Adds a fetch's inbox to the set of inboxes its actor has fetched. */
function noteFetch(fetched: Map<string, Set<string>>, o: Observation): void {
  const own = fetched.get(o.actor) ?? new Set<string>();
  own.add(o.inbox!);
  fetched.set(o.actor, own);
}

/**
 * @example const rankings = inboxJoin(relayView.observations, addresses, targets);
 */
export function inboxJoin(
  observations: readonly Observation[],
  actors: readonly string[],
  targets: readonly AttackTarget[],
): TargetRanking[] {
  const deposits = new Map<string, Map<string, number>>();
  const fetched = new Map<string, Set<string>>();
  return rankAt(
    observations,
    actors,
    targets,
    (o) => {
      if (isDeposit(o)) {
        const own = deposits.get(o.actor) ?? new Map<string, number>();
        own.set(o.inbox!, (own.get(o.inbox!) ?? 0) + 1);
        deposits.set(o.actor, own);
      } else if (isFetch(o)) {
        noteFetch(fetched, o);
      }
    },
    (target, candidate) => {
      let score = 0;
      for (const inbox of fetched.get(candidate) ?? []) {
        score += deposits.get(target)?.get(inbox) ?? 0;
      }
      return score;
    },
  );
}

/**
 * @example const rankings = sharedInboxes(relayView.observations, addresses, memberTargets);
 */
export function sharedInboxes(
  observations: readonly Observation[],
  actors: readonly string[],
  targets: readonly AttackTarget[],
): TargetRanking[] {
  const fetched = new Map<string, Set<string>>();
  return rankAt(
    observations,
    actors,
    targets,
    (o) => {
      if (isFetch(o)) noteFetch(fetched, o);
    },
    (target, candidate) => {
      const mine = fetched.get(target);
      let shared = 0;
      for (const inbox of fetched.get(candidate) ?? []) if (mine?.has(inbox)) shared++;
      return shared;
    },
  );
}
