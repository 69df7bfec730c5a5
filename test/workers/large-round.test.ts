/**
 * A round of several pages on Workers, closed by the round object's own alarm (the relay's
 * RoundCloser on the object's SQLite pool, default page of 1,000 entries): delivered whole, each
 * entry once, and nothing left pending. With VITE_SHROUD_BENCH_ROUND=N (N entries, not 3,500)
 * it doubles as the Workers round-close benchmark and prints the close time.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import { roundName } from "../../src/adapters/workers/object-names.js";
import type { RoundObject } from "../../src/adapters/workers/objects/round-object.js";
import { workerConfig } from "../../src/adapters/workers/worker-config.js";
import { workersPorts } from "../../src/adapters/workers/ports/workers-ports.js";
import { randomBytes, toHex } from "../../src/protocol/bytes.js";
import { dayOf } from "../../src/relay/ports/clock.js";
import { DEFAULT_PAGE_LIMIT } from "../../src/relay/ports/round-pool.js";

/** Vite hands VITE_* variables of the vitest process to the code inside workerd. */
const viteEnv = (import.meta as { env?: Record<string, string | undefined> }).env ?? {};
const ENTRIES = Number(viteEnv["VITE_SHROUD_BENCH_ROUND"] ?? 3_500);
const PER_INBOX = 500;
const ITEM_BYTES = 64;
/** Adds per call into the object: one call's work stays small. */
const ADD_BATCH = 2_000;

it("closes a round of several pages whole, each entry once, in the alarm", async () => {
  expect(ENTRIES).toBeGreaterThan(3 * DEFAULT_PAGE_LIMIT.entries);
  const instance = `large-${toHex(randomBytes(8))}`;
  const ports = workersPorts(env, { instance, masterKey: workerConfig(env).masterKey });
  const round = env.ROUNDS.get(env.ROUNDS.idFromName(roundName(instance)));
  const day = dayOf(Date.now()) + 7;
  const inboxes = Array.from({ length: Math.ceil(ENTRIES / PER_INBOX) }, () => randomBytes(32));
  for (const inbox of inboxes) await ports.inboxes.admit(inbox, randomBytes(16), day);

  const sent = new Map(inboxes.map((inbox) => [toHex(inbox), [] as string[]]));
  const quota = { stored: { items: 0, bytes: 0 }, maxItems: 10_000, maxBytes: 1 << 26 };
  for (let start = 0; start < ENTRIES; start += ADD_BATCH) {
    const batch = Array.from({ length: Math.min(ADD_BATCH, ENTRIES - start) }, (_, k) => ({
      inboxId: inboxes[(start + k) % inboxes.length]!,
      messageId: randomBytes(16),
      item: randomBytes(ITEM_BYTES),
    }));
    for (const entry of batch) sent.get(toHex(entry.inboxId))!.push(toHex(entry.item));
    const results = await runInDurableObject<RoundObject, string[]>(round, (object) =>
      batch.map((entry) => object.add(entry, quota)),
    );
    expect(new Set(results)).toEqual(new Set(["added"]));
  }

  await round.start(instance, 60_000);
  const started = Date.now();
  expect(await runDurableObjectAlarm(round)).toBe(true);
  const closeMs = Date.now() - started;
  console.log(`workers: a round of ${ENTRIES} entries closed in ${closeMs} ms (alarm, workerd)`);

  const left = await runInDurableObject<RoundObject, [string[], number]>(round, (object) => [
    object.unreleased(),
    object.pending(),
  ]);
  expect(left).toEqual([[], 0]);
  for (const inbox of inboxes) {
    const page = await ports.inboxes.fetch(inbox, 0, 2 * PER_INBOX);
    expect(page?.more).toBe(false);
    const items = page!.items;
    expect(items.map((i) => i.seq)).toEqual(items.map((_, k) => k + 1));
    expect(items.map((i) => toHex(i.item)).sort()).toEqual(sent.get(toHex(inbox))!.sort());
  }
  await round.stop();
}, 600_000);
