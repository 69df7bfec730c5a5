/** Percentiles of measured values (nearest rank, no interpolation). */

/**
 * The value at rank floor(p * n) of an ascending array (NaN when empty), so p99 of fewer than
 * 100 values is the largest.
 *
 * @example percentile(Float64Array.from(latencies).sort(), 0.99)
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** The values in ascending order, as a new typed array. */
export function ascending(values: readonly number[]): Float64Array {
  return Float64Array.from(values).sort();
}

/** The middle value (the upper one of an even count); NaN for none. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}
