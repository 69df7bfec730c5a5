/**
 * The platform's own dead-letter path: a batch whose relay has no delivery running is retried
 * by the queue until its `max_retries` run out (5 in the test config), lands in the dead-letter
 * queue, and the Worker's consumer of that queue makes it a dead letter of its relay, where the
 * operator can replay or drop it.
 */
import { env, SELF } from "cloudflare:test";
import { expect, it } from "vitest";
import { federationName } from "../../src/adapters/workers/object-names.js";
import { WorkersFederationQueue } from "../../src/adapters/workers/ports/workers-federation-queue.js";
import { randomBytes, toHex } from "../../src/protocol/bytes.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it("moves a batch the platform gave up on into the relay's dead letters", async () => {
  // The Worker's own relay is opened first, as in production, so the consumer runs its code.
  expect((await SELF.fetch("http://127.0.0.1:8788/healthz")).status).toBe(200);
  const name = `dlq-${toHex(randomBytes(8))}`;
  const queue = new WorkersFederationQueue(
    () => env.FEDERATION.get(env.FEDERATION.idFromName(federationName(name))),
    env.FEDERATION_QUEUE,
    name,
  );
  await queue.hold("https://peer.example", randomBytes(64));
  const claim = await queue.claim("https://peer.example", 16);
  const batch = randomBytes(300);
  await queue.send(claim, batch);

  const deadline = Date.now() + 20_000;
  while ((await queue.deadLetters()).length === 0 && Date.now() < deadline) await sleep(100);
  const dead = await queue.deadLetters();
  expect(dead.map((d) => [d.id, d.peer, toHex(d.batch)])).toEqual([
    [claim.id, "https://peer.example", toHex(batch)],
  ]);
  expect(dead[0]!.attempts).toBeGreaterThanOrEqual(1);
  // Nothing is left waiting for delivery, and the operator can drop it.
  expect(await queue.unsent()).toEqual([]);
  expect(await queue.drop(claim.id)).toBe(true);
  expect(await queue.deadLetters()).toEqual([]);
}, 30_000);
