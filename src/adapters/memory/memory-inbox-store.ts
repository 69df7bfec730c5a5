import { toHex } from "../../protocol/bytes.js";
import type {
  Admission,
  InboxStore,
  InboxUsage,
  RoundEntry,
  StoredItem,
} from "../../relay/ports/inbox-store.js";

interface Item {
  seq: number;
  item: Uint8Array;
  expiresDay: number;
}

/** Index of the first item with seq > `seq` (items are sorted by seq). */
function firstAfter(items: readonly Item[], seq: number): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (items[mid]!.seq <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface Inbox {
  expiresDay: number;
  nextSeq: number;
  items: Item[];
  bytes: number;
  /** message id (hex) -> expiry day; made on the first delivery (most inboxes see few). */
  messageIds: Map<string, number> | undefined;
}

/** Caps that keep the embedded store inside the process's memory. */
export interface MemoryInboxLimits {
  /** Most inboxes held at once (default 250,000); a deposit to a new one beyond gets `quota`. */
  maxInboxes: number;
  /** Most item bytes held at once (default 512 MiB); beyond, deposits get `quota`. */
  maxBytes: number;
}

export const DEFAULT_MEMORY_INBOX_LIMITS: MemoryInboxLimits = {
  maxInboxes: 250_000,
  maxBytes: 512 * 1024 * 1024,
};

/**
 * The embedded inbox store: everything in process memory, gone on exit. Keys are flat hex
 * strings, and the store refuses deposits ("full") at its caps rather than grow until the process
 * runs out of heap and loses every inbox.
 *
 * @example const store = new MemoryInboxStore({ maxInboxes: 10_000 });
 */
export class MemoryInboxStore implements InboxStore {
  readonly #inboxes = new Map<string, Inbox>();
  readonly #limits: MemoryInboxLimits;
  #bytes = 0;

  constructor(limits: Partial<MemoryInboxLimits> = {}) {
    this.#limits = { ...DEFAULT_MEMORY_INBOX_LIMITS, ...limits };
  }

  /** Inboxes and item bytes held now, for tests and the benchmark. */
  get size(): { inboxes: number; bytes: number } {
    return { inboxes: this.#inboxes.size, bytes: this.#bytes };
  }

  async admit(
    inboxId: Uint8Array,
    messageId: Uint8Array,
    expiresDay: number,
  ): Promise<Admission | "full"> {
    const key = toHex(inboxId);
    let inbox = this.#inboxes.get(key);
    if (this.#bytes >= this.#limits.maxBytes) return "full";
    const created = !inbox;
    if (!inbox) {
      if (this.#inboxes.size >= this.#limits.maxInboxes) return "full";
      inbox = { expiresDay, nextSeq: 1, items: [], bytes: 0, messageIds: undefined };
      this.#inboxes.set(key, inbox);
    }
    inbox.expiresDay = Math.max(inbox.expiresDay, expiresDay);
    return {
      created,
      duplicate: inbox.messageIds?.has(toHex(messageId)) ?? false,
      stored: { items: inbox.items.length, bytes: inbox.bytes },
    };
  }

  async usage(inboxId: Uint8Array): Promise<InboxUsage> {
    const inbox = this.#inboxes.get(toHex(inboxId));
    return inbox ? { items: inbox.items.length, bytes: inbox.bytes } : { items: 0, bytes: 0 };
  }

  async appendRound(entries: readonly RoundEntry[], expiresDay: number): Promise<number> {
    let appended = 0;
    for (const entry of entries) {
      const inbox = this.#inboxes.get(toHex(entry.inboxId));
      if (!inbox) continue;
      const messageKey = toHex(entry.messageId);
      inbox.messageIds ??= new Map();
      if (inbox.messageIds.has(messageKey)) continue;
      inbox.messageIds.set(messageKey, expiresDay);
      inbox.items.push({ seq: inbox.nextSeq++, item: entry.item.slice(), expiresDay });
      inbox.bytes += entry.item.length;
      this.#bytes += entry.item.length;
      inbox.expiresDay = Math.max(inbox.expiresDay, expiresDay);
      appended += 1;
    }
    return appended;
  }

  async fetch(
    inboxId: Uint8Array,
    afterSeq: number,
    maxItems: number,
  ): Promise<{ items: StoredItem[]; more: boolean } | undefined> {
    const inbox = this.#inboxes.get(toHex(inboxId));
    if (!inbox) return undefined;
    const start = firstAfter(inbox.items, afterSeq);
    const items = inbox.items
      .slice(start, start + maxItems)
      .map((i) => ({ seq: i.seq, item: i.item.slice() }));
    return { items, more: inbox.items.length - start > items.length };
  }

  async ack(inboxId: Uint8Array, upToSeq: number): Promise<number | undefined> {
    const inbox = this.#inboxes.get(toHex(inboxId));
    if (!inbox) return undefined;
    const removed = inbox.items.splice(0, firstAfter(inbox.items, upToSeq));
    for (const i of removed) inbox.bytes -= i.item.length;
    for (const i of removed) this.#bytes -= i.item.length;
    return removed.length;
  }

  async expire(today: number): Promise<void> {
    for (const [key, inbox] of this.#inboxes) {
      if (inbox.items.some((i) => i.expiresDay < today)) {
        inbox.items = inbox.items.filter((i) => i.expiresDay >= today);
        const bytes = inbox.items.reduce((sum, i) => sum + i.item.length, 0);
        this.#bytes -= inbox.bytes - bytes;
        inbox.bytes = bytes;
      }
      if (inbox.messageIds) {
        for (const [id, day] of inbox.messageIds) if (day < today) inbox.messageIds.delete(id);
      }
      if (inbox.expiresDay < today && inbox.items.length === 0) this.#inboxes.delete(key);
    }
  }

  /** A deterministic dump of everything stored, for tests that assert nothing changed. */
  snapshot(): string {
    const inboxes = [...this.#inboxes.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    return JSON.stringify(
      inboxes.map(([key, inbox]) => ({
        key,
        expiresDay: inbox.expiresDay,
        nextSeq: inbox.nextSeq,
        items: inbox.items.map((i) => [i.seq, i.expiresDay, toHex(i.item)]),
        messageIds: [...(inbox.messageIds ?? new Map<string, number>()).entries()].sort(),
      })),
    );
  }
}
