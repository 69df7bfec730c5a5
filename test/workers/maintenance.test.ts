/**
 * The round object's alarm runs the relay's maintenance as well as its round close: an HPKE key
 * a day old is rotated (the old one kept for the overlap) and inboxes past their retention day
 * are deleted, found through the expiry index.
 */
import { env, runDurableObjectAlarm } from "cloudflare:test";
import { expect, it } from "vitest";
import { expiryName, roundName } from "../../src/adapters/workers/object-names.js";
import { workerConfig } from "../../src/adapters/workers/worker-config.js";
import { workersPorts } from "../../src/adapters/workers/ports/workers-ports.js";
import { randomBytes, toHex } from "../../src/protocol/bytes.js";
import { generateKeyRing } from "../../src/relay/key-ring.js";
import { dayOf } from "../../src/relay/ports/clock.js";

it("rotates a day-old key and expires old inboxes in the alarm", async () => {
  const instance = `maint-${toHex(randomBytes(8))}`;
  const config = workerConfig(env);
  const ports = workersPorts(env, { instance, masterKey: config.masterKey });
  const now = Date.now();
  const old = await generateKeyRing(now - 25 * 3600_000);
  await ports.keys.create(old);

  const today = dayOf(now);
  const stale = randomBytes(32);
  const fresh = randomBytes(32);
  for (const [inbox, day] of [
    [stale, today - 1],
    [fresh, today + 7],
  ] as const) {
    await ports.inboxes.admit(inbox, randomBytes(16), day);
    await ports.inboxes.appendRound(
      [{ inboxId: inbox, messageId: randomBytes(16), item: randomBytes(1024) }],
      day,
    );
  }
  const index = env.EXPIRY.get(env.EXPIRY.idFromName(expiryName(instance)));
  expect((await index.due(today + 8, 10)).sort()).toEqual([toHex(stale), toHex(fresh)].sort());

  const round = env.ROUNDS.get(env.ROUNDS.idFromName(roundName(instance)));
  await round.start(instance, 60_000);
  expect(await runDurableObjectAlarm(round)).toBe(true);

  const ring = await ports.keys.load();
  expect(ring!.hpke).toHaveLength(2);
  expect(toHex(ring!.signing.publicKey)).toBe(toHex(old.signing.publicKey));
  expect(ring!.hpke[0]!.retireAt).toBeGreaterThan(now);
  expect(ring!.hpke[1]!.createdAt).toBeGreaterThanOrEqual(now);

  expect(await ports.inboxes.fetch(stale, 0, 10)).toBeUndefined();
  expect((await ports.inboxes.fetch(fresh, 0, 10))?.items).toHaveLength(1);
  expect(await index.due(today + 8, 10)).toEqual([toHex(fresh)]);
  await round.stop();
});
