import { constantTimeEqual, toHex } from "../../protocol/bytes.js";
import type {
  AuthorizeResult,
  CommitSlotClaim,
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
  writeTokenHash: Uint8Array;
  expiresDay: number;
  nextSeq: number;
  items: Item[];
  bytes: number;
  /** message id (hex) -> expiry day */
  messageIds: Map<string, number>;
  /** Message id (hex) holding the commit slot, if any. */
  commitSlot?: string;
}

/**
 * The embedded inbox store: everything in process memory, gone on exit.
 *
 * @example const store = new MemoryInboxStore();
 */
export class MemoryInboxStore implements InboxStore {
  readonly #inboxes = new Map<string, Inbox>();

  async authorize(
    inboxId: Uint8Array,
    writeTokenHash: Uint8Array,
    expiresDay: number,
  ): Promise<AuthorizeResult> {
    const key = toHex(inboxId);
    const inbox = this.#inboxes.get(key);
    if (!inbox) {
      this.#inboxes.set(key, {
        writeTokenHash: writeTokenHash.slice(),
        expiresDay,
        nextSeq: 1,
        items: [],
        bytes: 0,
        messageIds: new Map(),
      });
      return "created";
    }
    if (!constantTimeEqual(inbox.writeTokenHash, writeTokenHash)) return "forbidden";
    inbox.expiresDay = Math.max(inbox.expiresDay, expiresDay);
    return "ok";
  }

  async usage(inboxId: Uint8Array): Promise<InboxUsage> {
    const inbox = this.#inboxes.get(toHex(inboxId));
    return inbox ? { items: inbox.items.length, bytes: inbox.bytes } : { items: 0, bytes: 0 };
  }

  async hasMessage(inboxId: Uint8Array, messageId: Uint8Array): Promise<boolean> {
    return this.#inboxes.get(toHex(inboxId))?.messageIds.has(toHex(messageId)) ?? false;
  }

  async claimCommitSlot(inboxId: Uint8Array, messageId: Uint8Array): Promise<CommitSlotClaim> {
    const inbox = this.#inboxes.get(toHex(inboxId));
    if (!inbox) throw new RangeError("commit slot of an inbox that does not exist");
    const claimant = toHex(messageId);
    if (inbox.commitSlot === undefined) {
      inbox.commitSlot = claimant;
      return "won";
    }
    return inbox.commitSlot === claimant ? "held" : "taken";
  }

  async appendRound(entries: readonly RoundEntry[], expiresDay: number): Promise<void> {
    for (const entry of entries) {
      const inbox = this.#inboxes.get(toHex(entry.inboxId));
      if (!inbox) continue;
      const messageKey = toHex(entry.messageId);
      if (inbox.messageIds.has(messageKey)) continue;
      inbox.messageIds.set(messageKey, expiresDay);
      inbox.items.push({ seq: inbox.nextSeq++, item: entry.item.slice(), expiresDay });
      inbox.bytes += entry.item.length;
      inbox.expiresDay = Math.max(inbox.expiresDay, expiresDay);
    }
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
    return removed.length;
  }

  async expire(today: number): Promise<void> {
    for (const [key, inbox] of this.#inboxes) {
      inbox.items = inbox.items.filter((i) => i.expiresDay >= today);
      inbox.bytes = inbox.items.reduce((sum, i) => sum + i.item.length, 0);
      for (const [id, day] of inbox.messageIds) if (day < today) inbox.messageIds.delete(id);
      if (inbox.expiresDay < today && inbox.items.length === 0) this.#inboxes.delete(key);
    }
  }

  /** A deterministic dump of everything stored, for tests that assert nothing changed. */
  snapshot(): string {
    const inboxes = [...this.#inboxes.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    return JSON.stringify(
      inboxes.map(([key, inbox]) => ({
        key,
        token: toHex(inbox.writeTokenHash),
        expiresDay: inbox.expiresDay,
        nextSeq: inbox.nextSeq,
        items: inbox.items.map((i) => [i.seq, i.expiresDay, toHex(i.item)]),
        messageIds: [...inbox.messageIds.entries()].sort(),
        commitSlot: inbox.commitSlot ?? null,
      })),
    );
  }
}
