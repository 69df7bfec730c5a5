/** How far an attack's outcome is from what ranking at random would give. */

/**
 * P(at least `k` successes) for independent trials with success chances `p` (Poisson-binomial).
 *
 * @example atLeast(8, Array(8).fill(1 / 23)) // 1.3e-11: eight partners ranked first by chance
 */
export function atLeast(k: number, p: readonly number[]): number {
  let dist = [1];
  for (const q of p) {
    const next = new Array<number>(dist.length + 1).fill(0);
    for (const [i, v] of dist.entries()) {
      next[i]! += v * (1 - q);
      next[i + 1]! += v * q;
    }
    dist = next;
  }
  return Math.min(
    1,
    dist.slice(Math.max(0, k)).reduce((a, b) => a + b, 0),
  );
}

/**
 * The standard normal's lower tail, P(Z <= z) (Abramowitz and Stegun 7.1.26 on erfc).
 *
 * @example normalBelow(-1.645) // about 0.05
 */
export function normalBelow(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erfc =
    t *
    (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) *
    Math.exp(-x * x);
  return z >= 0 ? 1 - erfc / 2 : erfc / 2;
}

/**
 * One-sided p-value that partners rank better (lower) than uniformly at random among
 * `candidates`, from their mean rank (normal approximation to the mean of uniform ranks).
 *
 * @example meanRankP([1, 1, 2], 23) // tiny; meanRankP([12, 11, 13], 23) // about 0.5
 */
export function meanRankP(ranks: readonly number[], candidates: number): number {
  if (ranks.length === 0) return 1;
  const mean = ranks.reduce((a, b) => a + b, 0) / ranks.length;
  const expected = (candidates + 1) / 2;
  const variance = (candidates * candidates - 1) / 12 / ranks.length;
  return normalBelow((mean - expected) / Math.sqrt(variance));
}

/**
 * Binomial coefficient (small arguments).
 *
 * @example choose(16, 3) // 560: ways to pick a 4-member group's other members among 16 clients
 */
export function choose(n: number, k: number): number {
  let out = 1;
  for (let i = 1; i <= k; i++) out = (out * (n - k + i)) / i;
  return out;
}
