import { describe, expect, it } from "vitest";
import { memoryPorts } from "../../src/adapters/memory/memory-ports.js";
import { randomBytes, toHex } from "../../src/protocol/bytes.js";
import { dayOf } from "../../src/relay/ports/clock.js";
import { RoundCloser } from "../../src/relay/round-closer.js";

const DAY = dayOf(Date.now());
const quota = { stored: { items: 0, bytes: 0 }, maxItems: 1000, maxBytes: 1 << 24 };

describe("RoundCloser", () => {
  it("delivers a deposit that arrives while a running close is already appending", async () => {
    const ports = memoryPorts();
    const closer = new RoundCloser(ports.pool, ports.inboxes, ports.clock, ports.metrics, 7);
    const inbox = randomBytes(32);
    await ports.inboxes.admit(inbox, randomBytes(16), DAY + 7);
    let late: Promise<void> | undefined;
    const append = ports.inboxes.appendRound.bind(ports.inboxes);
    ports.inboxes.appendRound = async (entries, expiresDay) => {
      if (!late) {
        // The running close has taken its round; this deposit belongs to the next one.
        await ports.pool.add(
          { inboxId: inbox, messageId: randomBytes(16), item: randomBytes(64) },
          quota,
        );
        late = closer.close();
      }
      return append(entries, expiresDay);
    };
    await ports.pool.add(
      { inboxId: inbox, messageId: randomBytes(16), item: randomBytes(64) },
      quota,
    );
    await closer.close();
    await late;
    expect((await ports.inboxes.fetch(inbox, 0, 10))!.items).toHaveLength(2);
    expect(await ports.pool.unreleased()).toEqual([]);
  });

  it("counts only rounds that had deposits as closed", async () => {
    const ports = memoryPorts();
    const closer = new RoundCloser(ports.pool, ports.inboxes, ports.clock, ports.metrics, 7);
    const inbox = randomBytes(32);
    await ports.inboxes.admit(inbox, randomBytes(16), DAY + 7);
    const first = closer.close();
    await ports.pool.add(
      { inboxId: inbox, messageId: randomBytes(16), item: randomBytes(64) },
      quota,
    );
    await closer.close();
    await first;
    expect((await ports.inboxes.fetch(inbox, 0, 10))!.items).toHaveLength(1);
    expect(ports.metrics.counter("shroud_rounds_closed_total")).toBe(1);
  });

  it("counts a round two closers deliver at once (two processes stopping) once", async () => {
    const ports = memoryPorts();
    const closers = [1, 2].map(
      () => new RoundCloser(ports.pool, ports.inboxes, ports.clock, ports.metrics, 7),
    );
    const inbox = randomBytes(32);
    await ports.inboxes.admit(inbox, randomBytes(16), DAY + 7);
    for (let n = 0; n < 3; n++) {
      await ports.pool.add(
        { inboxId: inbox, messageId: randomBytes(16), item: randomBytes(64) },
        quota,
      );
    }
    // Both find the round closed and unreleased, and both append it before either releases.
    const roundId = (await ports.pool.close())!;
    const append = ports.inboxes.appendRound.bind(ports.inboxes);
    let arrived = 0;
    let bothIn: () => void = () => undefined;
    const together = new Promise<void>((resolve) => (bothIn = resolve));
    ports.inboxes.appendRound = async (entries, expiresDay) => {
      if (++arrived === 2) bothIn();
      await together;
      return append(entries, expiresDay);
    };
    expect(await ports.pool.unreleased()).toEqual([roundId]);
    await Promise.all(closers.map((closer) => closer.close()));
    expect((await ports.inboxes.fetch(inbox, 0, 10))!.items).toHaveLength(3);
    expect(ports.metrics.counter("shroud_items_delivered_total")).toBe(3);
    expect(ports.metrics.counter("shroud_rounds_closed_total")).toBe(1);
  });

  /** 95 pending entries over 5 admitted inboxes; items are distinct random bytes. */
  async function pendingRound(ports: ReturnType<typeof memoryPorts>) {
    const inboxes = Array.from({ length: 5 }, () => randomBytes(32));
    for (const inbox of inboxes) await ports.inboxes.admit(inbox, randomBytes(16), DAY + 7);
    const items: string[] = [];
    for (let n = 0; n < 95; n++) {
      const item = randomBytes(32);
      items.push(toHex(item));
      await ports.pool.add({ inboxId: inboxes[n % 5]!, messageId: randomBytes(16), item }, quota);
    }
    return { inboxes, items };
  }

  async function delivered(ports: ReturnType<typeof memoryPorts>, inboxes: Uint8Array[]) {
    const items: string[] = [];
    for (const inbox of inboxes) {
      const page = (await ports.inboxes.fetch(inbox, 0, 1000))!;
      expect(page.items.map((i) => i.seq)).toEqual(page.items.map((_, k) => k + 1));
      items.push(...page.items.map((i) => toHex(i.item)));
    }
    return items.sort();
  }

  it("appends a round a page at a time, never more than a page in one call", async () => {
    const ports = memoryPorts();
    const page = { entries: 10, bytes: 1 << 20 };
    const closer = new RoundCloser(ports.pool, ports.inboxes, ports.clock, ports.metrics, 7, page);
    const { inboxes, items } = await pendingRound(ports);
    const sizes: number[] = [];
    const append = ports.inboxes.appendRound.bind(ports.inboxes);
    ports.inboxes.appendRound = async (entries, expiresDay) => {
      sizes.push(entries.length);
      return append(entries, expiresDay);
    };
    await closer.close();
    expect(sizes).toEqual([10, 10, 10, 10, 10, 10, 10, 10, 10, 5]);
    expect(await delivered(ports, inboxes)).toEqual([...items].sort());
    expect(await ports.pool.unreleased()).toEqual([]);
    expect(ports.metrics.counter("shroud_rounds_closed_total")).toBe(1);
    expect(ports.metrics.counter("shroud_items_delivered_total")).toBe(95);
  });

  it("a close that fails on a page leaves the rest; the next close delivers each entry once", async () => {
    const ports = memoryPorts();
    const page = { entries: 10, bytes: 1 << 20 };
    const closer = new RoundCloser(ports.pool, ports.inboxes, ports.clock, ports.metrics, 7, page);
    const { inboxes, items } = await pendingRound(ports);
    const append = ports.inboxes.appendRound.bind(ports.inboxes);
    let calls = 0;
    ports.inboxes.appendRound = async (entries, expiresDay) => {
      // The fourth page is appended, then the closer fails before releasing it.
      if (++calls === 4) {
        await append(entries, expiresDay);
        throw new Error("simulated failure after appending page 4");
      }
      return append(entries, expiresDay);
    };
    await expect(closer.close()).rejects.toThrow("page 4");
    expect((await delivered(ports, inboxes)).length).toBe(40);
    expect(await ports.pool.unreleased()).toHaveLength(1);
    // Three pages were released: their bytes no longer count as pending.
    expect(ports.pool.pendingBytes).toBe((95 - 30) * 32);
    await closer.close();
    expect(await delivered(ports, inboxes)).toEqual([...items].sort());
    expect(await ports.pool.unreleased()).toEqual([]);
    expect(ports.pool.pendingBytes).toBe(0);
  });
});
