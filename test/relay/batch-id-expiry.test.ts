/**
 * Maintenance forgets received federation batch ids once they leave the dedup window, and asks
 * the replay set only for the days that left it since the last run (one round trip per day and
 * shard on Workers).
 */
import { expect, it, vi } from "vitest";
import { memoryPorts } from "../../src/adapters/memory/memory-ports.js";
import { utf8 } from "../../src/protocol/bytes.js";
import { MS_PER_DAY } from "../../src/relay/ports/clock.js";
import { relayConfig } from "../../src/relay/relay-config.js";
import { Relay } from "../../src/relay/relay.js";

it("forgets batch ids past batchIdDays, each day once", async () => {
  const day0 = 20_500;
  let now = day0 * MS_PER_DAY + 3_600_000;
  const ports = memoryPorts({ clock: { now: () => now } });
  const relay = await Relay.open(relayConfig({ origin: "http://127.0.0.1:1" }), ports);
  const record = utf8("https://peer.example 00112233445566778899aabbccddeeff");
  const tag = (day: number) => `batch-ids:${day}`;
  for (const day of [day0 - 60, day0 - 10, day0 - 7, day0 - 6, day0 - 4, day0]) {
    await ports.replay.add(tag(day), record);
  }
  const forget = vi.spyOn(ports.replay, "forget");

  await relay.maintain();
  const kept = async () => {
    const days: number[] = [];
    for (const day of [day0 - 60, day0 - 10, day0 - 7, day0 - 6, day0 - 4, day0]) {
      if (await ports.replay.has(tag(day), record)) days.push(day);
    }
    return days;
  };
  // The default window is 7 days: ids of day0 - 7 and earlier go.
  expect(await kept()).toEqual([day0 - 6, day0 - 4, day0]);
  const firstRun = forget.mock.calls.map(([t]) => t).filter((t) => t.startsWith("batch-ids:"));
  expect(firstRun).toHaveLength(61);

  forget.mockClear();
  await relay.maintain();
  expect(forget.mock.calls.filter(([t]) => t.startsWith("batch-ids:"))).toEqual([]);

  now += 3 * MS_PER_DAY;
  await relay.maintain();
  expect(forget.mock.calls.map(([t]) => t).filter((t) => t.startsWith("batch-ids:"))).toEqual([
    tag(day0 - 6),
    tag(day0 - 5),
    tag(day0 - 4),
  ]);
  expect(await kept()).toEqual([day0]);
});
