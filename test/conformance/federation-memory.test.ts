import { describe, expect, it, vi } from "vitest";
import { MemoryFederationQueue } from "../../src/adapters/memory/memory-federation-queue.js";
import { retryDelay } from "../../src/relay/retry-delay.js";
import { describeFederationQueueConformance } from "./federation-conformance.js";

describeFederationQueueConformance("memory", async () => ({ queue: new MemoryFederationQueue() }));

describe("retryDelay", () => {
  const options = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 1000 };

  it("doubles from the base delay up to the cap, jittered into [0.5, 1.0] of it", () => {
    for (const [failed, nominal] of [
      [1, 100],
      [2, 200],
      [4, 800],
      [5, 1000],
      [30, 1000],
    ] as const) {
      const delays = Array.from({ length: 400 }, () => retryDelay(failed, options));
      expect(Math.min(...delays)).toBeGreaterThanOrEqual(nominal / 2);
      expect(Math.max(...delays)).toBeLessThanOrEqual(nominal);
      // Spread over the whole range, not stuck at one end.
      expect(Math.min(...delays)).toBeLessThan(nominal * 0.6);
      expect(Math.max(...delays)).toBeGreaterThan(nominal * 0.9);
    }
  });

  it("draws its jitter from the cryptographic RNG, never Math.random", () => {
    const random = vi.spyOn(Math, "random");
    const crypto = vi.spyOn(globalThis.crypto, "getRandomValues");
    try {
      retryDelay(3, options);
      expect(random).not.toHaveBeenCalled();
      expect(crypto).toHaveBeenCalled();
    } finally {
      random.mockRestore();
      crypto.mockRestore();
    }
  });
});
