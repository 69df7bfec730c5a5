import { describe, expect, it } from "vitest";
import { memoryPorts } from "../../src/adapters/memory/memory-ports.js";
import { randomBytes } from "../../src/protocol/bytes.js";
import { dayOf } from "../../src/relay/ports/clock.js";
import { RoundCloser } from "../../src/relay/round-closer.js";

const DAY = dayOf(Date.now());
const quota = { stored: { items: 0, bytes: 0 }, maxItems: 1000, maxBytes: 1 << 24 };

describe("RoundCloser", () => {
  it("delivers a deposit that arrives while a running close is already appending", async () => {
    const ports = memoryPorts();
    const closer = new RoundCloser(ports.pool, ports.inboxes, ports.clock, ports.metrics, 7);
    const inbox = randomBytes(32);
    await ports.inboxes.authorize(inbox, randomBytes(32), DAY + 7);
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
    await ports.inboxes.authorize(inbox, randomBytes(32), DAY + 7);
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
});
