/**
 * What a client asks the relay, inside a sealed request (after padding is removed).
 *
 *   enum {
 *     deposit(1), fetch(2), ack(3), cover(4), forward(5), proxy(6), peer_descriptor(7),
 *     redeem(8), (255)
 *   } RequestKind;
 *
 *   struct {
 *     opaque read_id[32];        // inbox_id = H(read_id, H(write_token)): see inbox-id.ts
 *     opaque write_token[32];
 *     opaque message_id[16];     // client-chosen; makes retries idempotent
 *     uint8 flags;               // reserved: must be 0
 *     opaque payload<V>;         // already sealed for the inbox's readers
 *   } Deposit;
 *
 *   struct {
 *     opaque read_secret[32];
 *     opaque write_token_hash[32];
 *     uint64 after_seq;
 *     uint16 max_items;
 *   } Fetch;
 *   struct { opaque read_secret[32]; opaque write_token_hash[32]; uint64 up_to_seq; } Ack;
 *   struct {} Cover;
 *
 *   struct {
 *     opaque next_hop<V>;        // origin of the relay the envelope is sealed to (UTF-8)
 *     opaque envelope<V>;        // a SealedRequest for next_hop, a bucket size there
 *   } Forward;                   // queued and carried to next_hop in a federation batch
 *
 *   struct { opaque next_hop<V>; opaque envelope<V>; } Proxy;  // relayed to next_hop at once
 *   struct { opaque origin<V>; } PeerDescriptor;               // a peer's signed descriptor
 *
 *   struct {
 *     uint32 response_size;      // the bucket the sealed response must fill
 *     RequestKind kind;
 *     select (kind) {
 *       case deposit: Deposit;
 *       case fetch:   Fetch;
 *       case ack:     Ack;
 *       case cover:   Cover;
 *       case forward: Forward;
 *       case proxy:   Proxy;
 *       case peer_descriptor: PeerDescriptor;
 *       case redeem: Redeem;
 *     };
 *   } RelayRequest;
 *
 *   struct {
 *     opaque token<V>;           // a Privacy Pass token (private-token.ts), for this relay
 *     RequestKind kind;          // deposit or forward
 *     select (kind) { case deposit: Deposit; case forward: Forward; };
 *   } Redeem;                    // decoded as that deposit or forward, with its token
 */
import {
  fixedBytes,
  opaque,
  struct,
  uint16,
  uint32,
  uint64,
  uint8,
  utf8String,
  type Codec,
} from "./codec.js";
import { enumName } from "./enum-name.js";
import { DecodeError } from "./errors.js";
import { CAPABILITY_LENGTH } from "./inbox-id.js";

export const RequestKind = {
  deposit: 1,
  fetch: 2,
  ack: 3,
  cover: 4,
  forward: 5,
  proxy: 6,
  peer_descriptor: 7,
  redeem: 8,
} as const;
export type RequestKind = (typeof RequestKind)[keyof typeof RequestKind];

export const MESSAGE_ID_LENGTH = 16;

const capability = fixedBytes(CAPABILITY_LENGTH);

const depositBody = struct({
  readId: capability,
  writeToken: capability,
  messageId: fixedBytes(MESSAGE_ID_LENGTH),
  flags: uint8,
  payload: opaque(),
});
const fetchBody = struct({
  readSecret: capability,
  writeTokenHash: capability,
  afterSeq: uint64,
  maxItems: uint16,
});
const ackBody = struct({ readSecret: capability, writeTokenHash: capability, upToSeq: uint64 });
/** Origins are URLs: 2 KiB is far more than any real one. */
const origin = utf8String(2048);
const hopBody = struct({ nextHop: origin, envelope: opaque() });
const peerDescriptorBody = struct({ origin });

export interface DepositRequest {
  kind: typeof RequestKind.deposit;
  responseSize: number;
  readId: Uint8Array;
  writeToken: Uint8Array;
  messageId: Uint8Array;
  /** Reserved: 0 (protocol v1's commit flag is gone; a relay refuses any bit set). */
  flags: number;
  payload: Uint8Array;
  /** A Privacy Pass token for the relay (sent as a Redeem), when it asks for one. */
  token?: Uint8Array;
}

export interface FetchRequest {
  kind: typeof RequestKind.fetch;
  responseSize: number;
  readSecret: Uint8Array;
  writeTokenHash: Uint8Array;
  afterSeq: number;
  maxItems: number;
}

export interface AckRequest {
  kind: typeof RequestKind.ack;
  responseSize: number;
  readSecret: Uint8Array;
  writeTokenHash: Uint8Array;
  upToSeq: number;
}

export interface CoverRequest {
  kind: typeof RequestKind.cover;
  responseSize: number;
}

export interface ForwardRequest {
  kind: typeof RequestKind.forward;
  responseSize: number;
  nextHop: string;
  envelope: Uint8Array;
  /** A Privacy Pass token for the relay (sent as a Redeem), when it asks for one. */
  token?: Uint8Array;
}

export interface ProxyRequest {
  kind: typeof RequestKind.proxy;
  responseSize: number;
  nextHop: string;
  envelope: Uint8Array;
}

export interface PeerDescriptorRequest {
  kind: typeof RequestKind.peer_descriptor;
  responseSize: number;
  origin: string;
}

export type RelayRequest =
  | DepositRequest
  | FetchRequest
  | AckRequest
  | CoverRequest
  | ForwardRequest
  | ProxyRequest
  | PeerDescriptorRequest;

/** A token is a few hundred bytes (RFC 9578 type 2: 354); 4 KiB bounds any future type. */
const tokenField = opaque(4096);

/** Codec of the body selected by a request kind (common fields excluded). */
function bodyCodec(
  kind: Exclude<RequestKind, typeof RequestKind.redeem>,
): Codec<Record<string, unknown>> {
  switch (kind) {
    case RequestKind.deposit:
      return depositBody as Codec<Record<string, unknown>>;
    case RequestKind.fetch:
      return fetchBody as Codec<Record<string, unknown>>;
    case RequestKind.ack:
      return ackBody as Codec<Record<string, unknown>>;
    case RequestKind.cover:
      return struct({});
    case RequestKind.forward:
    case RequestKind.proxy:
      return hopBody as Codec<Record<string, unknown>>;
    case RequestKind.peer_descriptor:
      return peerDescriptorBody as Codec<Record<string, unknown>>;
  }
}

function tokenOf(req: RelayRequest): Uint8Array | undefined {
  return req.kind === RequestKind.deposit || req.kind === RequestKind.forward
    ? req.token
    : undefined;
}

function plainKind(kind: number): Exclude<RequestKind, typeof RequestKind.redeem> {
  if (kind < RequestKind.deposit || kind > RequestKind.peer_descriptor) {
    throw new DecodeError("unknown request kind");
  }
  return kind as Exclude<RequestKind, typeof RequestKind.redeem>;
}

export const relayRequestCodec: Codec<RelayRequest> = {
  size(req) {
    const token = tokenOf(req);
    const body = bodyCodec(req.kind).size(req as unknown as Record<string, unknown>);
    return 4 + 1 + body + (token ? tokenField.size(token) + 1 : 0);
  },
  write(req, w) {
    uint32.write(req.responseSize, w);
    const token = tokenOf(req);
    if (token) {
      uint8.write(RequestKind.redeem, w);
      tokenField.write(token, w);
    }
    uint8.write(req.kind, w);
    bodyCodec(req.kind).write(req as unknown as Record<string, unknown>, w);
  },
  read(r) {
    const responseSize = uint32.read(r);
    let token: Uint8Array | undefined;
    let first = uint8.read(r);
    if (first === RequestKind.redeem) {
      token = tokenField.read(r);
      first = uint8.read(r);
    }
    const kind = plainKind(first);
    if (token && kind !== RequestKind.deposit && kind !== RequestKind.forward) {
      throw new DecodeError("only deposits and forwards carry a token");
    }
    const body = bodyCodec(kind).read(r);
    return { ...body, kind, responseSize, ...(token ? { token } : {}) } as RelayRequest;
  },
};

/** Name of a request kind, for metrics. */
export function requestKindName(kind: RequestKind): keyof typeof RequestKind {
  return enumName(RequestKind, kind);
}
