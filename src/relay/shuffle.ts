/** Uniform random integer in [0, bound) from the platform CSPRNG, without modulo bias. */
export function randomBelow(bound: number): number {
  if (!Number.isInteger(bound) || bound < 1 || bound > 0x100000000) {
    throw new RangeError("bound out of range");
  }
  const limit = 0x100000000 - (0x100000000 % bound);
  const word = new Uint32Array(1);
  for (;;) {
    crypto.getRandomValues(word);
    if (word[0]! < limit) return word[0]! % bound;
  }
}

/**
 * Fisher-Yates shuffle in place with a cryptographic RNG, so the order in which a round is
 * appended says nothing about the order in which deposits arrived.
 *
 * @example secureShuffle(entries);
 */
export function secureShuffle<T>(items: T[]): T[] {
  // One draw of random words for the whole shuffle; a word that would bias its step (rejection
  // sampling) is replaced by a fresh one from randomBelow.
  const words = new Uint32Array(Math.max(0, items.length - 1));
  for (let offset = 0; offset < words.length; offset += 16384) {
    crypto.getRandomValues(words.subarray(offset, Math.min(words.length, offset + 16384)));
  }
  for (let i = items.length - 1; i > 0; i--) {
    const bound = i + 1;
    const word = words[i - 1]!;
    const limit = 0x100000000 - (0x100000000 % bound);
    const j = word < limit ? word % bound : randomBelow(bound);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
