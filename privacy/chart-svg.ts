/**
 * An SVG chart of a run, hand-written (no chart library): one panel per scenario, observer and
 * attack, showing the median rank of the true partner over the targets (1 = top) against the
 * number of the target's messages (group posts), one line per shaping profile, and the rank a
 * random ranking would give on average (dashed).
 */
import type { ObserverOutcome, ScenarioOutcome } from "./analysis.js";

export interface ChartInput {
  outcomes: readonly ScenarioOutcome[];
}

const COLORS: Record<string, string> = { off: "#d62728", constant: "#1f77b4", poisson: "#2ca02c" };
const PANEL_W = 250;
const PANEL_H = 170;
const MARGIN = { left: 40, right: 12, top: 30, bottom: 30 };
const GAP = 14;

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Median over the targets of the partner's rank at each checkpoint (while half still have one). */
function medianRanks(outcome: ObserverOutcome): number[] {
  const longest = Math.max(0, ...outcome.targets.map((t) => t.ranks.length));
  const out: number[] = [];
  for (let i = 0; i < longest; i++) {
    const values = outcome.targets
      .map((t) => t.ranks[i])
      .filter((v): v is number => v !== undefined && Number.isFinite(v))
      .sort((a, b) => a - b);
    if (values.length * 2 < outcome.targets.length) break;
    const mid = values.length >> 1;
    out.push(values.length % 2 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2);
  }
  return out;
}

/**
 * @example writeFileSync("docs/privacy-chart.svg", renderChart(JSON.parse(readFileSync("run.json", "utf8"))));
 */
export function renderChart(input: ChartInput): string {
  const panels = new Map<string, ObserverOutcome[]>();
  const scenarios: string[] = [];
  for (const outcome of input.outcomes) {
    if (!scenarios.includes(outcome.scenario)) scenarios.push(outcome.scenario);
    for (const o of outcome.observers) {
      const key = `${o.scenario}\u0000${o.observer}\u0000${o.attack}`;
      panels.set(key, [...(panels.get(key) ?? []), o]);
    }
  }
  const rows = scenarios.map((s) => [...panels.keys()].filter((k) => k.startsWith(`${s}\u0000`)));
  const columns = Math.max(1, ...rows.map((r) => r.length));
  const cellW = MARGIN.left + PANEL_W + MARGIN.right + GAP;
  const cellH = MARGIN.top + PANEL_H + MARGIN.bottom + GAP;
  const width = columns * cellW + GAP;
  const legendH = 40;
  const height = legendH + rows.length * cellH + GAP;
  const profiles = [...new Set(input.outcomes.map((o) => o.profile))];
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${GAP}" y="18" font-size="13" font-weight="bold">Median rank of the true partner among all clients (1 = linked) against the target's messages</text>`,
  ];
  profiles.forEach((profile, i) => {
    const x = GAP + i * 150;
    parts.push(
      `<line x1="${x}" y1="31" x2="${x + 24}" y2="31" stroke="${COLORS[profile] ?? "#555"}" stroke-width="2"/>`,
      `<text x="${x + 30}" y="35">shaping ${escape(profile)}</text>`,
    );
  });
  const chanceX = GAP + profiles.length * 150;
  parts.push(
    `<line x1="${chanceX}" y1="31" x2="${chanceX + 24}" y2="31" stroke="#888" stroke-dasharray="4 3"/>`,
    `<text x="${chanceX + 30}" y="35">random ranking (mean)</text>`,
  );
  rows.forEach((keys, row) => {
    keys.forEach((key, column) => {
      const series = panels.get(key)!;
      const first = series[0]!;
      const ox = GAP + column * cellW + MARGIN.left;
      const oy = legendH + row * cellH + MARGIN.top;
      const lines = series.map((o) => ({ profile: o.profile, ranks: medianRanks(o) }));
      const maxX = Math.max(2, ...lines.map((l) => l.ranks.length));
      const maxRank = Math.max(2, ...series.map((o) => o.ranksOutOf));
      const firstX = first.unit === "posts" ? 0 : 1;
      const sx = (i: number) => ox + (i / Math.max(1, maxX - 1)) * PANEL_W;
      const sy = (rank: number) => oy + ((rank - 1) / (maxRank - 1)) * PANEL_H;
      const dark = first.learnsLinks ? "" : " (kept in the dark)";
      parts.push(
        `<text x="${ox}" y="${oy - 16}" font-weight="bold">${escape(first.scenario)}: ${escape(first.observer)}</text>`,
        `<text x="${ox}" y="${oy - 4}" fill="#555">${escape(first.attack)}${escape(dark)}</text>`,
        `<rect x="${ox}" y="${oy}" width="${PANEL_W}" height="${PANEL_H}" fill="none" stroke="#ccc"/>`,
      );
      for (const rank of [1, Math.round((maxRank + 1) / 2), maxRank]) {
        parts.push(
          `<text x="${ox - 4}" y="${sy(rank) + 4}" text-anchor="end" fill="#555">${rank}</text>`,
        );
      }
      const lastLabel = maxX - 1 + firstX;
      parts.push(
        `<text x="${ox}" y="${oy + PANEL_H + 14}" fill="#555">${firstX}</text>`,
        `<text x="${ox + PANEL_W}" y="${oy + PANEL_H + 14}" text-anchor="end" fill="#555">${lastLabel} ${first.unit}</text>`,
      );
      const chance = sy(first.chanceRank);
      parts.push(
        `<line x1="${ox}" y1="${chance}" x2="${ox + PANEL_W}" y2="${chance}" stroke="#888" stroke-dasharray="4 3"/>`,
      );
      for (const line of lines) {
        if (line.ranks.length === 0) continue;
        const points = line.ranks
          .map((r, i) => `${sx(i).toFixed(1)},${sy(r).toFixed(1)}`)
          .join(" ");
        parts.push(
          `<polyline points="${points}" fill="none" stroke="${COLORS[line.profile] ?? "#555"}" stroke-width="1.6"/>`,
        );
      }
    });
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
