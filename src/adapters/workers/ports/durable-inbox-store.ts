import { toHex } from "../../../protocol/bytes.js";
import type {
  Admission,
  InboxStore,
  InboxUsage,
  RoundEntry,
  StoredItem,
} from "../../../relay/ports/inbox-store.js";
import type { AppendedEntry, InboxObject, InboxRef } from "../objects/inbox-object.js";
import { expiryName, inboxName } from "../object-names.js";
import type { WorkerEnv } from "../worker-env.js";

/** Inbox objects written to at once while a round is appended or inboxes expire. */
const PARALLEL = 16;

/** Runs `work` over `items`, at most PARALLEL at a time. */
async function inParallel<T>(items: readonly T[], work: (item: T) => Promise<unknown>) {
  let next = 0;
  const lanes = Array.from({ length: Math.min(PARALLEL, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(lanes);
}

/**
 * The inbox store on Durable Objects: one InboxObject per inbox, addressed by its id, plus the
 * relay's expiry index. A round is appended inbox by inbox, each inbox's entries in the round's
 * (shuffled) order.
 *
 * @example const inboxes = new DurableInboxStore(env, "shroud");
 */
export class DurableInboxStore implements InboxStore {
  constructor(
    private readonly env: Pick<WorkerEnv, "INBOXES" | "EXPIRY">,
    private readonly instance: string,
  ) {}

  #ref(inboxId: Uint8Array): InboxRef {
    return { instance: this.instance, inbox: toHex(inboxId) };
  }

  #inbox(hex: string): DurableObjectStub<InboxObject> {
    return this.env.INBOXES.get(this.env.INBOXES.idFromName(inboxName(this.instance, hex)));
  }

  admit(inboxId: Uint8Array, messageId: Uint8Array, expiresDay: number): Promise<Admission> {
    const ref = this.#ref(inboxId);
    return this.#inbox(ref.inbox).admit(ref, messageId, expiresDay);
  }

  usage(inboxId: Uint8Array): Promise<InboxUsage> {
    return this.#inbox(toHex(inboxId)).usage();
  }

  async appendRound(entries: readonly RoundEntry[], expiresDay: number): Promise<number> {
    const byInbox = new Map<string, AppendedEntry[]>();
    for (const entry of entries) {
      const hex = toHex(entry.inboxId);
      let list = byInbox.get(hex);
      if (!list) byInbox.set(hex, (list = []));
      list.push({ messageId: entry.messageId, item: entry.item });
    }
    let appended = 0;
    await inParallel([...byInbox], async ([hex, list]) => {
      appended += await this.#inbox(hex).append(
        { instance: this.instance, inbox: hex },
        list,
        expiresDay,
      );
    });
    return appended;
  }

  async fetch(
    inboxId: Uint8Array,
    afterSeq: number,
    maxItems: number,
  ): Promise<{ items: StoredItem[]; more: boolean } | undefined> {
    return this.#inbox(toHex(inboxId)).items(afterSeq, maxItems);
  }

  ack(inboxId: Uint8Array, upToSeq: number): Promise<number | undefined> {
    return this.#inbox(toHex(inboxId)).ack(upToSeq);
  }

  async expire(today: number): Promise<void> {
    const index = this.env.EXPIRY.get(this.env.EXPIRY.idFromName(expiryName(this.instance)));
    for (;;) {
      const due = await index.due(today, 256);
      if (due.length === 0) return;
      await inParallel(due, (hex) => this.#inbox(hex).expire(today));
      await index.done(due, today);
    }
  }
}
