/**
 * What the relay answers, inside a sealed response (after padding is removed).
 *
 *   struct { uint64 seq; opaque payload<V>; } FetchedItem;
 *
 *   struct {
 *     RelayStatus status;
 *     select (status) {
 *       case accepted:                     // deposits, and forwards queued for the next hop
 *         RequestKind kind;
 *         select (kind) {
 *           case deposit: uint8 duplicate; // 1 if the message id was already known
 *           case forward: struct {};
 *         };
 *       case ok:                           // fetch, ack, cover, proxy, peer_descriptor
 *         RequestKind kind;
 *         select (kind) {
 *           case fetch: FetchedItem items<V>; uint8 more;   // more: items remain after these
 *           case ack:   uint32 removed;
 *           case cover: struct {};
 *           case proxy: uint16 http_status; opaque response<V>;  // the next hop's answer
 *           case peer_descriptor: opaque descriptor<V>;        // its SignedDescriptor
 *         };
 *       default: struct {};
 *     };
 *   } RelayResponse;
 */
import { opaque, struct, uint16, uint32, uint64, uint8, vector, type Codec } from "./codec.js";
import { DecodeError } from "./errors.js";
import { RequestKind } from "./relay-request.js";
import { RelayStatus } from "./relay-status.js";

export interface FetchedItem {
  seq: number;
  payload: Uint8Array;
}

export const fetchedItemCodec: Codec<FetchedItem> = struct({ seq: uint64, payload: opaque() });

const itemsCodec = vector(fetchedItemCodec);
const bytes = opaque();

export type FailureStatus = Exclude<
  RelayStatus,
  typeof RelayStatus.ok | typeof RelayStatus.accepted
>;

type Accepted = typeof RelayStatus.accepted;
type Ok = typeof RelayStatus.ok;

export type RelayResponse =
  | { status: FailureStatus }
  | { status: Accepted; kind: typeof RequestKind.deposit; duplicate: boolean }
  | { status: Accepted; kind: typeof RequestKind.forward }
  | { status: Ok; kind: typeof RequestKind.fetch; items: FetchedItem[]; more: boolean }
  | { status: Ok; kind: typeof RequestKind.ack; removed: number }
  | { status: Ok; kind: typeof RequestKind.cover }
  | { status: Ok; kind: typeof RequestKind.proxy; httpStatus: number; response: Uint8Array }
  | { status: Ok; kind: typeof RequestKind.peer_descriptor; descriptor: Uint8Array };

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
      case RequestKind.forward:
      case RequestKind.cover:
        return 2;
      case RequestKind.fetch:
        return 2 + itemsCodec.size(res.items) + 1;
      case RequestKind.ack:
        return 2 + 4;
      case RequestKind.proxy:
        return 2 + 2 + bytes.size(res.response);
      case RequestKind.peer_descriptor:
        return 2 + bytes.size(res.descriptor);
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
      case RequestKind.proxy:
        uint16.write(res.httpStatus, w);
        bytes.write(res.response, w);
        break;
      case RequestKind.peer_descriptor:
        bytes.write(res.descriptor, w);
        break;
      case RequestKind.forward:
      case RequestKind.cover:
        break;
    }
  },
  read(r) {
    const status = uint8.read(r);
    if (!Object.values(RelayStatus).includes(status as RelayStatus)) {
      throw new DecodeError("unknown relay status");
    }
    if (status !== RelayStatus.ok && status !== RelayStatus.accepted) {
      return { status: status as FailureStatus };
    }
    const kind = uint8.read(r);
    if (status === RelayStatus.accepted) {
      if (kind === RequestKind.deposit) return { status, kind, duplicate: readBool(uint8.read(r)) };
      if (kind === RequestKind.forward) return { status, kind };
      throw new DecodeError("accepted is only for deposits and forwards");
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
      case RequestKind.proxy: {
        const httpStatus = uint16.read(r);
        return { status, kind, httpStatus, response: bytes.read(r) };
      }
      case RequestKind.peer_descriptor:
        return { status, kind, descriptor: bytes.read(r) };
      default:
        throw new DecodeError("unknown response kind");
    }
  },
};
