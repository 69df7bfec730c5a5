/**
 * Turning the demo into text: a relay's operator events summarised in a few lines, and a step
 * laid out as columns (what happened | what A's operator saw | what B's operator saw), or one
 * after the other when the terminal is too narrow for columns.
 */
import type { OperatorEvent } from "./operator-recorder.js";

/** Hex digits of an inbox id shown; enough to tell the demo's inboxes apart. */
export const SHORT_ID = 6;

export function shortId(hex: string): string {
  return hex.slice(0, SHORT_ID);
}

const KIB = 1024;

/** 1024 -> "1K", 67_890 -> "66.3K", 4101 -> "4101 B" (close to a bucket: exact). */
export function size(bytes: number): string {
  if (bytes < 10 * KIB && bytes % KIB !== 0) return `${bytes} B`;
  const k = bytes / KIB;
  return Number.isInteger(k) ? `${k}K` : `${k.toFixed(1)}K`;
}

/** "1K×3 16K×9": how many of each size, smallest first. */
function sizeCounts(sizes: readonly number[]): string {
  const counts = new Map<number, number>();
  for (const s of sizes) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts.entries()]
    .sort(([x], [y]) => x - y)
    .map(([s, n]) => (n === 1 ? size(s) : `${size(s)}×${n}`))
    .join(" ");
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

function listed(counts: Map<string, number>, suffix = "×"): string {
  return [...counts.entries()].map(([k, n]) => (n === 1 ? k : `${k}${suffix}${n}`)).join(" ");
}

/**
 * What one relay's operator saw in a stretch of events, in a few short lines. `peers` names
 * peer origins ("B"); inbox ids are shown by their first hex digits.
 *
 * @example operatorLines(recorder.since(mark), new Map([[b.url, "B"]]))
 */
export function operatorLines(
  events: readonly OperatorEvent[],
  peers: ReadonlyMap<string, string>,
): string[] {
  const lines: string[] = [];
  const peer = (origin: string) => peers.get(origin) ?? "a peer";
  const of = <K extends OperatorEvent["kind"]>(kind: K) =>
    events.filter((e): e is Extract<OperatorEvent, { kind: K }> => e.kind === kind);

  const httpIn = of("http-in");
  const relayPosts = httpIn.filter((e) => e.path === "/v1/relay" && e.method === "POST");
  if (relayPosts.length > 0) {
    const bodies = sizeCounts(relayPosts.map((e) => e.bytes));
    const answers = sizeCounts(relayPosts.map((e) => e.answerBytes));
    lines.push(`POST /v1/relay ×${relayPosts.length}: ${bodies}`);
    lines.push(answers === bodies ? "  answers: the same sizes" : `  answers: ${answers}`);
  }
  const batchPosts = httpIn.filter((e) => e.path === "/v1/federation");
  if (batchPosts.length > 0) {
    lines.push(`batches in ×${batchPosts.length}: ${sizeCounts(batchPosts.map((e) => e.bytes))}`);
  }
  const gets = httpIn.filter((e) => e.method === "GET");
  for (const [path, n] of countBy(gets, (e) => e.path)) lines.push(`GET ${path} ×${n}`);
  // A browser asks before its first POST to a relay (the web demo); answered 204, no body.
  const preflights = httpIn.filter((e) => e.method === "OPTIONS");
  for (const [path, n] of countBy(preflights, (e) => e.path)) {
    lines.push(`OPTIONS ${path} ×${n} (CORS preflights)`);
  }
  const failed = httpIn.filter((e) => e.status < 200 || e.status >= 300);
  if (failed.length > 0)
    lines.push(`HTTP errors: ${listed(countBy(failed, (e) => String(e.status)))}`);

  const opened = of("opened");
  if (opened.length > 0) {
    const kinds = new Map<string, Map<string, number>>();
    for (const e of opened) {
      const statuses = kinds.get(e.request) ?? new Map<string, number>();
      statuses.set(e.status, (statuses.get(e.status) ?? 0) + e.count);
      kinds.set(e.request, statuses);
    }
    const parts = [...kinds.entries()].map(([kind, statuses]) => {
      const total = [...statuses.values()].reduce((x, y) => x + y, 0);
      const unusual = [...statuses.entries()].filter(([s]) => s !== "ok" && s !== "accepted");
      const note =
        unusual.length > 0 ? ` (${unusual.map(([s, n]) => `${n} ${s}`).join(", ")})` : "";
      return `${kind.replace(/_/g, "-")} ${total}${note}`;
    });
    lines.push(`opened: ${parts.join(", ")}`);
  }

  const created = of("inbox-created");
  if (created.length > 0)
    lines.push(`new inbox: ${created.map((e) => shortId(e.inbox)).join(" ")}`);
  for (const round of of("round")) {
    const perInbox = [...countBy(round.items, (i) => shortId(i.inbox))]
      .map(([id, n]) => `${id}+${n}`)
      .join(" ");
    lines.push(
      `round ${round.round}: ${perInbox} (${sizeCounts(round.items.map((i) => i.bytes))})`,
    );
  }
  const fetched = of("fetched");
  if (fetched.length > 0) {
    lines.push(`fetched: ${listed(countBy(fetched, (e) => shortId(e.inbox)))}`);
  }
  for (const e of of("acked")) lines.push(`acked ${shortId(e.inbox)}: ${e.removed} deleted`);

  const held = of("held");
  for (const [to, n] of countBy(held, (e) => peer(e.peer))) {
    const sizes = sizeCounts(held.filter((e) => peer(e.peer) === to).map((e) => e.bytes));
    lines.push(`held for ${to}: ${n} (slots ${sizes})`);
  }
  const built = of("batch-built");
  for (const [to, n] of countBy(built, (e) => peer(e.peer))) {
    const mine = built.filter((e) => peer(e.peer) === to);
    const real = mine.reduce((sum, e) => sum + e.real, 0);
    lines.push(`batches to ${to} ×${n}: ${sizeCounts(mine.map((e) => e.bytes))}`);
    lines.push(`  ${real} real slot${real === 1 ? "" : "s"} among cover`);
  }
  const out = of("http-out");
  for (const what of ["proxy", "descriptor", "other"] as const) {
    const mine = out.filter((e) => e.what === what);
    for (const [to, n] of countBy(mine, (e) => peer(e.peer))) {
      const sizes = sizeCounts(mine.filter((e) => peer(e.peer) === to).map((e) => e.bytes));
      const label = what === "proxy" ? `proxied to ${to}` : `${what} requests to ${to}`;
      lines.push(what === "proxy" ? `${label} ×${n}: ${sizes}` : `${label} ×${n}`);
    }
  }
  const failures = out.filter((e) => e.status !== 200);
  if (failures.length > 0) lines.push(`outbound failures: ${failures.length}`);
  for (const e of of("log")) lines.push(`log: ${e.message}`);
  return lines.length > 0 ? lines : ["(nothing)"];
}

/**
 * Breaks a line into pieces of at most `width`, at spaces where it can, indenting the rest.
 *
 * @example wrap("one two three", 8) // ["one two", "  three"]
 */
export function wrap(text: string, width: number): string[] {
  const indent = /^ */.exec(text)![0] + "  ";
  const out: string[] = [];
  let rest = text;
  while (rest.length > width) {
    let cut = rest.lastIndexOf(" ", width);
    if (cut <= indent.length) cut = width;
    out.push(rest.slice(0, cut).trimEnd());
    rest = indent + rest.slice(cut).trimStart();
  }
  out.push(rest);
  return out;
}

/**
 * Columns side by side, each wrapped to its width, separated by " │ ".
 *
 * @example columns([["left"], ["right"]], [6, 6]) // ["left   │ right"]
 */
export function columns(
  cells: readonly (readonly string[])[],
  widths: readonly number[],
): string[] {
  const wrapped = cells.map((lines, i) => lines.flatMap((l) => wrap(l, widths[i]!)));
  const height = Math.max(...wrapped.map((c) => c.length));
  const rows: string[] = [];
  for (let r = 0; r < height; r++) {
    rows.push(
      wrapped
        .map((c, i) => (c[r] ?? "").padEnd(widths[i]!))
        .join(" │ ")
        .trimEnd(),
    );
  }
  return rows;
}

/** Width at which the three columns fit; narrower output is laid out one part after another. */
export const COLUMNS_WIDTH = 120;

/**
 * One step: a title rule, then the transcript and both operators' views side by side (or, on a
 * narrow terminal, one after the other).
 *
 * @example renderStep("1. setup", ["started"], { A: ["(nothing)"], B: ["(nothing)"] }, 120)
 */
export function renderStep(
  title: string,
  transcript: readonly string[],
  operators: { A: readonly string[]; B: readonly string[] },
  width: number,
): string[] {
  const rule = `── ${title} `.padEnd(Math.min(width, COLUMNS_WIDTH), "─");
  if (width < COLUMNS_WIDTH) {
    return [
      "",
      rule,
      ...transcript.flatMap((l) => wrap(l, width)),
      "  relay A's operator saw:",
      ...operators.A.flatMap((l) => wrap(`    ${l}`, width)),
      "  relay B's operator saw:",
      ...operators.B.flatMap((l) => wrap(`    ${l}`, width)),
    ];
  }
  const third = Math.floor((width - 6) / 3);
  const widths = [width - 6 - 2 * (third - 4), third - 4, third - 4];
  return [
    "",
    rule,
    ...columns(
      [
        ["what happened", ...transcript],
        ["relay A's operator saw", ...operators.A],
        ["relay B's operator saw", ...operators.B],
      ],
      widths,
    ),
  ];
}
