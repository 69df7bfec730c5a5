/** Waiting for a Redis to answer, shared by the bench's Redis and the tests' Redis fixture. */
import { Redis } from "ioredis";

/**
 * Resolves once `url` answers PING; rejects at the deadline, or with the message `stopped`
 * resolves to (e.g. the server process exited), whichever comes first.
 *
 * @example await redisReady("redis://127.0.0.1:6390", Date.now() + 10_000);
 */
export async function redisReady(
  url: string,
  deadline: number,
  stopped?: Promise<string>,
): Promise<void> {
  for (;;) {
    const client = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on("error", () => undefined);
    try {
      await client.connect();
      if ((await client.ping()) === "PONG") return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    } finally {
      client.disconnect();
    }
    const why = await Promise.race([
      stopped ?? new Promise<never>(() => undefined),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 20)),
    ]);
    if (why !== undefined) throw new Error(why);
  }
}
