/**
 * Runs the attacks on every observer's view of a run and sums up what they achieved, with the
 * cost of the run's shaping profile: requests and bytes per client per hour and the latency from
 * send to receive, in nominal time.
 */
import { ascending, percentile } from "../bench/common/percentile.js";
import { disclosureAttack, type AttackTarget, type TargetRanking } from "./disclosure-attack.js";
import type { GroupRun } from "./group-scenario.js";
import { inboxJoin, sharedInboxes } from "./inbox-attacks.js";
import { linkVolume, type LinkVolume } from "./link-volume.js";
import type { ObserverView } from "./observation.js";
import { observerViews } from "./observer-views.js";
import type { PairRun } from "./pair-scenario.js";
import type { RunRecords } from "./records.js";
import { atLeast, choose, meanRankP } from "./significance.js";
import type { SimTiming } from "./sim-timing.js";

export interface TargetOutcome {
  target: string;
  partners: string[];
  /**
   * Rank of the (worst-ranked) partner at each checkpoint: after each of the target's messages
   * (pairs), or before any post and after each post in the target's group (groups).
   */
  ranks: number[];
  top: boolean[];
  /** Messages (posts) after which the partners rank first and stay first; null: never. */
  linkedAfter: number | null;
  finalRank: number;
}

export interface ObserverOutcome {
  scenario: string;
  profile: string;
  observer: string;
  title: string;
  learnsLinks: boolean;
  attack: "disclosure" | "inbox join" | "shared inboxes";
  /** Every actor but the target. */
  candidates: number;
  /** The worst rank a partner can have (candidates that are not partners, plus one). */
  ranksOutOf: number;
  /** The mean final rank a random ranking would give. */
  chanceRank: number;
  /** "messages" for pairs (the target's), "posts" for groups (in the target's group). */
  unit: "messages" | "posts";
  targets: TargetOutcome[];
  linked: number;
  /** Median of linkedAfter over the targets linked. */
  medianToLink: number | null;
  finalRanks: number[];
  /** P(at least `linked` targets linked) if the ranking were random. */
  pLinked: number;
  /** P(final ranks this low) if the ranking were random (pairs only; 1 for groups). */
  pMeanRank: number;
  /** Groups: targets linked from polling alone, before anyone posted. */
  beforePosts?: number;
}

export interface CostOutcome {
  scenario: string;
  profile: string;
  clients: number;
  /** Per client per nominal hour, over the whole measured stretch. */
  requestsPerHour: number;
  bytesPerHour: number;
  /** Median send-to-receive time (nominal ms), and how many of the messages arrived. */
  medianLatencyMs: number;
  sent: number;
  delivered: number;
}

export interface ScenarioOutcome {
  scenario: string;
  profile: string;
  observers: ObserverOutcome[];
  cost: CostOutcome;
  link?: LinkVolume;
  errors: number;
  /** Wall-clock seconds the run took. */
  seconds: number;
}

const WINDOWS_NOMINAL_MS = [2500, 6000];
const RAPID_NOMINAL_MS = 150;

function settings(timing: SimTiming, records: RunRecords) {
  return {
    windowsMs: WINDOWS_NOMINAL_MS.map((w) => w * timing.scale),
    rapidMs: RAPID_NOMINAL_MS * timing.scale,
    from: records.idle.start,
  };
}

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Checkpoint i counts `offset + i` messages: after which one the partners rank first for good. */
function linkedAfter(top: readonly boolean[], offset: number): number | null {
  if (top.length === 0 || !top[top.length - 1]) return null;
  let i = top.length - 1;
  while (i > 0 && top[i - 1]) i--;
  return i + offset;
}

function outcome(
  base: Pick<
    ObserverOutcome,
    "scenario" | "profile" | "observer" | "title" | "learnsLinks" | "attack" | "unit"
  >,
  targets: readonly AttackTarget[],
  rankings: readonly TargetRanking[],
  offset: number,
  chance: (target: AttackTarget, candidates: number) => number,
): ObserverOutcome {
  const candidates = rankings[0]?.candidates ?? 0;
  const outcomes: TargetOutcome[] = rankings.map((r, i) => ({
    target: r.actor,
    partners: targets[i]!.partners,
    ranks: r.ranks,
    top: r.top,
    linkedAfter: linkedAfter(r.top, offset),
    finalRank: r.ranks[r.ranks.length - 1] ?? NaN,
  }));
  const linked = outcomes.filter((o) => o.linkedAfter !== null);
  const finalRanks = outcomes.map((o) => o.finalRank).filter(Number.isFinite);
  // With k partners among K candidates ranked at random, the lowest partner has on average
  // (K - k) k / (k + 1) others above it.
  const expected = (k: number) => 1 + ((candidates - k) * k) / (k + 1);
  return {
    ...base,
    candidates,
    ranksOutOf: candidates - Math.min(...targets.map((t) => t.partners.length)) + 1,
    chanceRank: targets.reduce((a, t) => a + expected(t.partners.length), 0) / targets.length,
    targets: outcomes,
    linked: linked.length,
    medianToLink: median(linked.map((o) => o.linkedAfter!)),
    finalRanks,
    pLinked: atLeast(
      linked.length,
      targets.map((t) => chance(t, candidates)),
    ),
    pMeanRank: base.unit === "messages" ? meanRankP(finalRanks, candidates) : 1,
  };
}

function costOf(
  scenario: string,
  profile: string,
  records: RunRecords,
  clients: number,
  timing: SimTiming,
): CostOutcome {
  const from = records.idle.start;
  const to = records.busy.end;
  const links = records.clientLinks.filter((l) => l.start >= from && l.start < to);
  const hours = (to - from) / timing.scale / 3_600_000;
  const latencies: number[] = [];
  let delivered = 0;
  let sent = 0;
  for (const m of records.messages) {
    if (m.depositedAt === undefined) continue;
    sent++;
    const times = Object.values(m.receivedAt);
    if (times.length > 0) delivered++;
    for (const t of times) latencies.push((t - m.sentAt) / timing.scale);
  }
  return {
    scenario,
    profile,
    clients,
    requestsPerHour: links.length / clients / hours,
    bytesPerHour: links.reduce((a, l) => a + l.up + l.down, 0) / clients / hours,
    medianLatencyMs: percentile(ascending(latencies), 0.5),
    sent,
    delivered,
  };
}

/**
 * @example const result = analysePairRun(run, "off", timing, seconds);
 */
export function analysePairRun(
  run: PairRun,
  profile: string,
  timing: SimTiming,
  seconds: number,
): ScenarioOutcome {
  const { cast, records, scenario } = run;
  const clients = [...cast.pairs.flat(), ...cast.background];
  const views = observerViews(records, clients, scenario === "two-hop");
  const wait = Math.max(...WINDOWS_NOMINAL_MS) * timing.scale;
  const observers: ObserverOutcome[] = [];
  for (const view of views) {
    const asActor = (address: string) =>
      view.actors === "inbox" ? cast.inboxOf[address]! : address;
    const actors =
      view.actors === "inbox"
        ? [...new Set([...clients.map(asActor), ...view.observations.map((o) => o.actor)])]
        : clients;
    const targets: AttackTarget[] = cast.pairs.map(([a, b]) => ({
      actor: asActor(a),
      partners: [asActor(b)],
      checkpoints: records.messages
        .filter((m) => m.from === a && m.depositedAt !== undefined)
        .map((m) => m.depositedAt! + wait)
        .sort((x, y) => x - y),
    }));
    const base = {
      scenario,
      profile,
      observer: view.id,
      title: view.title,
      learnsLinks: view.learnsLinks,
      unit: "messages" as const,
    };
    const uniformChance = (_: AttackTarget, candidates: number) => 1 / candidates;
    observers.push(
      outcome(
        { ...base, attack: "disclosure" },
        targets,
        // The inbox relay can tell sink inboxes (loop deposits only, read by their one owner)
        // from personal ones; it is granted that, and ranks only personal inboxes, so chance
        // is the same 1 in (clients - 1) as for the other observers.
        disclosureAttack(
          view.observations,
          actors,
          targets,
          settings(timing, records),
          clients.map(asActor),
        ),
        1,
        uniformChance,
      ),
    );
    if (view.id === "relay") {
      observers.push(
        outcome(
          { ...base, attack: "inbox join" },
          targets,
          inboxJoin(view.observations, actors, targets),
          1,
          uniformChance,
        ),
      );
    }
  }
  return {
    scenario,
    profile,
    observers,
    cost: costOf(scenario, profile, records, clients.length, timing),
    ...(scenario === "two-hop" ? { link: linkVolume(records, timing.roundMs) } : {}),
    errors: records.errors,
    seconds,
  };
}

/**
 * @example const result = analyseGroupRun(run, "off", timing, seconds);
 */
export function analyseGroupRun(
  run: GroupRun,
  profile: string,
  timing: SimTiming,
  seconds: number,
): ScenarioOutcome {
  const { cast, records } = run;
  const clients = Object.values(cast.groups).flat();
  const groupOf = new Map(
    Object.entries(cast.groups).flatMap(([g, ms]) => ms.map((m) => [m, g] as const)),
  );
  const views: ObserverView[] = observerViews(records, clients, false);
  const wait = Math.max(...WINDOWS_NOMINAL_MS) * timing.scale;
  const targets: AttackTarget[] = clients.map((member) => {
    const group = groupOf.get(member)!;
    const posts = records.messages
      .filter((m) => m.to === group && m.depositedAt !== undefined)
      .map((m) => m.depositedAt! + wait)
      .sort((x, y) => x - y);
    return {
      actor: member,
      partners: cast.groups[group]!.filter((m) => m !== member),
      checkpoints: [records.idle.end, ...posts],
    };
  });
  const chance = (t: AttackTarget, candidates: number) => 1 / choose(candidates, t.partners.length);
  const observers: ObserverOutcome[] = [];
  for (const view of views) {
    const base = {
      scenario: "groups",
      profile,
      observer: view.id,
      title: view.title,
      learnsLinks: view.learnsLinks,
      unit: "posts" as const,
    };
    const rankings: [ObserverOutcome["attack"], TargetRanking[]][] = [
      [
        "disclosure",
        disclosureAttack(view.observations, clients, targets, settings(timing, records)),
      ],
    ];
    if (view.id === "relay")
      rankings.push(["shared inboxes", sharedInboxes(view.observations, clients, targets)]);
    for (const [attack, ranking] of rankings) {
      const result = outcome({ ...base, attack }, targets, ranking, 0, chance);
      result.beforePosts = ranking.filter((r) => r.top[0]).length;
      observers.push(result);
    }
  }
  return {
    scenario: "groups",
    profile,
    observers,
    cost: costOf("groups", profile, records, clients.length, timing),
    errors: records.errors,
    seconds,
  };
}
