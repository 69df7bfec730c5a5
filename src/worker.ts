/**
 * The relay as a Cloudflare Worker: HTTP through the same Hono app as on Node, state in Durable
 * Objects, federation batches through Cloudflare Queues. Each isolate opens the relay once (the
 * key ring from the key ring object, sealed under the SHROUD_MASTER_KEY secret) and makes sure
 * the round object's alarm is running; rounds close and maintenance runs in that alarm.
 *
 * Deploying: README, "Deploying to Cloudflare Workers".
 */
import type { Hono } from "hono";
import { addAdminRoutes } from "./adapters/workers/admin-routes.js";
import { workerConfig } from "./adapters/workers/worker-config.js";
import {
  QueueNames,
  type FederationMessage,
  type WorkerEnv,
} from "./adapters/workers/worker-env.js";
import {
  consumeDeadLetters,
  consumeOutbound,
} from "./adapters/workers/ports/workers-federation-queue.js";
import { workersPorts, type WorkersPorts } from "./adapters/workers/ports/workers-ports.js";
import { createRelayApp } from "./relay/app.js";
import { Relay } from "./relay/relay.js";

export { ExpiryObject } from "./adapters/workers/objects/expiry-object.js";
export { FederationObject } from "./adapters/workers/objects/federation-object.js";
export { InboxObject } from "./adapters/workers/objects/inbox-object.js";
export { KeyRingObject } from "./adapters/workers/objects/key-ring-object.js";
export { MetricsObject } from "./adapters/workers/objects/metrics-object.js";
export { ReplayObject } from "./adapters/workers/objects/replay-object.js";
export { RoundObject } from "./adapters/workers/objects/round-object.js";

/** How often an isolate re-reads the key ring, to pick up rotations made by the round object. */
const KEY_RELOAD_MS = 60_000;

interface Opened {
  relay: Relay;
  ports: WorkersPorts;
  app: Hono;
  keysLoadedAt: number;
}

let opened: Promise<Opened> | undefined;

/** The relay of this isolate, opened on first use. */
function open(env: WorkerEnv): Promise<Opened> {
  opened ??= (async () => {
    const config = workerConfig(env);
    const ports = workersPorts(env, config);
    const relay = await Relay.open(config.relay, ports);
    await ports.rounds.start(config.relay.roundIntervalMs, () => relay.closeRound());
    await relay.startDelivery();
    const app = addAdminRoutes(createRelayApp(relay), ports, config.adminToken);
    return { relay, ports, app, keysLoadedAt: Date.now() };
  })();
  opened.catch(() => (opened = undefined));
  return opened;
}

/** Logs why the relay could not open (a config or key ring problem: nothing about clients). */
function startFailed(error: unknown): void {
  console.error(
    `shroud: the relay could not start (${error instanceof Error ? error.message : "error"})`,
  );
}

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
    let relay: Opened;
    try {
      relay = await open(env);
      if (Date.now() - relay.keysLoadedAt > KEY_RELOAD_MS) {
        relay.keysLoadedAt = Date.now();
        // The keys held stay good for their overlap: a failed reload is retried next minute.
        await relay.relay.reloadKeys().catch(() => console.error("shroud: key reload failed"));
      }
    } catch (error) {
      startFailed(error);
      return new Response("unavailable", {
        status: 503,
        headers: { "content-type": "text/plain" },
      });
    }
    const response = await relay.app.fetch(request);
    ctx.waitUntil(relay.ports.metrics.flushSoon().catch(() => undefined));
    return response;
  },

  async queue(batch: MessageBatch<FederationMessage>, env: WorkerEnv, ctx: ExecutionContext) {
    // Opening the relay starts its delivery in this isolate; if it cannot open, outbound
    // messages find no delivery and are retried, and dead letters are still filed.
    const relay = await open(env).catch(startFailed);
    if (batch.queue === QueueNames.deadLetter) await consumeDeadLetters(batch, env);
    else await consumeOutbound(batch);
    if (relay) ctx.waitUntil(relay.ports.metrics.flushSoon().catch(() => undefined));
  },
} satisfies ExportedHandler<WorkerEnv, FederationMessage>;
