/**
 * What the relay answers, inside a sealed response (after padding is removed).
 *
 *   struct { uint64 seq; opaque payload<V>; } FetchedItem;
 *
 *   struct {
 *     RelayStatus status;
 *     select (status) {
 *       case accepted:                     // only for deposits
 *         RequestKind kind = deposit;
 *         uint8 duplicate;                 // 1 if the message id was already known
 *       case ok:                           // fetch, ack or cover
 *         RequestKind kind;
 *         select (kind) {
 *           case fetch: FetchedItem items<V>; uint8 more;   // more: items remain after these
 *           case ack:   uint32 removed;
 *           case cover: struct {};
 *         };
 *       default: struct {};
 *     };
 *   } RelayResponse;
 */
import { opaque, struct, uint32, uint64, uint8, vector, type Codec } from "./codec.js";
import { DecodeError } from "./errors.js";
import { RequestKind } from "./relay-request.js";
import { RelayStatus } from "./relay-status.js";

export interface FetchedItem {
  seq: number;
  payload: Uint8Array;
}

export const fetchedItemCodec: Codec<FetchedItem> = struct({ seq: uint64, payload: opaque() });

const itemsCodec = vector(fetchedItemCodec);

export type FailureStatus = Exclude<
  RelayStatus,
  typeof RelayStatus.ok | typeof RelayStatus.accepted
>;

export type RelayResponse =
  | { status: FailureStatus }
  | { status: typeof RelayStatus.accepted; kind: typeof RequestKind.deposit; duplicate: boolean }
  | {
      status: typeof RelayStatus.ok;
      kind: typeof RequestKind.fetch;
      items: FetchedItem[];
      more: boolean;
    }
  | { status: typeof RelayStatus.ok; kind: typeof RequestKind.ack; removed: number }
  | { status: typeof RelayStatus.ok; kind: typeof RequestKind.cover };

function readBool(value: number): boolean {
  if (value > 1) throw new DecodeError("invalid boolean");
  return value === 1;
}

export const relayResponseCodec: Codec<RelayResponse> = {
  size(res) {
    if (!("kind" in res)) return 1;
    switch (res.kind) {
      case RequestKind.deposit:
        return 3;
      case RequestKind.fetch:
        return 2 + itemsCodec.size(res.items) + 1;
      case RequestKind.ack:
        return 2 + 4;
      case RequestKind.cover:
        return 2;
    }
  },
  write(res, w) {
    uint8.write(res.status, w);
    if (!("kind" in res)) return;
    uint8.write(res.kind, w);
    switch (res.kind) {
      case RequestKind.deposit:
        uint8.write(res.duplicate ? 1 : 0, w);
        break;
      case RequestKind.fetch:
        itemsCodec.write(res.items, w);
        uint8.write(res.more ? 1 : 0, w);
        break;
      case RequestKind.ack:
        uint32.write(res.removed, w);
        break;
      case RequestKind.cover:
        break;
    }
  },
  read(r) {
    const status = uint8.read(r);
    if (status > RelayStatus.internal) throw new DecodeError("unknown relay status");
    if (status !== RelayStatus.ok && status !== RelayStatus.accepted) {
      return { status: status as FailureStatus };
    }
    const kind = uint8.read(r);
    if (status === RelayStatus.accepted) {
      if (kind !== RequestKind.deposit) throw new DecodeError("accepted is only for deposits");
      return { status, kind, duplicate: readBool(uint8.read(r)) };
    }
    switch (kind) {
      case RequestKind.fetch: {
        const items = itemsCodec.read(r);
        return { status, kind, items, more: readBool(uint8.read(r)) };
      }
      case RequestKind.ack:
        return { status, kind, removed: uint32.read(r) };
      case RequestKind.cover:
        return { status, kind };
      default:
        throw new DecodeError("unknown response kind");
    }
  },
};
