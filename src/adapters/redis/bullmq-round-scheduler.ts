/**
 * Rounds on BullMQ: one job scheduler ("close-round", every round interval) shared by all relay
 * instances on a Redis, and a worker in each instance. BullMQ hands each scheduled job to one
 * worker, so each round is closed once; a job whose worker died stalls and is retried, and the
 * next round's close delivers any round a dead closer left behind anyway.
 *
 * BullMQ schedules the next round in a step of its own after taking the current job; a worker
 * killed between the two would leave no next round until the stalled job is retried (~30 s).
 * Each instance therefore re-asserts the scheduler every few intervals, which recreates a
 * missing next job and leaves an existing one alone.
 */
import { Queue, Worker } from "bullmq";
import { MetricName } from "../../relay/ports/metrics.js";
import type { RoundScheduler } from "../../relay/ports/round-scheduler.js";
import { connectRedis, type RedisClient } from "./redis-connection.js";
import type { RedisKeys } from "./redis-keys.js";
import type { RedisMetrics } from "./redis-metrics.js";

const QUEUE = "rounds";
const SCHEDULER_ID = "close-round";

/**
 * @example await new BullMqRoundScheduler(url, keys, metrics).start(1000, () => relay.closeRound());
 */
export class BullMqRoundScheduler implements RoundScheduler {
  #queue: Queue | undefined;
  #worker: Worker | undefined;
  #connections: RedisClient[] = [];
  #watchdog: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly url: string,
    private readonly keys: RedisKeys,
    private readonly metrics: RedisMetrics,
  ) {}

  async start(intervalMs: number, close: () => Promise<void>): Promise<void> {
    if (this.#queue) return;
    const connection = connectRedis(this.url, { forBullMq: true });
    const workerConnection = connectRedis(this.url, { forBullMq: true });
    this.#connections = [connection, workerConnection];
    const prefix = this.keys.queuePrefix;
    // Round jobs carry no client data; their events are kept short (the schedule is public).
    this.#queue = new Queue(QUEUE, { connection, prefix, streams: { events: { maxLen: 100 } } });
    const queue = this.#queue;
    // Without a listener BullMQ prints every connection error with its stack to stderr.
    queue.on("error", () => undefined);
    const assertSchedule = () =>
      queue.upsertJobScheduler(
        SCHEDULER_ID,
        { every: intervalMs },
        { name: SCHEDULER_ID, opts: { removeOnComplete: true, removeOnFail: 100 } },
      );
    await assertSchedule();
    this.#watchdog = setInterval(
      () => void assertSchedule().catch(() => undefined),
      Math.max(5000, 5 * intervalMs),
    );
    this.#worker = new Worker(
      QUEUE,
      async () => {
        try {
          await close();
        } finally {
          // Counted once the run is over, and its counts sent at once (not up to a second
          // later): a change of the count in Redis means a round has just been closed.
          this.metrics.count(MetricName.roundRuns);
          void this.metrics.flush();
        }
      },
      { connection: workerConnection, prefix, concurrency: 1 },
    );
    // Job failures are retried by the next round; the error event would otherwise crash.
    this.#worker.on("error", () => undefined);
    this.#worker.on("failed", () => undefined);
  }

  /**
   * Resolves when the round queue's Redis answers (it may be another server: `queueUrl`);
   * rejects before start, and while that Redis is away, as rounds then do not close.
   */
  async ping(): Promise<void> {
    const connection = this.#connections[0];
    if (!connection) throw new Error("the round queue is not started");
    await connection.ping();
  }

  async stop(): Promise<void> {
    // The scheduler stays in Redis: the other instances keep using it.
    clearInterval(this.#watchdog);
    this.#watchdog = undefined;
    await this.#worker?.close();
    await this.#queue?.close();
    for (const connection of this.#connections) connection.disconnect();
    this.#worker = undefined;
    this.#queue = undefined;
    this.#connections = [];
  }
}
