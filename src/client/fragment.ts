/**
 * Messages larger than one deposit's capacity (a shaping client's cell) travel as fragments, one
 * per deposit, so that every request of the client is still one cell. Each fragment is sealed on
 * its own for the inbox's readers, under a label of its own (payload-seal.ts, group-payload.ts):
 * the relay stores items it cannot tell from whole messages, and a reader knows a fragment by the
 * label it opens under.
 *
 *   struct {
 *     opaque message_id[16];  // random, the same in every fragment of one message
 *     uint16 index;           // 0 .. count-1
 *     uint16 count;           // 2 .. MAX_FRAGMENTS
 *     opaque chunk<V>;        // the message's bytes from index * chunk length on
 *   } Fragment;
 *
 * Readers rebuild a message where its first fragment lies in the inbox (`reassemble`): a group's
 * commit takes its place in the commit race at its first fragment, the same for every member.
 * A message still missing fragments stops reading at its place until they arrive, or until so
 * many items follow its first fragment (`giveUpWindow`) that the rest will never count: a rule of
 * item positions alone, so every reader of a shared inbox decides alike.
 */
import { asBytes, concat, randomBytes, toHex, utf8 } from "../protocol/bytes.js";
import {
  decode,
  encode,
  fixedBytes,
  opaque,
  struct,
  uint16,
  type Codec,
} from "../protocol/codec.js";
import { DecodeError, TooLargeError } from "../protocol/errors.js";
import { Labels } from "../protocol/labels.js";
import { MESSAGE_ID_LENGTH } from "../protocol/relay-request.js";

export const FRAGMENT_ID_LENGTH = 16;
/** The most fragments one message may have (a 4 KiB cell carries about 4 MiB in this many). */
export const MAX_FRAGMENTS = 1024;
/** Bytes a Fragment adds around its chunk (the chunk's varint length at most 4). */
export const FRAGMENT_OVERHEAD = FRAGMENT_ID_LENGTH + 2 + 2 + 4;

export interface Fragment {
  messageId: Uint8Array;
  index: number;
  count: number;
  chunk: Uint8Array;
}

const wireFragment = struct({
  messageId: fixedBytes(FRAGMENT_ID_LENGTH),
  index: uint16,
  count: uint16,
  chunk: opaque(),
});

export const fragmentCodec: Codec<Fragment> = {
  size: (value) => wireFragment.size(value),
  write: (value, writer) => wireFragment.write(value, writer),
  read(reader) {
    const value = wireFragment.read(reader);
    if (value.count < 2 || value.count > MAX_FRAGMENTS || value.index >= value.count) {
      throw new DecodeError("fragment index or count out of range");
    }
    return value;
  },
};

/** Encodes a fragment (before padding and sealing). */
export function encodeFragment(fragment: Fragment): Uint8Array {
  return encode(fragmentCodec, fragment);
}

/** Decodes a fragment opened under the fragment label; DecodeError when it is not one. */
export function decodeFragment(bytes: Uint8Array): Fragment {
  return decode(fragmentCodec, bytes);
}

/**
 * The longest message that goes in at most MAX_FRAGMENTS deposits of `capacity` bytes each.
 *
 * @example
 * maxMessageLength(1000) // 1024 * (1000 - FRAGMENT_OVERHEAD)
 */
export function maxMessageLength(capacity: number): number {
  return Math.max(capacity, MAX_FRAGMENTS * (capacity - FRAGMENT_OVERHEAD));
}

/**
 * Splits `message` into encoded fragments of at most `capacity` bytes each, or returns undefined
 * when the message fits one deposit whole. TooLargeError when it would need more than
 * MAX_FRAGMENTS.
 *
 * @example
 * splitMessage(new Uint8Array(10_000), 4000)?.length // 3
 */
export function splitMessage(message: Uint8Array, capacity: number): Uint8Array[] | undefined {
  if (message.length <= capacity) return undefined;
  const chunkLength = capacity - FRAGMENT_OVERHEAD;
  if (chunkLength < 1) throw new RangeError(`a ${capacity}-byte deposit cannot carry fragments`);
  const count = Math.ceil(message.length / chunkLength);
  if (count > MAX_FRAGMENTS) {
    // Say the limit in bytes: that is what a sender can act on, not the fragment count.
    throw new TooLargeError(
      `a ${message.length}-byte message is too large: at most ${maxMessageLength(capacity)} ` +
        `bytes (${MAX_FRAGMENTS} fragments of ${chunkLength})`,
    );
  }
  const messageId = randomBytes(FRAGMENT_ID_LENGTH);
  return Array.from({ length: count }, (_, index) =>
    encodeFragment({
      messageId,
      index,
      count,
      chunk: message.subarray(index * chunkLength, (index + 1) * chunkLength),
    }),
  );
}

/**
 * The message id the relay knows the deposit of fragment `index` by: derived from the message's
 * own id, so a retried message's fragments are each delivered once.
 *
 *   id = SHA-256("shroud/v1 fragment deposit id" || 0x00 || message_id || uint16 index)[0..16]
 */
export async function partDepositId(messageId: Uint8Array, index: number): Promise<Uint8Array> {
  const input = concat(
    utf8(Labels.fragmentDepositId),
    new Uint8Array([0]),
    messageId,
    new Uint8Array([index >> 8, index & 0xff]),
  );
  return asBytes(await crypto.subtle.digest("SHA-256", input)).slice(0, MESSAGE_ID_LENGTH);
}

/**
 * Items that may follow a message's first fragment before its last one must have arrived: a
 * fragment later than this does not count, and a message not complete within it is dropped.
 * Its fragments leave in consecutive write slots of one client, so they arrive within a few
 * rounds; the window leaves room for a busy inbox's other deposits in between.
 */
export function giveUpWindow(count: number): number {
  return 64 + 16 * count;
}

/** One fetched item as its reader opened it (`cover`: drop cover, read and discarded). */
export type OpenedItem<T> =
  | { seq: number; payload: Uint8Array; whole: T }
  | { seq: number; payload: Uint8Array; fragment: Fragment }
  | { seq: number; payload: Uint8Array; cover: true }
  | { seq: number; payload: Uint8Array };

/** What a reader acts on, at the position of its first item. */
export type ReadEntry<T> =
  | { seq: number; payloads: Uint8Array[]; message: T }
  | { seq: number; payloads: Uint8Array[]; cover: true }
  | {
      seq: number;
      payloads: Uint8Array[];
      /** Why nothing could be read here: an item that did not open, or an incomplete message. */
      unreadable: "item" | "incomplete";
    };

export interface Reassembly<T> {
  /**
   * Entries to act on now, in inbox order. Every item up to `through` belongs to one of them,
   * and no item of them lies beyond it, so a reader that moves its cursor to `through` has read
   * each item exactly once.
   */
  entries: (ReadEntry<T> & { through: number })[];
  /** The cursor after the last entry (the `afterSeq` it started from when there is none). */
  through: number;
  /** Whether a message still missing fragments holds back what follows it. */
  waiting: boolean;
}

interface Group {
  seq: number;
  /** Where the first fragment lies among the items fetched. */
  position: number;
  count: number;
  parts: ({ seq: number; chunk: Uint8Array; payload: Uint8Array } | undefined)[];
  complete: boolean;
}

/**
 * Turns items fetched after `afterSeq` (in inbox order) into what a reader acts on:
 * whole messages, messages rebuilt from their fragments (`assemble` decodes the bytes; undefined
 * makes the entry unreadable), and unreadable items. See the module comment for the rules.
 *
 * @example
 * const { entries, through } = reassemble(opened, cursor, (bytes) => bytes);
 */
export function reassemble<T>(
  items: readonly OpenedItem<T>[],
  afterSeq: number,
  assemble: (bytes: Uint8Array) => T | undefined,
): Reassembly<T> {
  const sorted = [...items].sort((a, b) => a.seq - b.seq);
  const groups = new Map<string, Group>();
  // Each item's entry: a lone item, or the group of fragments it joined.
  const owner: (Group | undefined)[] = [];
  for (const [position, item] of sorted.entries()) {
    if (!("fragment" in item)) {
      owner.push(undefined);
      continue;
    }
    const { messageId, index, count, chunk } = item.fragment;
    const key = toHex(messageId);
    const group = groups.get(key);
    const inWindow = group !== undefined && position - group.position <= giveUpWindow(group.count);
    if (!group) {
      const parts: Group["parts"] = new Array(count).fill(undefined);
      parts[index] = { seq: item.seq, chunk, payload: item.payload };
      const fresh: Group = { seq: item.seq, position, count, parts, complete: false };
      groups.set(key, fresh);
      owner.push(fresh);
    } else if (group.count === count && inWindow && !group.parts[index] && !group.complete) {
      group.parts[index] = { seq: item.seq, chunk, payload: item.payload };
      group.complete = group.parts.every((part) => part !== undefined);
      owner.push(group);
    } else {
      // A duplicate, a count that disagrees, or a fragment too late to count: an item of its own.
      owner.push(undefined);
    }
  }

  // Entries in order of their first item; a group still missing fragments either waits or,
  // once its window has passed, is dropped.
  const entries: { entry: ReadEntry<T>; seqs: number[] }[] = [];
  let waiting = false;
  for (const [position, item] of sorted.entries()) {
    const group = owner[position];
    if (group === undefined) {
      entries.push({
        entry:
          "whole" in item
            ? { seq: item.seq, payloads: [item.payload], message: item.whole }
            : "cover" in item
              ? { seq: item.seq, payloads: [item.payload], cover: true }
              : { seq: item.seq, payloads: [item.payload], unreadable: "item" },
        seqs: [item.seq],
      });
      continue;
    }
    if (group.seq !== item.seq) continue;
    const present = group.parts.filter((part) => part !== undefined);
    const seqs = present.map((part) => part.seq);
    const payloads = present.map((part) => part.payload);
    if (group.complete) {
      const message = assemble(concat(...present.map((part) => part.chunk)));
      entries.push({
        entry:
          message === undefined
            ? { seq: group.seq, payloads, unreadable: "item" }
            : { seq: group.seq, payloads, message },
        seqs,
      });
    } else if (sorted.length - 1 - position >= giveUpWindow(group.count)) {
      entries.push({ entry: { seq: group.seq, payloads, unreadable: "incomplete" }, seqs });
    } else {
      waiting = true;
      break;
    }
  }

  // Act on the longest run of entries whose items are exactly the first items fetched, and
  // move the cursor only where that holds: past such a point, no item is left unread behind it.
  const order = new Map(sorted.map((item, position) => [item.seq, position]));
  const result: Reassembly<T>["entries"] = [];
  let itemCount = 0;
  let furthest = -1;
  let closed = 0;
  const cursors: number[] = [];
  for (const [k, { seqs }] of entries.entries()) {
    itemCount += seqs.length;
    for (const seq of seqs) furthest = Math.max(furthest, order.get(seq)!);
    if (furthest + 1 === itemCount) {
      closed = k + 1;
      cursors[k] = sorted[furthest]!.seq;
    }
  }
  let through = afterSeq;
  for (let k = 0; k < closed; k++) {
    through = cursors[k] ?? through;
    // An entry inside a run that is not closed keeps the cursor where the run began.
    result.push({
      ...entries[k]!.entry,
      through: cursors[k] ?? lastClosedBefore(cursors, k, afterSeq),
    });
  }
  return { entries: result, through, waiting };
}

function lastClosedBefore(cursors: number[], k: number, afterSeq: number): number {
  for (let j = k - 1; j >= 0; j--) if (cursors[j] !== undefined) return cursors[j]!;
  return afterSeq;
}
