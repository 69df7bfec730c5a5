/**
 * Federation both ways between a Worker relay W (the repo's Worker in workerd under wrangler's
 * local runtime, its outbound batches through a Cloudflare Queue) and a Node relay N (Redis on a
 * redis-server of its own, its outbound batches through BullMQ), over loopback HTTP:
 *
 * - N -> W: deposits for an inbox on W, forwarded by N, reach W once each; N counted its batches
 *   delivered and W counted the same batches received.
 * - W -> N: deposits for an inbox on N, forwarded by W through its queue, reach N once each.
 * - N down: W keeps accepting forwards for N, its queue's attempts fail and none is
 *   dead-lettered; once N is back on the same Redis state and port, every deposit forwarded
 *   during the outage arrives exactly once.
 * - W down: N holds the forwards for W, its queue retries; once W is back on the same state
 *   directory, port and master key, every one of them arrives exactly once.
 *
 * Every inbox is fetched whole each time, so each check also shows that nothing delivered
 * earlier came back twice across the restarts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contactCard, createInbox, type Inbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { TransportError } from "../../src/protocol/errors.js";
import { MetricName, metricSeries } from "../../src/relay/ports/metrics.js";
import { freePort } from "../../testkit/free-port.js";
import { startRedis, uniquePrefix, type RedisFixture } from "../../testkit/redis-fixture.js";
import { startWorkerRelay, type WorkerRelay } from "../../testkit/worker-relay.js";
import { newMasterKey, startRelay, type TestRelay } from "../federation/support.js";
import { sleep, waitFor } from "../../testkit/wait.js";
import { text, untext } from "../../testkit/text.js";
import type { Backend } from "../../testkit/describe-each-backend.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

/** N retries fast so the Worker's outage costs little time; the Worker keeps its defaults. */
const N_DELIVERY = { maxAttempts: 50, baseDelayMs: 100, maxDelayMs: 1000 };
const W_ROUND_MS = 200;
/** Real deposits forwarded in each round while the peer is down (an empty round included). */
const OUTAGE_ROUNDS = [3, 0, 4];
/** Long enough for the Worker's queue (1 s batch timeout, retries from 1 s doubling). */
const LINK_TIMEOUT_MS = 30_000;
/** Labels of the deposits a relay took out of its peers' batches and accepted into a round. */
const FORWARDED_DEPOSIT = { kind: "forwarded_deposit", status: "accepted" };

describe("federation between a Worker relay and a Node relay", () => {
  let redis: RedisFixture | undefined;
  let w: WorkerRelay | undefined;
  let wUp = false;
  let n: TestRelay | undefined;
  let nBackend: Backend;
  let nHost: string;
  let nPort: number;
  let nPeers: string[];

  /** Clients: direct to each relay, and to each relay through the other one. */
  let onWDirect: RelayClient;
  let onNDirect: RelayClient;
  let onWViaN: RelayClient;
  let onNViaW: RelayClient;
  let inboxW: Inbox;
  let inboxN: Inbox;
  /** Every message deposited for each inbox so far: all of them must be there, once. */
  const expectedW: string[] = [];
  const expectedN: string[] = [];

  const W = () => w!;
  const N = () => n!;
  const wCounter = (name: MetricName, peer?: string) =>
    W().counter(metricSeries(name, peer === undefined ? undefined : { peer }));
  const nCounter = (name: MetricName, peer?: string) =>
    N().counter(name, peer === undefined ? undefined : { peer });

  const startN = () =>
    startRelay({
      host: nHost,
      port: nPort,
      backend: nBackend,
      // startRelay leaves N's rounds to the test (closeRound); no timer closes them meanwhile.
      config: {
        roundIntervalMs: 60_000,
        federation: { policy: "allowlist", peers: nPeers, delivery: N_DELIVERY },
      },
    });

  async function forwardToW(message: string) {
    expect(await onWViaN.deposit(contactCard(inboxW), text(message))).toEqual({
      status: "forwarded",
    });
    expectedW.push(message);
  }

  async function forwardToN(message: string) {
    expect(await onNViaW.deposit(contactCard(inboxN), text(message))).toEqual({
      status: "forwarded",
    });
    expectedN.push(message);
  }

  async function texts(client: RelayClient, inbox: Inbox): Promise<string[]> {
    const fetched = await client.fetchAll(inbox);
    // An inbox exists from its first deposit on.
    if (fetched.status === "not_found") return [];
    if (fetched.status !== "ok") throw new Error(`fetch answered ${fetched.status}`);
    expect(fetched.unreadable).toEqual([]);
    return fetched.messages.map((m) => untext(m.payload)).sort();
  }

  /**
   * Waits until N has had every batch it built for W acknowledged. N's rounds close only when
   * this test closes them, so the number sent stands still meanwhile.
   */
  async function drainNToW() {
    const sent = await nCounter(MetricName.federationBatchesSent, W().url);
    await waitFor(
      () => nCounter(MetricName.federationBatchesDelivered, W().url),
      (delivered) => delivered >= sent,
      LINK_TIMEOUT_MS,
      `N's ${sent} batches to reach W`,
    );
    return sent;
  }

  /** Checks that W's inbox holds exactly `expectedW`, once W's rounds have released them. */
  async function expectExactlyOnW() {
    await drainNToW();
    // W's rounds close by themselves (its alarm); items_delivered counts what they released.
    await waitFor(
      () => wCounter(MetricName.itemsDelivered),
      (items) => items >= expectedW.length,
      LINK_TIMEOUT_MS,
      `W to release ${expectedW.length} items`,
    );
    // Two more rounds: a duplicate still on its way would be released by then.
    await sleep(2 * W_ROUND_MS + 100);
    expect(await texts(onWDirect, inboxW)).toEqual([...expectedW].sort());
    expect(await wCounter(MetricName.itemsDelivered)).toBe(expectedW.length);
    expect(await W().counter(metricSeries(MetricName.requests, FORWARDED_DEPOSIT))).toBe(
      expectedW.length,
    );
  }

  /** Checks that N's inbox holds exactly `expectedN` once the forwards have all crossed. */
  async function expectExactlyOnN() {
    // N's rounds close only when the test closes them: one per look.
    await waitFor(
      async () => {
        await N().relay.closeRound();
        return (await texts(onNDirect, inboxN)).length;
      },
      (count) => count >= expectedN.length,
      LINK_TIMEOUT_MS,
      `${expectedN.length} messages to reach N`,
    );
    // Let W's queue settle: every batch W built so far acknowledged (or a later one instead).
    const sent = await wCounter(MetricName.federationBatchesSent, N().url);
    await waitFor(
      () => wCounter(MetricName.federationBatchesDelivered, N().url),
      (delivered) => delivered >= sent,
      LINK_TIMEOUT_MS,
      `W's ${sent} batches to reach N`,
    );
    await N().relay.closeRound();
    expect(await texts(onNDirect, inboxN)).toEqual([...expectedN].sort());
    expect(await nCounter(MetricName.itemsDelivered)).toBe(expectedN.length);
    expect(await N().counter(MetricName.requests, FORWARDED_DEPOSIT)).toBe(expectedN.length);
  }

  beforeAll(async () => {
    redis = await startRedis();
    const [wPort, freeN] = [await freePort(), await freePort()];
    // Another loopback address than the Worker's, so each side names a distinct origin.
    nHost = "127.0.0.3";
    nPort = freeN;
    const wUrl = `http://127.0.0.1:${wPort}`;
    const nUrl = `http://${nHost}:${nPort}`;
    nPeers = [wUrl];
    nBackend = { kind: "redis", url: redis.url, prefix: uniquePrefix(), masterKey: newMasterKey() };
    n = await startN();
    w = await startWorkerRelay({ port: wPort, peers: [nUrl], roundMs: W_ROUND_MS });
    wUp = true;
    expect([W().url, N().url]).toEqual([wUrl, nUrl]);

    onWDirect = await RelayClient.connect(W().url, { shaping: ShapingProfiles.off });
    onNDirect = await RelayClient.connect(N().url, { shaping: ShapingProfiles.off });
    // Each relay fetches the other's descriptor for its client: the first contact of the link.
    onWViaN = await RelayClient.connectVia(W().url, onNDirect);
    onNViaW = await RelayClient.connectVia(N().url, onWDirect);
    expect(onWViaN.descriptor.signingKey).toEqual(onWDirect.descriptor.signingKey);
    expect(onNViaW.descriptor.signingKey).toEqual(onNDirect.descriptor.signingKey);
    inboxW = await createInbox(W().url, onWDirect.descriptor.signingKey);
    inboxN = await createInbox(N().url, onNDirect.descriptor.signingKey);
  }, 60_000);

  afterAll(async () => {
    await n?.close();
    if (wUp) await w?.close();
    await w?.remove();
    await redis?.stop();
  }, 60_000);

  it("carries deposits from N to W through N's queue, each once", async () => {
    for (let i = 0; i < 5; i++) await forwardToW(`N to W ${i}`);
    await N().relay.closeRound();
    // Five forwards fit one batch (16 slots); the link's only batch so far.
    expect(await drainNToW()).toBe(1);
    await waitFor(
      () => wCounter(MetricName.federationBatchesReceived, N().url),
      (received) => received >= 1,
      LINK_TIMEOUT_MS,
      "W to count N's batch",
    );
    expect(await wCounter(MetricName.federationBatchesReceived, N().url)).toBe(
      await nCounter(MetricName.federationBatchesDelivered, W().url),
    );
    await expectExactlyOnW();
  });

  it("carries deposits from W to N through W's Cloudflare queue, each once", async () => {
    const deliveredBefore = await wCounter(MetricName.federationBatchesDelivered, N().url);
    for (let i = 0; i < 5; i++) await forwardToN(`W to N ${i}`);
    await expectExactlyOnN();
    const delivered = await wCounter(MetricName.federationBatchesDelivered, N().url);
    expect(delivered).toBeGreaterThan(deliveredBefore);
    // N counts a batch before answering it, W after the answer.
    expect(await nCounter(MetricName.federationBatchesReceived, W().url)).toBeGreaterThanOrEqual(
      delivered,
    );
    expect(await W().deadLetters()).toEqual([]);
  });

  it("delivers every deposit W forwarded while N was down exactly once after N restarts", async () => {
    const signingKey = N().relay.keyRing.stored.signing.publicKey;
    await N().close();
    const failuresBefore = await wCounter(MetricName.federationDeliveryFailures, N().url);
    const deliveredBefore = await wCounter(MetricName.federationBatchesDelivered, N().url);
    const sentBefore = await wCounter(MetricName.federationBatchesSent, N().url);

    for (const [round, count] of OUTAGE_ROUNDS.entries()) {
      for (let i = 0; i < count; i++) await forwardToN(`N down, round ${round}, ${i}`);
      // At least one round of W's closes after each group, so the groups leave in batches of
      // their own.
      await sleep(W_ROUND_MS + 100);
    }
    // W's attempts fail and are retried by the queue; nothing reaches N, nothing gives up. N
    // stays down until W's queue has failed at least as many attempts as W built batches for N
    // since N stopped (the queue hands them out oldest first, retries a second later or more).
    const built = (await wCounter(MetricName.federationBatchesSent, N().url)) - sentBefore;
    expect(built).toBeGreaterThanOrEqual(OUTAGE_ROUNDS.length);
    await waitFor(
      () => wCounter(MetricName.federationDeliveryFailures, N().url),
      (failures) => failures >= failuresBefore + built,
      LINK_TIMEOUT_MS,
      "W's attempts to reach N to fail",
    );
    await expect(onNViaW.fetch(inboxN)).rejects.toThrow(TransportError);
    expect(await wCounter(MetricName.federationBatchesDelivered, N().url)).toBe(deliveredBefore);
    expect(await W().deadLetters()).toEqual([]);

    n = await startN();
    expect(N().relay.keyRing.stored.signing.publicKey).toEqual(signingKey);
    await expectExactlyOnN();
    expect(await wCounter(MetricName.federationBatchesDelivered, N().url)).toBeGreaterThan(
      deliveredBefore,
    );
    expect(await W().deadLetters()).toEqual([]);
    expect(await wCounter(MetricName.federationDeadLettered, N().url)).toBe(0);
    // The proxied fetch works again once N is back.
    const viaW = await onNViaW.fetchAll(inboxN);
    expect(viaW.status === "ok" && viaW.messages.length).toBe(expectedN.length);
  });

  it("delivers every deposit N forwarded while W was down exactly once after W restarts", async () => {
    const signingKey = onWDirect.descriptor.signingKey;
    const { port, stateDir, masterKey } = W();
    await W().close();
    wUp = false;
    const failuresBefore = await nCounter(MetricName.federationDeliveryFailures, W().url);
    const deliveredBefore = await nCounter(MetricName.federationBatchesDelivered, W().url);
    const sentBefore = await nCounter(MetricName.federationBatchesSent, W().url);

    for (const [round, count] of OUTAGE_ROUNDS.entries()) {
      for (let i = 0; i < count; i++) await forwardToW(`W down, round ${round}, ${i}`);
      await N().relay.closeRound();
    }
    // One batch per round (each group fits one), each attempted and failed at least once.
    expect((await nCounter(MetricName.federationBatchesSent, W().url)) - sentBefore).toBe(
      OUTAGE_ROUNDS.length,
    );
    await waitFor(
      () => nCounter(MetricName.federationDeliveryFailures, W().url),
      (failures) => failures >= failuresBefore + OUTAGE_ROUNDS.length,
      LINK_TIMEOUT_MS,
      "N's attempts to reach W to fail",
    );
    expect(await nCounter(MetricName.federationBatchesDelivered, W().url)).toBe(deliveredBefore);
    expect(await N().ports.federation.deadLetters()).toEqual([]);

    w = await startWorkerRelay({
      port,
      stateDir,
      masterKey,
      peers: [N().url],
      roundMs: W_ROUND_MS,
    });
    wUp = true;
    expect(
      (await RelayClient.connect(W().url, { shaping: ShapingProfiles.off })).descriptor.signingKey,
    ).toEqual(signingKey);
    await expectExactlyOnW();
    // Every batch N had acknowledged was counted once by W, across W's restart.
    expect(await wCounter(MetricName.federationBatchesReceived, N().url)).toBe(
      await nCounter(MetricName.federationBatchesDelivered, W().url),
    );
    expect(await N().ports.federation.deadLetters()).toEqual([]);
    expect(await nCounter(MetricName.federationDeadLettered, W().url)).toBe(0);
    // N's operator heard of the outage once and of its end once, naming only W.
    expect(N().logs).toEqual([
      `shroud: warn: federation peer unreachable; retrying (peer=${W().url})`,
      `shroud: federation peer reachable again (peer=${W().url})`,
    ]);
  });
});
