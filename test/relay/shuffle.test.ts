import { describe, expect, it } from "vitest";
import { randomBelow, secureShuffle } from "../../src/relay/shuffle.js";

describe("secureShuffle", () => {
  it("is a permutation", () => {
    const items = [...Array(1000).keys()];
    const shuffled = secureShuffle([...items]);
    expect([...shuffled].sort((a, b) => a - b)).toEqual(items);
    expect(shuffled).not.toEqual(items);
  });

  it("gives every order of three items about equally often", () => {
    const trials = 60_000;
    const counts = new Map<string, number>();
    for (let t = 0; t < trials; t++) {
      const key = secureShuffle(["a", "b", "c"]).join("");
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    // Each count is Binomial(60000, 1/6): mean 10000, sd ~91; 6 sd is a generous bound.
    for (const n of counts.values()) expect(Math.abs(n - trials / 6)).toBeLessThan(550);
  });

  it("puts each item in each position about equally often (larger lists)", () => {
    const size = 10;
    const trials = 20_000;
    const firstPosition = new Array<number>(size).fill(0);
    for (let t = 0; t < trials; t++) firstPosition[secureShuffle([...Array(size).keys()])[0]!]!++;
    // Binomial(20000, 0.1): mean 2000, sd ~42.
    for (const n of firstPosition) expect(Math.abs(n - trials / size)).toBeLessThan(260);
  });

  it("randomBelow stays in range and refuses bad bounds", () => {
    for (let i = 0; i < 1000; i++) expect(randomBelow(7)).toBeLessThan(7);
    expect(() => randomBelow(0)).toThrow(RangeError);
    expect(() => randomBelow(2 ** 33)).toThrow(RangeError);
  });
});
