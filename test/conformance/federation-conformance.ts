/**
 * The conformance suite every FederationQueue adapter must pass (memory and Redis now). Call
 * `describeFederationQueueConformance` from a test file with a factory for fresh, empty queues;
 * a durable backend also says how to open a second instance on the same storage (a restart).
 */
import { afterEach, describe, expect, it } from "vitest";
import { randomBytes, toHex } from "../../src/protocol/bytes.js";
import type {
  Deliver,
  DeliveryOptions,
  FederationQueue,
  OutboundClaim,
} from "../../src/relay/ports/federation-queue.js";

export interface FederationHarness {
  queue: FederationQueue;
  /** Another instance on the same storage, as a restarted process would open (durable only). */
  reopen?: () => Promise<FederationQueue>;
}

const A = "https://a.example";
const B = "https://b.example";
const QUICK: DeliveryOptions = { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("timed out waiting for a condition");
    await sleep(5);
  }
}

interface Attempt {
  peer: string;
  batch: string;
  at: number;
}

/** A peer link that records every attempt and fails while `fail` says so. */
function link(fail: (batch: string, attempt: number) => boolean = () => false) {
  const attempts: Attempt[] = [];
  const delivered: Attempt[] = [];
  const counts = new Map<string, number>();
  const state = { fail, hold: 0, running: 0, maxRunning: 0, maxPerBatch: 0 };
  const running = new Map<string, number>();
  const deliver: Deliver = async (peer, batch) => {
    const key = toHex(batch);
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    const attempt = { peer, batch: key, at: performance.now() };
    attempts.push(attempt);
    state.running += 1;
    running.set(key, (running.get(key) ?? 0) + 1);
    state.maxRunning = Math.max(state.maxRunning, state.running);
    state.maxPerBatch = Math.max(state.maxPerBatch, running.get(key)!);
    try {
      if (state.hold > 0) await sleep(state.hold);
      if (state.fail(key, n)) throw new Error("peer unavailable at 192.0.2.1");
      delivered.push(attempt);
    } finally {
      state.running -= 1;
      running.set(key, running.get(key)! - 1);
    }
  };
  return { deliver, attempts, delivered, state, of: (batch: Uint8Array) => toHex(batch) };
}

const hexes = (slots: Uint8Array[]) => slots.map(toHex).sort();

export function describeFederationQueueConformance(
  backend: string,
  make: () => Promise<FederationHarness>,
  options: {
    /** Whether a second instance sees the first one's state (`make` must give `reopen`). */
    durable?: boolean;
    /** How late a retry may fire beyond its nominal delay (default 50 ms). */
    lateMs?: number;
    /**
     * The unit a backend waits in, if coarser than a millisecond (Cloudflare Queues retry in
     * whole seconds): the two timing tests then use delays of whole units, and fewer of them.
     */
    delayUnitMs?: number;
  } = {},
): void {
  const late = options.lateMs ?? 50;
  const unit = options.delayUnitMs;
  const growing = unit ? { base: unit, failures: 3 } : { base: 50, failures: 4 };
  const capped = unit
    ? { base: unit, max: 2 * unit, attempts: 4 }
    : { base: 20, max: 40, attempts: 7 };
  let opened: FederationQueue[] = [];
  const open = async (): Promise<FederationHarness> => {
    const harness = await make();
    opened.push(harness.queue);
    const reopen = harness.reopen;
    return reopen
      ? {
          queue: harness.queue,
          reopen: async () => {
            const queue = await reopen();
            opened.push(queue);
            return queue;
          },
        }
      : { queue: harness.queue };
  };
  afterEach(async () => {
    await Promise.all(opened.map((queue) => queue.stopDelivery()));
    opened = [];
  });

  /** Holds `count` random slots for `peer`, returning them. */
  async function hold(queue: FederationQueue, peer: string, count: number, size = 48) {
    const slots = Array.from({ length: count }, () => randomBytes(size));
    for (const slot of slots) await queue.hold(peer, slot);
    return slots;
  }

  /** Claims whatever `peer` has held and sends it as a random batch. */
  async function sendOne(queue: FederationQueue, peer: string): Promise<[OutboundClaim, string]> {
    const claim = await queue.claim(peer, 100);
    const batch = randomBytes(200);
    await queue.send(claim, batch);
    return [claim, toHex(batch)];
  }

  describe(`${backend}: federation queue: holding and claiming`, () => {
    it("claims up to max slots per peer, each slot once", async () => {
      const { queue } = await open();
      const a = await hold(queue, A, 5);
      const b = await hold(queue, B, 2);
      const first = await queue.claim(A, 3);
      const second = await queue.claim(A, 3);
      const third = await queue.claim(A, 3);
      expect(first.id).toMatch(/^[0-9a-f]{32}$/);
      expect(first.peer).toBe(A);
      expect(first.slots).toHaveLength(3);
      expect(second.slots).toHaveLength(2);
      expect(third.slots).toEqual([]);
      expect(new Set([first.id, second.id, third.id]).size).toBe(3);
      expect(hexes([...first.slots, ...second.slots])).toEqual(hexes(a));
      const fromB = await queue.claim(B, 10);
      expect(hexes(fromB.slots)).toEqual(hexes(b));
    });

    it("never puts one slot in two concurrent claims", async () => {
      const { queue } = await open();
      const held = await hold(queue, A, 50, 16);
      const claims = await Promise.all(Array.from({ length: 10 }, () => queue.claim(A, 7)));
      const taken = claims.flatMap((c) => c.slots);
      expect(taken).toHaveLength(50);
      expect(hexes(taken)).toEqual(hexes(held));
      expect(claims.every((c) => c.slots.length <= 7)).toBe(true);
    });

    it("does not store an empty claim, and a claim of 0 takes nothing", async () => {
      const { queue } = await open();
      const empty = await queue.claim(A, 5);
      expect(empty.slots).toEqual([]);
      await hold(queue, A, 2);
      expect((await queue.claim(A, 0)).slots).toEqual([]);
      expect(await queue.unsent()).toEqual([]);
      expect(await queue.peersWithTraffic()).toEqual([A]);
    });

    it("keeps a copy of each held slot", async () => {
      const { queue } = await open();
      const slot = randomBytes(32);
      const original = toHex(slot);
      await queue.hold(A, slot);
      slot.fill(0);
      expect((await queue.claim(A, 1)).slots.map(toHex)).toEqual([original]);
    });

    it("names the peers with held slots", async () => {
      const { queue } = await open();
      expect(await queue.peersWithTraffic()).toEqual([]);
      await hold(queue, A, 2);
      await hold(queue, B, 1);
      expect((await queue.peersWithTraffic()).sort()).toEqual([A, B].sort());
      await queue.claim(A, 10);
      expect(await queue.peersWithTraffic()).toEqual([B]);
      await queue.claim(B, 10);
      expect(await queue.peersWithTraffic()).toEqual([]);
    });

    it("lists claims as unsent until they are sent", async () => {
      const { queue } = await open();
      const held = await hold(queue, A, 3);
      await hold(queue, B, 1);
      const claim = await queue.claim(A, 10);
      const other = await queue.claim(B, 10);
      const unsent = await queue.unsent();
      expect(unsent.map((c) => c.id).sort()).toEqual([claim.id, other.id].sort());
      const listed = unsent.find((c) => c.id === claim.id)!;
      expect(listed.peer).toBe(A);
      expect(hexes(listed.slots)).toEqual(hexes(held));
      await queue.send(claim, randomBytes(100));
      expect((await queue.unsent()).map((c) => c.id)).toEqual([other.id]);
      await queue.send(other, randomBytes(100));
      expect(await queue.unsent()).toEqual([]);
    });
  });

  describe(`${backend}: federation queue: delivery`, () => {
    it("delivers a sent batch once, and forgets it", async () => {
      const { queue } = await open();
      const peer = link();
      await queue.startDelivery(peer.deliver, QUICK);
      await hold(queue, A, 2);
      const [, batch] = await sendOne(queue, A);
      await waitFor(() => peer.delivered.length === 1);
      expect(peer.delivered[0]).toMatchObject({ peer: A, batch });
      expect(await queue.unsent()).toEqual([]);
      expect(await queue.deadLetters()).toEqual([]);
      expect(await queue.peersWithTraffic()).toEqual([]);
    });

    it("delivers a batch built from an empty claim (cover traffic)", async () => {
      const { queue } = await open();
      const peer = link();
      await queue.startDelivery(peer.deliver, QUICK);
      const [claim, batch] = await sendOne(queue, B);
      expect(claim.slots).toEqual([]);
      await waitFor(() => peer.delivered.length === 1);
      expect(peer.delivered[0]).toMatchObject({ peer: B, batch });
    });

    it("queues a claim id once however often it is sent", async () => {
      const { queue } = await open();
      const peer = link();
      await hold(queue, A, 1);
      const claim = await queue.claim(A, 10);
      const batch = randomBytes(100);
      await queue.send(claim, batch);
      await queue.send(claim, batch);
      await queue.startDelivery(peer.deliver, QUICK);
      await waitFor(() => peer.delivered.length === 1);
      // Rebuilt after the first was delivered (a builder that died before forgetting its claim).
      await queue.send(claim, randomBytes(100));
      await sleep(150);
      expect(peer.attempts).toHaveLength(1);
      expect(peer.delivered[0]!.batch).toBe(toHex(batch));
    });

    it("retries a failing batch with growing, jittered delays", async () => {
      const { queue } = await open();
      const peer = link((_, attempt) => attempt <= growing.failures);
      await queue.startDelivery(peer.deliver, {
        maxAttempts: growing.failures + 2,
        baseDelayMs: growing.base,
        maxDelayMs: 100 * growing.base,
      });
      await sendOne(queue, A);
      await waitFor(() => peer.delivered.length === 1, 5000 + 16 * growing.base);
      expect(peer.attempts).toHaveLength(growing.failures + 1);
      const gaps = peer.attempts.slice(1).map((a, i) => a.at - peer.attempts[i]!.at);
      gaps.forEach((gap, i) => {
        const nominal = growing.base * 2 ** i;
        expect(gap).toBeGreaterThanOrEqual(nominal / 2 - 2);
        expect(gap).toBeLessThanOrEqual(nominal + late);
      });
      // The last delay is at least twice the base; the first at most the base, plus lateness.
      expect(gaps.at(-1)!).toBeGreaterThan(gaps[0]!);
      expect(await queue.deadLetters()).toEqual([]);
    });

    it("caps delays at maxDelayMs", async () => {
      const { queue } = await open();
      const peer = link((_, attempt) => attempt < capped.attempts);
      await queue.startDelivery(peer.deliver, {
        maxAttempts: capped.attempts,
        baseDelayMs: capped.base,
        maxDelayMs: capped.max,
      });
      await sendOne(queue, A);
      await waitFor(() => peer.delivered.length === 1, 5000 + 4 * capped.attempts * capped.max);
      const gaps = peer.attempts.slice(1).map((a, i) => a.at - peer.attempts[i]!.at);
      expect(gaps).toHaveLength(capped.attempts - 1);
      // Uncapped, the later delays would reach 4 to 16 times the base.
      for (const gap of gaps.slice(1)) {
        expect(gap).toBeGreaterThanOrEqual(0.9 * capped.base);
        expect(gap).toBeLessThanOrEqual(capped.max + late);
      }
    });

    it("dead-letters a batch after maxAttempts, oldest first, with its attempts", async () => {
      const { queue } = await open();
      const peer = link(() => true);
      await queue.startDelivery(peer.deliver, QUICK);
      await hold(queue, A, 1);
      const [first, firstBatch] = await sendOne(queue, A);
      await waitFor(async () => (await queue.deadLetters()).length === 1);
      const [second, secondBatch] = await sendOne(queue, B);
      await waitFor(async () => (await queue.deadLetters()).length === 2);
      await sleep(50);
      expect(peer.attempts).toHaveLength(6);
      const dead = await queue.deadLetters();
      expect(dead.map((d) => [d.id, d.peer, d.attempts, toHex(d.batch)])).toEqual([
        [first.id, A, 3, firstBatch],
        [second.id, B, 3, secondBatch],
      ]);
      expect(await queue.unsent()).toEqual([]);
    });

    it("replays a dead letter with fresh attempts", async () => {
      const { queue } = await open();
      const peer = link(() => true);
      await queue.startDelivery(peer.deliver, QUICK);
      const [claim, batch] = await sendOne(queue, A);
      await waitFor(async () => (await queue.deadLetters()).length === 1);
      expect(await queue.replay(toHex(randomBytes(16)))).toBe(false);
      // Still failing: it dies again after maxAttempts more attempts, not after one.
      expect(await queue.replay(claim.id)).toBe(true);
      await waitFor(
        async () => (await queue.deadLetters()).length === 1 && peer.attempts.length >= 6,
      );
      expect((await queue.deadLetters())[0]!.attempts).toBe(3);
      expect(peer.attempts).toHaveLength(6);
      peer.state.fail = () => false;
      expect(await queue.replay(claim.id)).toBe(true);
      await waitFor(() => peer.delivered.length === 1);
      expect(peer.delivered[0]).toMatchObject({ peer: A, batch });
      expect(await queue.deadLetters()).toEqual([]);
      expect(await queue.replay(claim.id)).toBe(false);
    });

    it("tells onDeadLetter once per batch that dies, with its peer", async () => {
      const { queue } = await open();
      const peer = link(() => true);
      const dead: string[] = [];
      await queue.startDelivery(peer.deliver, { ...QUICK, maxAttempts: 2 }, (p) => dead.push(p));
      const [claim] = await sendOne(queue, A);
      await waitFor(async () => (await queue.deadLetters()).length === 1);
      await sleep(50);
      expect(dead).toEqual([A]);
      // A replayed batch that dies again is told again.
      expect(await queue.replay(claim.id)).toBe(true);
      await waitFor(() => dead.length === 2);
      expect(dead).toEqual([A, A]);
    });

    it("keeps at most maxDeadLetters, the newest, and tells onDeadLetterDropped", async () => {
      const { queue } = await open();
      const peer = link(() => true);
      let dropped = 0;
      await queue.startDelivery(
        peer.deliver,
        { ...QUICK, maxAttempts: 1, maxDeadLetters: 2 },
        undefined,
        () => (dropped += 1),
      );
      const ids: string[] = [];
      for (const to of [A, B, A, B]) {
        const [claim] = await sendOne(queue, to);
        ids.push(claim.id);
        // The newest dead letter is never the one dropped.
        await waitFor(async () => (await queue.deadLetters()).some((d) => d.id === claim.id));
      }
      await waitFor(() => dropped === 2);
      const dead = await queue.deadLetters();
      expect(dead.map((d) => [d.id, d.peer])).toEqual([
        [ids[2], A],
        [ids[3], B],
      ]);
      await sleep(50);
      expect(dropped).toBe(2);
    });

    it("drops a dead letter", async () => {
      const { queue } = await open();
      const peer = link(() => true);
      await queue.startDelivery(peer.deliver, { ...QUICK, maxAttempts: 1 });
      const [claim] = await sendOne(queue, A);
      await waitFor(async () => (await queue.deadLetters()).length === 1);
      expect((await queue.deadLetters())[0]!.attempts).toBe(1);
      expect(await queue.drop(toHex(randomBytes(16)))).toBe(false);
      expect(await queue.drop(claim.id)).toBe(true);
      expect(await queue.deadLetters()).toEqual([]);
      expect(await queue.drop(claim.id)).toBe(false);
      expect(await queue.replay(claim.id)).toBe(false);
      await sleep(50);
      expect(peer.attempts).toHaveLength(1);
    });

    it("delivers peers in parallel, one attempt per batch at a time", async () => {
      const { queue } = await open();
      const peer = link((_, attempt) => attempt < 3);
      peer.state.hold = 40;
      await queue.startDelivery(peer.deliver, { maxAttempts: 5, baseDelayMs: 5, maxDelayMs: 10 });
      await Promise.all([sendOne(queue, A), sendOne(queue, B), sendOne(queue, A)]);
      await waitFor(() => peer.delivered.length === 3);
      expect(peer.attempts).toHaveLength(9);
      expect(peer.state.maxPerBatch).toBe(1);
      expect(peer.state.maxRunning).toBeGreaterThanOrEqual(2);
    });

    it("stops attempting on stopDelivery and resumes on startDelivery", async () => {
      const { queue } = await open();
      const peer = link(() => true);
      const options = { maxAttempts: 1000, baseDelayMs: 20, maxDelayMs: 20 };
      await queue.startDelivery(peer.deliver, options);
      await sendOne(queue, A);
      await waitFor(() => peer.attempts.length >= 2);
      await queue.stopDelivery();
      const stoppedAt = peer.attempts.length;
      await sleep(200);
      expect(peer.attempts).toHaveLength(stoppedAt);
      // Sent while stopped: queued, not attempted.
      const [, batch] = await sendOne(queue, B);
      await sleep(50);
      expect(peer.attempts).toHaveLength(stoppedAt);
      peer.state.fail = () => false;
      await queue.startDelivery(peer.deliver, options);
      await waitFor(() => peer.delivered.length === 2);
      expect(peer.delivered.map((d) => d.batch)).toContain(batch);
      expect(await queue.deadLetters()).toEqual([]);
    });

    it("waits for a running attempt before stopDelivery resolves", async () => {
      const { queue } = await open();
      const peer = link();
      peer.state.hold = 150;
      await queue.startDelivery(peer.deliver, QUICK);
      await sendOne(queue, A);
      await waitFor(() => peer.state.running === 1);
      await queue.stopDelivery();
      expect(peer.state.running).toBe(0);
      expect(peer.delivered).toHaveLength(1);
    });
  });

  /** A fresh queue and a way to open the next instance on its storage. */
  async function openDurable(): Promise<Required<FederationHarness>> {
    const { queue, reopen } = await open();
    if (!reopen) throw new Error(`${backend} is durable but its harness cannot reopen`);
    return { queue, reopen };
  }

  if (!options.durable) return;
  describe(`${backend}: federation queue: durability`, () => {
    it("shows held slots, unsent claims and dead letters to the next instance", async () => {
      const { queue, reopen } = await openDurable();
      const held = await hold(queue, A, 4);
      await hold(queue, B, 1);
      const claim = await queue.claim(B, 10);
      const failing = link(() => true);
      await queue.startDelivery(failing.deliver, { ...QUICK, maxAttempts: 2 });
      const [dead, deadBatch] = await sendOne(queue, B);
      await waitFor(async () => (await queue.deadLetters()).length === 1);
      await queue.stopDelivery();

      const next = await reopen();
      expect(await next.peersWithTraffic()).toEqual([A]);
      expect((await next.unsent()).map((c) => c.id)).toEqual([claim.id]);
      expect((await next.deadLetters()).map((d) => [d.id, d.attempts, toHex(d.batch)])).toEqual([
        [dead.id, 2, deadBatch],
      ]);
      const fromA = await next.claim(A, 10);
      expect(hexes(fromA.slots)).toEqual(hexes(held));

      const peer = link();
      await next.startDelivery(peer.deliver, QUICK);
      const rebuilt = randomBytes(64);
      await next.send(
        (await next.unsent()).find((c) => c.id === claim.id)!,
        rebuilt,
      );
      expect(await next.replay(dead.id)).toBe(true);
      await waitFor(() => peer.delivered.length === 2);
      expect(peer.delivered.map((d) => d.batch).sort()).toEqual([toHex(rebuilt), deadBatch].sort());
      // The first instance sees what the second did.
      expect((await queue.unsent()).map((c) => c.id)).toEqual([fromA.id]);
      expect(await queue.deadLetters()).toEqual([]);
    });

    it("does not deliver twice a claim rebuilt and sent again after a restart", async () => {
      const { queue, reopen } = await openDurable();
      const peer = link();
      await hold(queue, A, 2);
      const claim = await queue.claim(A, 10);
      await queue.send(claim, randomBytes(64));
      const next = await reopen();
      await next.startDelivery(peer.deliver, QUICK);
      await waitFor(() => peer.delivered.length === 1);
      await next.send(claim, randomBytes(64));
      await queue.send(claim, randomBytes(64));
      await sleep(150);
      expect(peer.attempts).toHaveLength(1);
    });
  });
}
