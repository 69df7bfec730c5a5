/**
 * Rounds on BullMQ: one job scheduler ("close-round", every round interval) shared by all relay
 * instances on a Redis, and a worker in each instance. BullMQ hands each scheduled job to one
 * worker, so each round is closed once; a job whose worker died stalls and is retried, and the
 * next round's close delivers any round a dead closer left behind anyway.
 */
import { Queue, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { MetricName, type Metrics } from "../../relay/ports/metrics.js";
import type { RoundScheduler } from "../../relay/ports/round-scheduler.js";
import { connectRedis } from "./redis-connection.js";
import type { RedisKeys } from "./redis-keys.js";

const QUEUE = "rounds";
const SCHEDULER_ID = "close-round";

/**
 * @example await new BullMqRoundScheduler(url, keys, metrics).start(1000, () => relay.closeRound());
 */
export class BullMqRoundScheduler implements RoundScheduler {
  #queue: Queue | undefined;
  #worker: Worker | undefined;
  #connections: Redis[] = [];

  constructor(
    private readonly url: string,
    private readonly keys: RedisKeys,
    private readonly metrics: Metrics,
  ) {}

  async start(intervalMs: number, close: () => Promise<void>): Promise<void> {
    if (this.#queue) return;
    const connection = connectRedis(this.url, { forBullMq: true });
    const workerConnection = connectRedis(this.url, { forBullMq: true });
    this.#connections = [connection, workerConnection];
    const prefix = this.keys.queuePrefix;
    // Round jobs carry no client data; their events are kept short (the schedule is public).
    this.#queue = new Queue(QUEUE, { connection, prefix, streams: { events: { maxLen: 100 } } });
    await this.#queue.upsertJobScheduler(
      SCHEDULER_ID,
      { every: intervalMs },
      { name: SCHEDULER_ID, opts: { removeOnComplete: true, removeOnFail: 100 } },
    );
    this.#worker = new Worker(
      QUEUE,
      async () => {
        this.metrics.count(MetricName.roundRuns);
        await close();
      },
      { connection: workerConnection, prefix, concurrency: 1 },
    );
    // Job failures are retried by the next round; the error event would otherwise crash.
    this.#worker.on("error", () => undefined);
    this.#worker.on("failed", () => undefined);
  }

  async stop(): Promise<void> {
    // The scheduler stays in Redis: the other instances keep using it.
    await this.#worker?.close();
    await this.#queue?.close();
    for (const connection of this.#connections) connection.disconnect();
    this.#worker = undefined;
    this.#queue = undefined;
    this.#connections = [];
  }
}
