import type { Redis } from "ioredis";
import { toHex } from "../../protocol/bytes.js";
import type {
  Admission,
  InboxStore,
  InboxUsage,
  RoundEntry,
  StoredItem,
} from "../../relay/ports/inbox-store.js";
import { buf } from "./redis-connection.js";
import type { RedisKeys } from "./redis-keys.js";
import { runScript } from "./redis-scripts.js";

/** Bytes before the item in an items-zset member: 16 digits of seq, 8 of expiry day. */
const MEMBER_HEADER = 24;
const EXPIRE_BATCH = 500;

/** Longest the store trusts its count of inboxes before it asks Redis again. */
const COUNT_TTL_MS = 1000;

/** Default cap on the inboxes a Redis relay holds (see RedisInboxStore). */
export const DEFAULT_REDIS_MAX_INBOXES = 1_000_000;

/**
 * Inboxes on Redis. Each inbox is a meta hash, an items zset scored by sequence number and a
 * zset of delivered message ids scored by expiry day; `{P:expiry}` names the day each inbox next
 * needs expiring. Days are the finest time anything here records.
 *
 * New inboxes are refused ("full") once `{P:expiry}` counts `maxInboxes`: a flood of deposits to
 * made-up inboxes then stops growing Redis (items within existing inboxes are bounded by their
 * quota, and Redis's own `maxmemory` bounds the rest). The count is read at most once a second,
 * so the cap can be overshot by what one second of traffic creates.
 *
 * @example const inboxes = new RedisInboxStore(connectRedis(url), new RedisKeys());
 */
export class RedisInboxStore implements InboxStore {
  #count = { value: 0, at: -Infinity };

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly maxInboxes = DEFAULT_REDIS_MAX_INBOXES,
  ) {}

  #keysFor(inboxId: Uint8Array): string[] {
    const k = this.keys.inbox(inboxId);
    return [k.meta, k.items, k.ids];
  }

  /** Whether the inbox count has reached the cap (as of at most COUNT_TTL_MS ago). */
  async #atCap(): Promise<boolean> {
    const now = Date.now();
    if (now - this.#count.at > COUNT_TTL_MS) {
      this.#count = { value: await this.redis.zcard(this.keys.expiry), at: now };
    }
    return this.#count.value >= this.maxInboxes;
  }

  async admit(
    inboxId: Uint8Array,
    messageId: Uint8Array,
    expiresDay: number,
  ): Promise<Admission | "full"> {
    const k = this.keys.inbox(inboxId);
    const atCap = await this.#atCap();
    // Registered for expiry before it exists, so no crash can leave an inbox never expired; one
    // pipeline, so one round trip (the expiry index is in another cluster slot than the inbox).
    // At the cap nothing is registered: the script then refuses to create the inbox, and an
    // existing one is registered already.
    const pipeline = this.redis.pipeline();
    if (!atCap) pipeline.zadd(this.keys.expiry, "LT", expiresDay + 1, buf(inboxId));
    void runScript(pipeline, "inboxAdmit", [
      k.meta,
      k.ids,
      buf(messageId),
      expiresDay,
      atCap ? 1 : 0,
    ]);
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error);
    if (failed) throw failed[0];
    const reply = results[results.length - 1]![1] as number[] | string;
    if (reply === "full") return "full";
    const [created, duplicate, items, bytes] = reply as number[];
    return {
      created: created === 1,
      duplicate: duplicate === 1,
      stored: { items: items!, bytes: bytes! },
    };
  }

  async usage(inboxId: Uint8Array): Promise<InboxUsage> {
    const [items, bytes] = await this.redis.hmget(this.keys.inbox(inboxId).meta, "c", "b");
    return { items: Number(items ?? 0), bytes: Number(bytes ?? 0) };
  }

  async appendRound(entries: readonly RoundEntry[], expiresDay: number): Promise<number> {
    const byInbox = new Map<string, RoundEntry[]>();
    for (const entry of entries) {
      const key = toHex(entry.inboxId);
      const list = byInbox.get(key);
      if (list) list.push(entry);
      else byInbox.set(key, [entry]);
    }
    // One script call per inbox, all in one pipeline: each call is atomic for its inbox.
    const pipeline = this.redis.pipeline();
    for (const list of byInbox.values()) {
      const inboxId = list[0]!.inboxId;
      pipeline.zadd(this.keys.expiry, "LT", expiresDay + 1, buf(inboxId));
      const args = list.flatMap((e) => [buf(e.messageId), buf(e.item)]);
      void runScript(pipeline, "inboxAppend", [...this.#keysFor(inboxId), expiresDay, ...args]);
    }
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error);
    if (failed) throw failed[0];
    // Every other result is a script's count of entries appended (the others are the ZADDs).
    return results.reduce((sum, [, value], i) => (i % 2 === 1 ? sum + Number(value) : sum), 0);
  }

  async fetch(
    inboxId: Uint8Array,
    afterSeq: number,
    maxItems: number,
  ): Promise<{ items: StoredItem[]; more: boolean } | undefined> {
    const [meta, items] = this.#keysFor(inboxId);
    const members = (await runScript(
      this.redis,
      "inboxFetch",
      [meta!, items!, afterSeq, maxItems],
      true,
    )) as Buffer[] | null;
    if (members === null) return undefined;
    const page = members.slice(0, maxItems).map((m) => ({
      seq: Number(m.subarray(0, 16).toString("latin1")),
      item: new Uint8Array(m.subarray(MEMBER_HEADER)),
    }));
    return { items: page, more: members.length > maxItems };
  }

  async ack(inboxId: Uint8Array, upToSeq: number): Promise<number | undefined> {
    const [meta, items] = this.#keysFor(inboxId);
    const removed = Number(await runScript(this.redis, "inboxAck", [meta!, items!, upToSeq]));
    return removed < 0 ? undefined : removed;
  }

  async expire(today: number): Promise<void> {
    for (;;) {
      const due = await this.redis.zrangebyscoreBuffer(
        this.keys.expiry,
        "-inf",
        today,
        "LIMIT",
        0,
        EXPIRE_BATCH,
      );
      if (due.length === 0) return;
      const pipeline = this.redis.pipeline();
      for (const id of due) void runScript(pipeline, "inboxExpire", [...this.#keysFor(id), today]);
      const results = (await pipeline.exec()) ?? [];
      const next = this.redis.pipeline();
      due.forEach((id, i) => {
        const [error, day] = results[i] ?? [new Error("missing reply")];
        if (error) throw error;
        if (Number(day) < 0) next.zrem(this.keys.expiry, id);
        // Whatever is left expires on a day >= today, so this inbox leaves the due range.
        else next.zadd(this.keys.expiry, "XX", Math.max(Number(day), today) + 1, id);
      });
      await next.exec();
    }
  }
}
