import { toHex } from "../../protocol/bytes.js";
import type {
  Admission,
  InboxStore,
  InboxUsage,
  RoundEntry,
  StoredItem,
} from "../../relay/ports/inbox-store.js";
import { buf, inOrder, type RedisClient } from "./redis-connection.js";
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
 * quota, and Redis's own `maxmemory` bounds the rest). Here the count is read at most once a
 * second, so the cap can be overshot by what one second of traffic creates; on one server the
 * relay's deposits go through RedisDepositIntake instead, whose script counts at each new inbox.
 *
 * @example const inboxes = new RedisInboxStore(connectRedis(url), new RedisKeys());
 */
export class RedisInboxStore implements InboxStore {
  #count = { value: 0, at: -Infinity };

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    /** The cap on inboxes; RedisDepositIntake's one-step deposit holds new inboxes to it too. */
    readonly maxInboxes = DEFAULT_REDIS_MAX_INBOXES,
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
    // Registered for expiry before it exists, so no crash can leave an inbox never expired (one
    // round trip on one server; the expiry index is in another cluster slot than the inbox).
    // At the cap nothing is registered: the script then refuses to create the inbox, and an
    // existing one is registered already.
    const admitted = () =>
      runScript(this.redis, "inboxAdmit", [
        k.meta,
        k.ids,
        buf(messageId),
        expiresDay,
        atCap ? 1 : 0,
      ]);
    const replies = await inOrder(
      this.redis,
      atCap
        ? [admitted]
        : [() => this.redis.zadd(this.keys.expiry, "LT", expiresDay + 1, buf(inboxId)), admitted],
    );
    const reply = replies[replies.length - 1] as number[] | string;
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
    // One script call per inbox, each after its expiry registration, all inboxes at once: each
    // call is atomic for its inbox.
    const appended = await Promise.all(
      [...byInbox.values()].map(async (list) => {
        const inboxId = list[0]!.inboxId;
        const args = list.flatMap((e) => [buf(e.messageId), buf(e.item)]);
        const [, count] = await inOrder(this.redis, [
          () => this.redis.zadd(this.keys.expiry, "LT", expiresDay + 1, buf(inboxId)),
          () =>
            runScript(this.redis, "inboxAppend", [...this.#keysFor(inboxId), expiresDay, ...args]),
        ]);
        return Number(count);
      }),
    );
    return appended.reduce((sum, count) => sum + count, 0);
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
      const days = await Promise.all(
        due.map((id) => runScript(this.redis, "inboxExpire", [...this.#keysFor(id), today])),
      );
      await Promise.all(
        due.map((id, i) =>
          Number(days[i]) < 0
            ? this.redis.zrem(this.keys.expiry, id)
            : // Whatever is left expires on a day >= today, so this inbox leaves the due range.
              this.redis.zadd(this.keys.expiry, "XX", Math.max(Number(days[i]), today) + 1, id),
        ),
      );
    }
  }
}
