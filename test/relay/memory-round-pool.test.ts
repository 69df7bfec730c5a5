import { describe, expect, it } from "vitest";
import { MemoryRoundPool } from "../../src/adapters/memory/memory-round-pool.js";
import { randomBytes } from "../../src/protocol/bytes.js";

const quota = { stored: { items: 0, bytes: 0 }, maxItems: 1000, maxBytes: 1 << 24 };
const entry = (size: number) => ({
  inboxId: randomBytes(32),
  messageId: randomBytes(16),
  item: randomBytes(size),
});

describe("MemoryRoundPool", () => {
  it("answers quota beyond maxPendingBytes, counting closed rounds until they are released", async () => {
    const pool = new MemoryRoundPool({ maxPendingBytes: 1000 });
    for (let n = 0; n < 3; n++) expect(await pool.add(entry(300), quota)).toBe("added");
    // Another inbox, well within its own quota: the cap is on all pending bytes together.
    expect(await pool.add(entry(101), quota)).toBe("quota");
    expect(await pool.add(entry(100), quota)).toBe("added");
    const round = (await pool.close())!;
    expect(await pool.add(entry(1), quota)).toBe("quota");
    const page = await pool.page(round, { entries: 2, bytes: 1 << 20 });
    expect(await pool.release(round, page)).toBe(false);
    expect(pool.pendingBytes).toBe(1000 - page.reduce((sum, e) => sum + e.item.length, 0));
    expect(await pool.add(entry(1000 - pool.pendingBytes), quota)).toBe("added");
    expect(await pool.add(entry(1), quota)).toBe("quota");
  });

  it("takes no cap by default and refuses a cap that is not a positive integer", async () => {
    const pool = new MemoryRoundPool();
    expect(await pool.add(entry(1 << 20), quota)).toBe("added");
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => new MemoryRoundPool({ maxPendingBytes: bad })).toThrow(RangeError);
    }
  });
});
