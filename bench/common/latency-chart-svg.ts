/**
 * An SVG chart of a load sweep, hand-written (no chart library): throughput on x, latency on y,
 * one line for p50 and one for p99, each point labelled with the requests in flight.
 */

/** One level of the sweep. */
export interface LoadLevel {
  /** Requests in flight (connections). */
  inFlight: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

const W = 640;
const H = 400;
const M = { left: 60, right: 20, top: 40, bottom: 50 };
const LINES = [
  { key: "p50Ms", label: "p50", color: "#1f77b4" },
  { key: "p99Ms", label: "p99", color: "#d62728" },
] as const;

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A round step for axis ticks near a fifth of `span`. */
function step(span: number): number {
  const raw = span / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? raw;
}

/**
 * @example writeFileSync("docs/bench-latency.svg", renderLatencyChart("deposits", levels));
 */
export function renderLatencyChart(title: string, levels: readonly LoadLevel[]): string {
  const xMax = Math.max(1, ...levels.map((l) => l.perSecond)) * 1.05;
  const yMax = Math.max(1, ...levels.map((l) => l.p99Ms)) * 1.1;
  const x = (v: number) => M.left + (v / xMax) * (W - M.left - M.right);
  const y = (v: number) => H - M.bottom - (v / yMax) * (H - M.top - M.bottom);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${escape(title)}</text>`,
  ];
  for (let v = 0, s = step(xMax); v <= xMax; v += s) {
    parts.push(
      `<line x1="${x(v)}" y1="${M.top}" x2="${x(v)}" y2="${H - M.bottom}" stroke="#eee"/>`,
      `<text x="${x(v)}" y="${H - M.bottom + 16}" text-anchor="middle">${Math.round(v)}</text>`,
    );
  }
  for (let v = 0, s = step(yMax); v <= yMax; v += s) {
    parts.push(
      `<line x1="${M.left}" y1="${y(v)}" x2="${W - M.right}" y2="${y(v)}" stroke="#eee"/>`,
      `<text x="${M.left - 6}" y="${y(v) + 4}" text-anchor="end">${Math.round(v)}</text>`,
    );
  }
  parts.push(
    `<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" stroke="black"/>`,
    `<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${H - M.bottom}" stroke="black"/>`,
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 12}" text-anchor="middle">deposits/s</text>`,
    `<text transform="translate(16 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">latency (ms)</text>`,
  );
  const sorted = [...levels].sort((a, b) => a.perSecond - b.perSecond);
  for (const [i, line] of LINES.entries()) {
    const points = sorted.map((l) => `${x(l.perSecond).toFixed(1)},${y(l[line.key]).toFixed(1)}`);
    parts.push(
      `<polyline fill="none" stroke="${line.color}" stroke-width="2" points="${points.join(" ")}"/>`,
      `<text x="${W - M.right - 60}" y="${M.top + 16 * i}" fill="${line.color}">${line.label}</text>`,
    );
    for (const l of sorted) {
      parts.push(
        `<circle cx="${x(l.perSecond).toFixed(1)}" cy="${y(l[line.key]).toFixed(1)}" r="3" fill="${line.color}"/>`,
      );
    }
  }
  for (const l of sorted) {
    parts.push(
      `<text x="${x(l.perSecond).toFixed(1)}" y="${(y(l.p99Ms) - 8).toFixed(1)}" text-anchor="middle" fill="#555">${l.inFlight}</text>`,
    );
  }
  parts.push(
    `<text x="${M.left + 6}" y="${M.top + 12}" fill="#555">labels: requests in flight</text>`,
    "</svg>",
  );
  return parts.join("\n") + "\n";
}
