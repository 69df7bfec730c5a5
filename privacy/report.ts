/** The tables `npm run privacy` prints. */
import { formatNumber, textTable } from "../bench/common/text-table.js";
import type { ScenarioOutcome } from "./analysis.js";

function p(value: number): string {
  if (value >= 0.01) return value.toFixed(2);
  return value.toExponential(0);
}

function ranks(values: readonly number[]): string {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => a[0] - b[0])
    .map(([rank, n]) =>
      n > 1 ? `${formatNumber(rank, rank % 1 ? 1 : 0)}x${n}` : formatNumber(rank, rank % 1 ? 1 : 0),
    )
    .join(" ");
}

/**
 * Who linked whom: one row per profile, observer and attack.
 *
 * @example console.log(attackTable(outcomes, "direct"));
 */
export function attackTable(outcomes: readonly ScenarioOutcome[], scenario: string): string {
  const rows: string[][] = [];
  for (const outcome of outcomes.filter((o) => o.scenario === scenario)) {
    for (const o of outcome.observers) {
      const of = o.targets.length;
      rows.push([
        o.profile,
        o.observer,
        o.learnsLinks ? "no" : "yes",
        o.attack,
        `${o.linked}/${of}`,
        o.medianToLink === null
          ? "never"
          : formatNumber(o.medianToLink, o.medianToLink % 1 ? 1 : 0),
        ...(o.unit === "posts" ? [`${o.beforePosts ?? 0}/${of}`] : []),
        ranks(o.finalRanks),
        `${o.ranksOutOf}`,
        p(o.pLinked),
        ...(o.unit === "messages" ? [p(o.pMeanRank)] : []),
      ]);
    }
  }
  const groups = scenario === "groups";
  const header = groups
    ? [
        "profile",
        "observer",
        "in the dark",
        "attack",
        "members linked",
        "posts to link",
        "before posts",
        "final worst-mate ranks",
        "of",
        "p",
      ]
    : [
        "profile",
        "observer",
        "in the dark",
        "attack",
        "pairs linked",
        "messages to link",
        "final partner ranks",
        "of",
        "p(linked)",
        "p(ranks)",
      ];
  return textTable(
    header,
    rows,
    header.map((_, i) => (i < 4 ? "left" : "right")),
  );
}

/**
 * What each profile costs.
 *
 * @example console.log(costTable(outcomes));
 */
export function costTable(outcomes: readonly ScenarioOutcome[]): string {
  const off = new Map(outcomes.filter((o) => o.profile === "off").map((o) => [o.scenario, o.cost]));
  const rows = outcomes.map(({ cost, errors, seconds }) => {
    const base = off.get(cost.scenario);
    const added =
      base && cost.profile !== "off" ? cost.medianLatencyMs - base.medianLatencyMs : NaN;
    return [
      cost.scenario,
      cost.profile,
      formatNumber(cost.requestsPerHour),
      formatNumber(cost.bytesPerHour / 1e6, 1),
      formatNumber(cost.medianLatencyMs / 1000, 2),
      Number.isFinite(added) ? formatNumber(added / 1000, 2) : "-",
      `${cost.delivered}/${cost.sent}`,
      formatNumber(errors),
      formatNumber(seconds),
    ];
  });
  const header = [
    "scenario",
    "profile",
    "requests/client/h",
    "MB/client/h",
    "median latency s",
    "added s",
    "delivered",
    "errors",
    "wall s",
  ];
  return textTable(
    header,
    rows,
    header.map((_, i) => (i < 2 ? "left" : "right")),
  );
}

/**
 * The link between relays, idle against busy.
 *
 * @example console.log(linkTable(outcomes.filter((o) => o.scenario === "two-hop")));
 */
export function linkTable(outcomes: readonly ScenarioOutcome[]): string {
  const rows = outcomes
    .filter((o) => o.link)
    .map(({ profile, link }) => [
      profile,
      formatNumber(link!.idle.batchesPerRound, 2),
      formatNumber(link!.busy.batchesPerRound, 2),
      formatNumber(link!.idle.batchBytesPerRound / 1024, 1),
      formatNumber(link!.busy.batchBytesPerRound / 1024, 1),
      formatNumber(link!.idle.proxiesPerRound, 1),
      formatNumber(link!.busy.proxiesPerRound, 1),
      formatNumber(link!.batchCorrelation, 2),
    ]);
  const header = [
    "profile",
    "batches/round idle",
    "busy",
    "KiB/round idle",
    "busy",
    "proxied/round idle",
    "busy",
    "r(batch bytes, messages)",
  ];
  return textTable(
    header,
    rows,
    header.map((_, i) => (i < 1 ? "left" : "right")),
  );
}
