/** Plain-text and Markdown tables with padded, aligned columns. */

export type Align = "left" | "right";

/**
 * @example console.log(textTable(["what", "ops/s"], [["open", "1,234"]], ["left", "right"]));
 */
export function textTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Align[],
): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, c) =>
        align[c] === "right" ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!),
      )
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(header), rule, ...rows.map(line)].join("\n");
}

/**
 * The same as a Markdown (GitHub) table: readable as printed, and pasted into docs as is.
 *
 * @example console.log(markdownTable(["node", "share"], [["a:1", "50 %"]], ["left", "right"]));
 */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Align[],
): string {
  const widths = header.map((h, c) =>
    Math.max(3, h.length, ...rows.map((r) => (r[c] ?? "").length)),
  );
  const line = (cells: readonly string[]) =>
    `| ${widths
      .map((w, c) =>
        align[c] === "right" ? (cells[c] ?? "").padStart(w) : (cells[c] ?? "").padEnd(w),
      )
      .join(" | ")} |`;
  const rule = `|${widths
    .map((w, c) => (align[c] === "right" ? `${"-".repeat(w + 1)}:` : `:${"-".repeat(w + 1)}`))
    .join("|")}|`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}

/** 12345.6 -> "12,346"; fixed decimals when given. */
export function formatNumber(value: number, decimals = 0): string {
  if (!Number.isFinite(value)) return "-";
  return value.toLocaleString("en-US", {
    minimumFractionDigits: decimals,
    maximumFractionDigits: decimals,
  });
}
