/**
 * Randomness for the simulation, drawn from the platform CSPRNG only (never Math.random), so a
 * run's timing cannot be replayed or steered from a seed; each run's draws are recorded in its
 * results instead.
 */

/**
 * A uniform draw from [0, 1) with 53 random bits.
 *
 * @example if (uniform() < 0.85) reply();
 */
export function uniform(): number {
  const words = crypto.getRandomValues(new Uint32Array(2));
  return (words[0]! * 2 ** 21 + (words[1]! >>> 11)) / 2 ** 53;
}

/**
 * An exponential draw with the given mean (the gaps of a Poisson process).
 *
 * @example const gapMs = exponential(2000);
 */
export function exponential(mean: number): number {
  return -mean * Math.log(1 - uniform());
}

/**
 * A uniform draw from [low, high).
 *
 * @example const readingMs = between(200, 700);
 */
export function between(low: number, high: number): number {
  return low + (high - low) * uniform();
}

/**
 * A uniformly shuffled copy (Fisher-Yates).
 *
 * @example const roles = shuffled(addresses);
 */
export function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(uniform() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
