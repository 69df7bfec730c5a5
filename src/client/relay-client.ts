/**
 * RelayClient: talks to one relay through sealed, bucket-padded requests.
 *
 * Every call is one POST /v1/relay whose body and answer are the same bucket size. By default a
 * deposit uses the smallest bucket that fits, a fetch `fetchBucket` (16 KiB) and ack and cover
 * the smallest bucket, so an observer can tell a fetch from a small deposit by size; setting
 * `minBucket` to `fetchBucket` makes all of them one size.
 */
import { decode, encode, MAX_VARINT_SIZE } from "../protocol/codec.js";
import { TokenRequirement, usableKeys, type Descriptor } from "../protocol/descriptor.js";
import type { TokenWallet } from "./token-wallet.js";
import { fetchDescriptorBytes, openDescriptor } from "./relay-descriptor.js";
import { AeadId, hpkeSuite, KdfId, KemId } from "../protocol/hpke-suite.js";
import { LENGTH_PREFIX } from "../protocol/padding-policy.js";
import {
  openResponse,
  responseOverhead,
  REQUEST_OVERHEAD,
  sealRequest,
  type ResponseKeying,
} from "../protocol/envelope.js";
import { DescriptorError, TransportError } from "../protocol/errors.js";
import { MediaTypes } from "../protocol/labels.js";
import { PaddingPolicy } from "../protocol/padding-policy.js";
import { constantTimeEqual, randomBytes, toHex } from "../protocol/bytes.js";
import {
  MESSAGE_ID_LENGTH,
  RequestKind,
  relayRequestCodec,
  type RelayRequest,
} from "../protocol/relay-request.js";
import { relayResponseCodec, type RelayResponse } from "../protocol/relay-response.js";
import { RelayStatus, relayStatusName } from "../protocol/relay-status.js";
import type { SecretBytes } from "../protocol/secret-bytes.js";
import { contactCard, createInbox, type ContactCard, type Inbox } from "./inbox.js";
import {
  maxMessageLength,
  partDepositId,
  reassemble,
  splitMessage,
  decodeFragment,
  type OpenedItem,
} from "./fragment.js";
import {
  openPayload,
  PAYLOAD_SEAL_OVERHEAD,
  sealPayload,
  type PayloadPart,
} from "./payload-seal.js";
import {
  AUTO_LANE_DROPS,
  DEFAULT_DROP_SHARE,
  ShapingProfiles,
  type ShapingProfile,
} from "./shaping-profile.js";
import { TrafficShaper, type ShaperStats, type SlotKind } from "./traffic-shaper.js";

/**
 * Bytes a request adds around its one variable-length field once padded and sealed: the
 * request's encoding with that field empty, its length prefix at the widest, the padding's
 * length prefix and the sealing.
 */
function requestWrapping(request: RelayRequest): number {
  return REQUEST_OVERHEAD + LENGTH_PREFIX + relayRequestCodec.size(request) + MAX_VARINT_SIZE - 1;
}

/** Fixed bytes of a padded deposit request around its payload. */
const DEPOSIT_OVERHEAD = requestWrapping({
  kind: RequestKind.deposit,
  responseSize: 0,
  readId: new Uint8Array(32),
  writeToken: new Uint8Array(32),
  messageId: new Uint8Array(MESSAGE_ID_LENGTH),
  flags: 0,
  payload: new Uint8Array(0),
});

/**
 * Fixed bytes of a proxy's answer around the next hop's answer: the response's encoding with an
 * empty body, its length prefix at the widest, padding and the widest response sealing of any
 * suite a relay may use.
 */
const PROXY_ANSWER_OVERHEAD =
  Math.max(
    ...Object.values(AeadId).map((aeadId) =>
      responseOverhead(
        hpkeSuite({ kemId: KemId.DhkemX25519HkdfSha256, kdfId: KdfId.HkdfSha256, aeadId }),
      ),
    ),
  ) +
  LENGTH_PREFIX +
  relayResponseCodec.size({
    status: RelayStatus.ok,
    kind: RequestKind.proxy,
    httpStatus: 200,
    response: new Uint8Array(0),
  }) +
  MAX_VARINT_SIZE -
  1;

/** The bucket of a peer_descriptor answer at least: a signed descriptor with its key configs. */
const DESCRIPTOR_BUCKET = 4096;

/** The name of a status a relay can answer inside a sealed response, e.g. `"quota"`. */
export type StatusName = keyof typeof RelayStatus;
/** A status other than success: what a typed result carries when the relay refused. */
export type FailureName = Exclude<StatusName, "ok" | "accepted">;

/**
 * "forwarded": the deposit went through an ingress relay (`connectVia`) and waits there for
 * the next batch to the inbox's relay; what that relay makes of it is not reported back. A
 * deposit too large for the ingress's batch slots is proxied instead, and its answer is the
 * inbox relay's.
 */
export type DepositResult =
  { status: "accepted"; duplicate: boolean } | { status: "forwarded" } | { status: FailureName };

/** A message read from an inbox, opened: its sequence number there and its bytes. */
export interface InboxMessage {
  seq: number;
  payload: Uint8Array;
}

/** What a deposit needs: an inbox's read id and its write token (a contact card is one). */
export interface DepositTarget {
  readId: Uint8Array;
  writeToken: SecretBytes;
}

/** What a fetch or ack needs: the read secret and the write token's hash (an inbox is one). */
export interface ReadCapability {
  readSecret: SecretBytes;
  writeTokenHash: Uint8Array;
}

/** Options of one deposit. */
export interface DepositOptions {
  /** Pass the same id when retrying so the relay delivers the message once. */
  messageId?: Uint8Array;
}

/** Items as stored: payloads still sealed for the inbox's readers. */
export type ItemsResult =
  { status: "ok"; items: InboxMessage[]; lastSeq: number; more: boolean } | { status: FailureName };

/** What `fetch` and `fetchAll` return: the inbox's messages, opened, or why not. */
export type FetchResult =
  | {
      status: "ok";
      messages: InboxMessage[];
      /** Sequence numbers of items that did not open under the inbox key (not for us). */
      unreadable: number[];
      /** Highest sequence number seen, to pass as afterSeq or to ack. */
      lastSeq: number;
      more: boolean;
    }
  | { status: FailureName };

/** What `ack` returns: how many items the relay deleted, or why not. */
export type AckResult = { status: "ok"; removed: number } | { status: FailureName };

/** How a client talks to its relay: its HTTP, pin, buckets, clock and traffic shaping. */
export interface RelayClientOptions {
  /** fetch implementation (default: global fetch). */
  fetch?: typeof fetch;
  /** Expected Ed25519 key of the relay; the descriptor must be signed by it. */
  pinnedSigningKey?: Uint8Array;
  /** Smallest request bucket; raise it to make all requests one size. Default: smallest. */
  minBucket?: number;
  /** Response (and request) bucket for fetches. Default 16 KiB. */
  fetchBucket?: number;
  /** Milliseconds since the epoch (default Date.now). */
  now?: () => number;
  /**
   * When requests leave and what size they are (see ShapingProfiles). Default for `connect`:
   * `ShapingProfiles.constant` (shaping is on unless the app turns it off with
   * `ShapingProfiles.off`); `connectVia` takes the ingress client's profile. A shaping client
   * sends on its schedule whatever the app does, so call close() when done with it.
   */
  shaping?: ShapingProfile;
  /**
   * Privacy Pass tokens from this client's provider: spent on deposits and forwards when the
   * relay's descriptor requires one (or the relay answers token_required), if it accepts the
   * wallet's issuer. Without a wallet, such a relay's refusal is returned as `token_required`.
   */
  tokens?: TokenWallet;
}

/** What a shaping client's own loop (its sink inbox) has carried, to notice dropped traffic. */
export interface LoopStats extends ShaperStats {
  /** Loop deposits sent into the sink inbox, and how many of them came back from it. */
  loopSent: number;
  loopReceived: number;
}

/** The profile of a client made without one: shaping is on by default. */
export const DEFAULT_SHAPING: ShapingProfile = ShapingProfiles.constant;

/** Loop items read before the sink inbox is acknowledged (one read slot then acks them). */
const LOOP_ACK_EVERY = 16;

/** Loop tags remembered to match returns (older ones are forgotten unmatched). */
const MAX_LOOP_TAGS = 4096;

/**
 * Pages a shaping client's fetch reads at most, one read slot each, while the relay says it
 * holds more (16 slots: 16 s of reads in the named profiles).
 */
export const SHAPED_READ_PAGES = 16;

/**
 * Contacts a shaping client keeps lanes for (deposit, coverContact): the most recent. More lanes
 * spread the same write slots thinner, so each contact waits longer.
 */
export const MAX_COVER_CONTACTS = 8;

/** The key of the loop's sealed cover in #sealedCover (lanes are keyed by read id hex). */
const LOOP_COVER = "loop";

/** What drop cover carries: 16 random bytes (PROTOCOL.md, "Drop cover"). */
const drop = () => randomBytes(16);

/** A cover deposit's payload, sealed ahead of its slot, and the loop tag inside it. */
interface SealedCover {
  tag: Uint8Array;
  payload: Uint8Array;
}

function failure(status: RelayStatus): { status: FailureName } {
  return { status: relayStatusName(status) as FailureName };
}

/**
 * @example
 * const client = await RelayClient.connect("http://127.0.0.1:8787"); // shapes its traffic
 * await client.deposit(card, new TextEncoder().encode("hello")); // waits for a write slot
 * const { messages } = await client.fetch(inbox); // and a read slot
 * client.close(); // stops its schedule
 */
export class RelayClient {
  #descriptor: Descriptor;
  #padding: PaddingPolicy;
  readonly #options: RelayClientOptions;
  readonly #shaper: TrafficShaper | undefined;
  /** The bucket every request of a shaping client fills on its own link (direct clients). */
  readonly #cell: number | undefined;
  /** The shaper's loop: the sink inbox cover goes to, and the tags of loop deposits in flight. */
  readonly #loop: { sink: Inbox; tags: Set<string>; sent: number; received: number } | undefined;
  /** How far the loop has read its sink inbox and acknowledged it. */
  #loopCursor: { seen: number; acked: number } | undefined;
  /** Inboxes cover reads take turns fetching (see watch), with where a read would start. */
  readonly #watched = new Map<ReadCapability, () => number>();
  #watchTurn = 0;
  /** Contacts with a lane of write slots, by lane: the hex of their read id. */
  readonly #contacts = new Map<string, ContactCard>();
  /**
   * Lanes that deposit() opened, with the drops each has sent since its last message; it ends
   * at the profile's autoLaneDrops. Lanes the app named (coverContact) are not here and do not end.
   */
  readonly #autoLanes = new Map<string, number>();
  readonly #dropShare: number = DEFAULT_DROP_SHARE;
  readonly #autoLaneDrops: number = 0;
  /** Cover payloads sealed ahead, by inbox: LOOP_COVER or a lane (see #sendCover). */
  readonly #sealedCover = new Map<string, Promise<SealedCover>>();
  /** Gives the wallet's refills back their own timing when this client closes. */
  #unscheduleRefills: (() => void) | undefined;

  private constructor(
    readonly origin: string,
    descriptor: Descriptor,
    options: RelayClientOptions,
    /** The ingress relay every request goes through (see connectVia), if any. */
    readonly via: RelayClient | undefined,
    sink: Inbox | undefined,
  ) {
    this.#descriptor = descriptor;
    this.#padding = new PaddingPolicy(descriptor.buckets);
    const profile = options.shaping ?? DEFAULT_SHAPING;
    if (profile.kind === "off" || !sink) {
      this.#options = options;
      return;
    }
    // Every request fills one cell on the wire. Through an ingress the cell is the outer
    // request; the envelope inside it (sealed to this relay) takes the largest bucket that fits,
    // and payloads fill that. Direct, payloads fill the bucket below the cell, so that a fetch of
    // one cell carries several of them.
    const inner = this.#innerCell(profile.cellSize);
    this.#options = via
      ? { ...options, minBucket: inner, fetchBucket: inner }
      : { ...options, minBucket: inner, fetchBucket: profile.cellSize };
    this.#cell = via ? undefined : profile.cellSize;
    this.#loop = { sink, tags: new Set(), sent: 0, received: 0 };
    this.#dropShare = profile.dropShare ?? DEFAULT_DROP_SHARE;
    this.#autoLaneDrops = profile.autoLaneDrops ?? AUTO_LANE_DROPS;
    this.#shaper = new TrafficShaper(profile, {
      write: (lane) => (lane === undefined ? this.#loopWrite() : this.#dropWrite(lane)),
      read: () => this.#coverRead(),
    });
    this.#shaper.start();
    // A refill from this relay rides a read slot: it leaves when a slot would have left anyway.
    const shaper = this.#shaper;
    if (!via && options.tokens?.issuer === origin) {
      this.#unscheduleRefills = options.tokens.scheduleRefills((send) =>
        shaper.submit("read", send),
      );
    }
  }

  /**
   * The largest bucket smaller than `cell` whose request, wrapped for an ingress, still fits it
   * (the smallest bucket when `cell` is the smallest).
   */
  #innerCell(cell: number): number {
    const fits = this.#padding.buckets.filter(
      (b) => b + this.#hopOverhead(this.origin) <= cell && b + PROXY_ANSWER_OVERHEAD <= cell,
    );
    const inner = fits[fits.length - 1];
    if (inner !== undefined) return inner;
    if (!this.via && cell === this.#padding.buckets[0]) return cell;
    throw new DescriptorError(`a ${cell}-byte cell is too small to shape this client's requests`);
  }

  static async #create(
    origin: string,
    descriptor: Descriptor,
    options: RelayClientOptions,
    via?: RelayClient,
  ): Promise<RelayClient> {
    const shaping = options.shaping ?? DEFAULT_SHAPING;
    const sink =
      shaping.kind === "off" ? undefined : await createInbox(origin, descriptor.signingKey);
    return new RelayClient(origin, descriptor, options, via, sink);
  }

  /** Fetches and verifies the relay's descriptor, then returns a client for it. */
  static async connect(origin: string, options: RelayClientOptions = {}): Promise<RelayClient> {
    const descriptor = await RelayClient.#loadDescriptor(origin, options);
    return RelayClient.#create(descriptor.origin, descriptor, options);
  }

  /**
   * A client for the relay at `origin` that never contacts it directly: its descriptor comes
   * through `ingress` (peer_descriptor), deposits are forwarded by `ingress` in its next batch,
   * and fetch, ack and cover are proxied by `ingress`. The relay at `origin` sees `ingress`,
   * never this client; `ingress` sees this client, never the inbox.
   *
   * @example
   * const a = await RelayClient.connect("https://a.example");
   * const b = await RelayClient.connectVia("https://b.example", a);
   * await b.deposit(cardOnB, message); // { status: "forwarded" }
   */
  static async connectVia(
    origin: string,
    ingress: RelayClient,
    options: RelayClientOptions = {},
  ): Promise<RelayClient> {
    const descriptor = await RelayClient.#loadDescriptor(origin, options, ingress);
    const shaping = options.shaping ?? ingress.#options.shaping ?? DEFAULT_SHAPING;
    return RelayClient.#create(
      descriptor.origin,
      descriptor,
      { ...options, ...(shaping ? { shaping } : {}) },
      ingress,
    );
  }

  static async #loadDescriptor(
    origin: string,
    options: RelayClientOptions,
    via?: RelayClient,
  ): Promise<Descriptor> {
    const bytes = via
      ? await via.peerDescriptor(origin)
      : await fetchDescriptorBytes(origin, options);
    const descriptor = await openDescriptor(bytes, origin, options);
    if (usableKeys(descriptor, (options.now ?? Date.now)()).length === 0) {
      throw new DescriptorError("relay descriptor has no usable key");
    }
    return descriptor;
  }

  /** Asks this relay for a peer's signed descriptor (the caller verifies it). */
  async peerDescriptor(origin: string): Promise<Uint8Array> {
    const bucket = this.#padding.bucketFor(
      Math.max(DESCRIPTOR_BUCKET, this.#options.minBucket ?? 0),
    );
    const response = await this.#send(
      { kind: RequestKind.peer_descriptor, responseSize: bucket, origin },
      bucket,
    );
    if (
      response.status === RelayStatus.ok &&
      "kind" in response &&
      response.kind === RequestKind.peer_descriptor
    ) {
      return response.descriptor;
    }
    throw new TransportError(
      `relay could not provide the peer's descriptor (${relayStatusName(response.status)})`,
    );
  }

  /** Bytes a forward or proxy request adds around an envelope for `nextHop`, at most. */
  #hopOverhead(nextHop: string): number {
    return requestWrapping({
      kind: RequestKind.forward,
      responseSize: 0,
      nextHop,
      envelope: new Uint8Array(0),
    });
  }

  /** Has this relay queue a sealed envelope for `nextHop` (a forward). */
  async #forward(nextHop: string, envelope: Uint8Array): Promise<DepositResult> {
    const bucket = this.#padding.bucketFor(
      Math.max(this.#options.minBucket ?? 0, envelope.length + this.#hopOverhead(nextHop)),
    );
    // Sent at once: the request it wraps already waited for its own client's slot.
    const response = await this.#exchange(
      { kind: RequestKind.forward, responseSize: bucket, nextHop, envelope },
      bucket,
    );
    if (
      response.status === RelayStatus.accepted &&
      "kind" in response &&
      response.kind === RequestKind.forward
    ) {
      return { status: "forwarded" };
    }
    return failure(response.status);
  }

  /** Has this relay pass a sealed request to `nextHop` now; returns the next hop's HTTP answer. */
  async #proxy(
    nextHop: string,
    envelope: Uint8Array,
    innerResponseSize: number,
  ): Promise<{ status: number; body: Uint8Array }> {
    // The answer carries the inner answer plus up to 60 bytes of framing and sealing.
    const bucket = this.#padding.bucketFor(
      Math.max(
        this.#options.minBucket ?? 0,
        envelope.length + this.#hopOverhead(nextHop),
        innerResponseSize + PROXY_ANSWER_OVERHEAD,
      ),
    );
    const response = await this.#exchange(
      { kind: RequestKind.proxy, responseSize: bucket, nextHop, envelope },
      bucket,
    );
    if (
      response.status === RelayStatus.ok &&
      "kind" in response &&
      response.kind === RequestKind.proxy
    ) {
      return { status: response.httpStatus, body: response.response };
    }
    throw new TransportError(`ingress relay answered ${relayStatusName(response.status)}`);
  }

  /** The relay's verified descriptor: origin, signing key, HPKE keys, buckets, round length. */
  get descriptor(): Descriptor {
    return this.#descriptor;
  }

  /** The relay's buckets, from its descriptor. */
  get padding(): PaddingPolicy {
    return this.#padding;
  }

  /** Re-fetches the descriptor (done automatically once when the relay reports an unknown key). */
  async refresh(): Promise<void> {
    this.#descriptor = await RelayClient.#loadDescriptor(
      this.origin,
      {
        ...this.#options,
        pinnedSigningKey: this.#options.pinnedSigningKey ?? this.#descriptor.signingKey,
      },
      this.via,
    );
    this.#padding = new PaddingPolicy(this.#descriptor.buckets);
  }

  /**
   * Seals `message` to the card's inbox key and deposits it: in one deposit, or in fragments
   * when it is larger than one deposit carries (partCapacity), each in its own write slot. Pass
   * the same `messageId` when retrying so the relay delivers it (each fragment) once.
   */
  async deposit(
    card: ContactCard,
    message: Uint8Array,
    options: DepositOptions = {},
  ): Promise<DepositResult> {
    // A lane the app named stays as it is; otherwise this one opens or renews an automatic one.
    const named =
      this.#contacts.has(toHex(card.readId)) && !this.#autoLanes.has(toHex(card.readId));
    if (this.#autoLaneDrops > 0 && this.#shaper && !named) this.#openLane(card, true);
    return this.depositParts(card, await this.sealParts(card, message), options);
  }

  /**
   * Gives a contact's inbox a lane: a share of this shaping client's write slots (the profile's
   * `dropShare`, split evenly among its contacts), drawn before the slot looks at what waits.
   * Deposits to the contact leave only in its slots, and its slots with nothing to send carry
   * drop cover into its inbox, which its reader discards. So the relay holding that inbox sees
   * deposits from this client at one rate whether or not the user writes (PROTOCOL.md,
   * "Drop cover"). `deposit` opens a lane by itself for as long as a conversation goes on
   * (the profile's `autoLaneDrops`); a lane named here stays until the returned
   * function ends it, whether or not the user writes, so its contact must read often: drops
   * count toward the inbox's quota until they are read. At most MAX_COVER_CONTACTS lanes, the
   * most recently opened; every lane adds items the contact must read. Nothing happens on a
   * client that does not shape.
   *
   * @example const stop = client.coverContact(bobCard); // bob's inbox now gets a steady stream
   */
  coverContact(card: ContactCard): () => void {
    if (!this.#shaper) return () => undefined;
    const lane = this.#openLane(card, false);
    return () => {
      if (this.#contacts.get(lane) === card && !this.#autoLanes.has(lane)) this.#endLane(lane);
    };
  }

  /** Opens (or renews) a contact's lane; `auto`: one deposit opened, which ends when idle. */
  #openLane(card: ContactCard, auto: boolean): string {
    const lane = toHex(card.readId);
    // A drop sealed ahead was sealed to the card the lane had: another key gets its own.
    const had = this.#contacts.get(lane);
    const same =
      had !== undefined &&
      constantTimeEqual(had.publicKey, card.publicKey) &&
      constantTimeEqual(had.inboxId, card.inboxId);
    if (!same) this.#sealedCover.delete(lane);
    this.#contacts.delete(lane);
    this.#contacts.set(lane, card);
    if (auto) this.#autoLanes.set(lane, 0);
    else this.#autoLanes.delete(lane);
    while (this.#contacts.size > MAX_COVER_CONTACTS) {
      const oldest = this.#contacts.keys().next().value!;
      this.#contacts.delete(oldest);
      this.#autoLanes.delete(oldest);
      this.#sealedCover.delete(oldest);
    }
    this.#shaper?.setLanes([...this.#contacts.keys()], this.#dropShare);
    return lane;
  }

  #endLane(lane: string): void {
    this.#contacts.delete(lane);
    this.#autoLanes.delete(lane);
    this.#sealedCover.delete(lane);
    this.#shaper?.setLanes([...this.#contacts.keys()], this.#dropShare);
  }

  /** Pads and seals `message` to the card's inbox key, sized for one deposit at this relay. */
  sealFor(card: ContactCard, message: Uint8Array): Promise<Uint8Array> {
    return this.#sealPart(card, message, "message");
  }

  /** Pads and seals one deposit's payload of the given part (message, fragment or drop). */
  #sealPart(card: ContactCard, bytes: Uint8Array, part: PayloadPart): Promise<Uint8Array> {
    const minBucket = this.#options.minBucket ?? 0;
    return sealPayload(card, bytes, this.#padding, DEPOSIT_OVERHEAD, minBucket, part);
  }

  /**
   * Seals `message` for the card's inbox as the payloads of its deposits: one, or its fragments
   * (fragment.ts) when it is larger than partCapacity. Deposit them with depositParts.
   */
  async sealParts(card: ContactCard, message: Uint8Array): Promise<Uint8Array[]> {
    const fragments = splitMessage(message, this.partCapacity(PAYLOAD_SEAL_OVERHEAD));
    if (!fragments) return [await this.sealFor(card, message)];
    return Promise.all(fragments.map((fragment) => this.#sealPart(card, fragment, "fragment")));
  }

  /**
   * The most bytes a message may have to go in one deposit when sealing adds `sealOverhead`:
   * one cell's worth when this client shapes (every request one size), else that of the largest
   * bucket whose items a reader behind an ingress can still fetch (the ingress's answer wraps the
   * fetch's, so an item of the largest bucket could only be read directly). A longer message goes
   * as fragments.
   */
  partCapacity(sealOverhead: number): number {
    const bucket = this.#shaper ? this.#options.minBucket! : this.#proxyReadableBucket();
    return this.#padding.capacity(bucket, DEPOSIT_OVERHEAD + sealOverhead);
  }

  #proxyReadableBucket(): number {
    const { buckets, largest } = this.#padding;
    const readable = buckets.filter((b) => b + PROXY_ANSWER_OVERHEAD <= largest);
    return readable[readable.length - 1] ?? largest;
  }

  /** The longest message deposit() takes from this client: its fragments' limit in bytes. */
  get maxMessageBytes(): number {
    return maxMessageLength(this.partCapacity(PAYLOAD_SEAL_OVERHEAD));
  }

  /**
   * Deposits the payloads of one message (sealParts), in order, one write slot each; the
   * fragments' deposit ids derive from `options.messageId`. Stops at the first that fails and
   * returns its result.
   */
  async depositParts(
    target: DepositTarget,
    payloads: readonly Uint8Array[],
    options: DepositOptions = {},
  ): Promise<DepositResult> {
    if (payloads.length === 1) return this.depositPayload(target, payloads[0]!, options);
    const messageId = options.messageId ?? randomBytes(MESSAGE_ID_LENGTH);
    let result: DepositResult = { status: "forwarded" };
    let duplicates = 0;
    for (const [index, payload] of payloads.entries()) {
      result = await this.depositPayload(target, payload, {
        messageId: await partDepositId(messageId, index),
      });
      if (result.status !== "accepted" && result.status !== "forwarded") return result;
      if (result.status === "accepted" && result.duplicate) duplicates++;
    }
    return result.status === "accepted"
      ? { status: "accepted", duplicate: duplicates === payloads.length }
      : result;
  }

  /**
   * Pads `message` so that, once sealed with `sealOverhead` more bytes, a deposit of it fills a
   * request bucket exactly (for payloads sealed by the caller, e.g. under a group key).
   */
  padPayload(message: Uint8Array, sealOverhead: number): Uint8Array {
    return this.#padding.pad(
      message,
      DEPOSIT_OVERHEAD + sealOverhead,
      this.#options.minBucket ?? 0,
    );
  }

  /**
   * Deposits a payload the caller has already sealed for the inbox's readers (see padPayload).
   *
   * @example
   * const sealed = await seal(client.padPayload(message, SEAL_OVERHEAD));
   * await client.depositPayload(card, sealed, { messageId }); // { status: "accepted", ... }
   */
  async depositPayload(
    target: DepositTarget,
    payload: Uint8Array,
    options: DepositOptions = {},
  ): Promise<DepositResult> {
    const lane = toHex(target.readId);
    return this.#slot(
      "write",
      () => {
        // A message in an automatic lane restarts its count of idle drops.
        if (this.#autoLanes.has(lane)) this.#autoLanes.set(lane, 0);
        return this.#depositNow(target, payload, options);
      },
      lane,
    );
  }

  /** A deposit sent at once (in the slot that carries it, when this client shapes). */
  async #depositNow(
    target: DepositTarget,
    payload: Uint8Array,
    options: DepositOptions,
  ): Promise<DepositResult> {
    const minBucket = this.#options.minBucket ?? 0;
    const bucket = this.#padding.bucketFor(Math.max(minBucket, payload.length + DEPOSIT_OVERHEAD));
    const request: RelayRequest = {
      kind: RequestKind.deposit,
      responseSize: bucket,
      readId: target.readId,
      writeToken: target.writeToken.expose(),
      messageId: options.messageId ?? randomBytes(MESSAGE_ID_LENGTH),
      flags: 0,
      payload,
    };
    if (this.via) {
      // Through an ingress the relay's answer never comes back: a token goes in up front.
      const spent = this.#wantsToken(request) ? await this.#withToken(request, bucket) : undefined;
      const { sealed } = spent
        ? await this.#seal(spent.request, spent.bucket, false)
        : await this.#seal(request, bucket, false);
      const forwarded = await this.via.#forward(this.origin, sealed);
      // A federation batch slot has a fixed capacity at the ingress (4 KiB by default): a larger
      // envelope (e.g. a big group's Welcome) goes by proxy instead, which still hides this client
      // from the inbox relay but leaves at once rather than in the next batch.
      if (forwarded.status !== "too_large") return forwarded;
    }
    const response = await this.#exchange(request, bucket);
    if (
      response.status === RelayStatus.accepted &&
      "kind" in response &&
      response.kind === RequestKind.deposit
    ) {
      return { status: "accepted", duplicate: response.duplicate };
    }
    return failure(response.status);
  }

  /**
   * Sends one cover deposit into `inbox` (LOOP_COVER: the sink) with a payload sealed ahead of
   * its slot, then seals the next one. A real write's payload is sealed before it waits for its
   * slot; cover sealed in the slot would leave a seal's time later, which over many slots would
   * tell a link observer which of them are cover.
   */
  async #sendCover(
    inbox: string,
    seal: () => Promise<SealedCover>,
    send: (cover: SealedCover) => Promise<void>,
  ): Promise<void> {
    const ready = this.#sealedCover.get(inbox) ?? seal();
    this.#sealedCover.delete(inbox);
    try {
      await send(await ready);
    } finally {
      // Only once the request is answered: a seal while it is under way would hold it up.
      if (!this.#sealedCover.has(inbox) && this.#coverWanted(inbox)) {
        const next = seal();
        next.catch(() => undefined);
        this.#sealedCover.set(inbox, next);
      }
    }
  }

  /** Whether cover still goes to `inbox`: the sink while this client shapes, a lane while open. */
  #coverWanted(inbox: string): boolean {
    if (!this.#shaper?.running) return false;
    return inbox === LOOP_COVER || this.#contacts.has(inbox);
  }

  /** Cover for a write slot: a loop deposit, sealed like any, into this client's sink inbox. */
  async #loopWrite(): Promise<void> {
    const loop = this.#loop!;
    const card = contactCard(loop.sink);
    await this.#sendCover(
      LOOP_COVER,
      async () => {
        const tag = randomBytes(16);
        return { tag, payload: await this.sealFor(card, tag) };
      },
      async ({ tag, payload }) => {
        await this.#depositCover(card, payload, "loop");
        loop.tags.add(toHex(tag));
        if (loop.tags.size > MAX_LOOP_TAGS) loop.tags.delete(loop.tags.values().next().value!);
      },
    );
    loop.sent++;
  }

  /** Cover for a contact's write slot: a drop, sealed like any deposit, into its inbox. */
  async #dropWrite(lane: string): Promise<void> {
    const card = this.#contacts.get(lane);
    if (!card) return this.#loopWrite();
    const idle = this.#autoLanes.get(lane);
    if (idle !== undefined) {
      // The conversation has gone quiet: the lane ends, and this slot is the loop's like any.
      if (idle >= this.#autoLaneDrops) {
        this.#endLane(lane);
        return this.#loopWrite();
      }
      this.#autoLanes.set(lane, idle + 1);
    }
    await this.#sendCover(
      lane,
      async () => ({ tag: new Uint8Array(0), payload: await this.#sealPart(card, drop(), "drop") }),
      ({ payload }) => this.#depositCover(card, payload, "drop"),
    );
  }

  /** Deposits a cover payload now; TransportError when the relay does not take it. */
  async #depositCover(card: ContactCard, payload: Uint8Array, what: string): Promise<void> {
    const answer = await this.#depositNow(card, payload, {});
    if (answer.status !== "accepted" && answer.status !== "forwarded") {
      throw new TransportError(`${what} deposit refused (${answer.status})`);
    }
  }

  /**
   * The loop's read: a fetch of the sink inbox, matching what came back against the loop
   * deposits sent; once LOOP_ACK_EVERY items are read, the next one acknowledges them instead
   * (one request per slot, never an extra one).
   */
  async #coverRead(): Promise<void> {
    // Every other cover read is the loop's, so the loop keeps pace with the loop deposits
    // whatever is watched; the watched inboxes take turns with the rest, so their reads come on
    // this schedule too, and a real read (at the app's moment) is one more of the same.
    const turn = this.#watchTurn++;
    if (this.#watched.size === 0 || turn % 2 === 0) return this.#loopRead();
    const [reader, afterSeq] = [...this.#watched][((turn - 1) / 2) % this.#watched.size]!;
    await this.#fetchNow(reader, { afterSeq: afterSeq() });
  }

  /**
   * Has a shaping client's cover reads fetch `reader` too (after `afterSeq()`, as the app's own
   * reads would), and discard what they get: the relay then sees this inbox read on the
   * client's schedule, not only when the app reads it. Returns the function that stops it.
   * Nothing happens on a client that does not shape.
   *
   * @example const unwatch = client.watch(epochInbox, () => cursor);
   */
  watch(reader: ReadCapability, afterSeq: () => number = () => 0): () => void {
    if (!this.#shaper) return () => undefined;
    this.#watched.set(reader, afterSeq);
    return () => void this.#watched.delete(reader);
  }

  async #loopRead(): Promise<void> {
    const loop = this.#loop!;
    const state = (this.#loopCursor ??= { seen: 0, acked: 0 });
    if (state.seen - state.acked >= LOOP_ACK_EVERY) {
      const bucket = this.#options.minBucket!;
      await this.#exchange(
        {
          kind: RequestKind.ack,
          responseSize: bucket,
          readSecret: loop.sink.readSecret.expose(),
          writeTokenHash: loop.sink.writeTokenHash,
          upToSeq: state.seen,
        },
        bucket,
      );
      state.acked = state.seen;
      return;
    }
    const page = await this.#fetchNow(loop.sink, { afterSeq: state.seen });
    if (page.status !== "ok") return;
    for (const item of page.items) {
      try {
        const tag = toHex(await openPayload(loop.sink, item.payload, this.#padding));
        if (loop.tags.delete(tag)) loop.received++;
      } catch {
        // not one of ours: nothing to count
      }
    }
    state.seen = page.lastSeq;
  }

  /**
   * Slots and loop counters of a shaping client (undefined when it does not shape): if
   * loopReceived falls behind loopSent by more than a few rounds' worth, traffic is being
   * dropped somewhere between this client and its relay.
   */
  get shapingStats(): LoopStats | undefined {
    if (!this.#shaper || !this.#loop) return undefined;
    return { ...this.#shaper.stats, loopSent: this.#loop.sent, loopReceived: this.#loop.received };
  }

  /** Stops this client's slots (a shaping client sends until closed); waiting requests fail. */
  close(): void {
    this.#unscheduleRefills?.();
    this.#shaper?.stop();
  }

  /**
   * Fetches and opens items after `afterSeq` (default 0: everything not yet acked). `bucket`
   * overrides the fetch bucket for this call. A message sent in fragments is returned whole, at
   * the place of its first fragment, once all have arrived; `lastSeq` then stops before a
   * message still missing some (see fragment.ts), so acknowledging `lastSeq` loses nothing.
   * Drop cover from contacts (coverContact) is read and left out; acknowledge `lastSeq` on a
   * schedule of the reader's own (say every few reads) whenever it has moved, not only when
   * messages came, or the acks would show when they did.
   */
  async fetch(
    inbox: Inbox,
    options: { afterSeq?: number; maxItems?: number; bucket?: number } = {},
  ): Promise<FetchResult> {
    const afterSeq = options.afterSeq ?? 0;
    const maxItems = options.maxItems ?? 256;
    const items: InboxMessage[] = [];
    let page = await this.fetchItems(inbox, options);
    for (let pages = 1; ; pages++) {
      if (page.status !== "ok") return page;
      items.push(...page.items);
      const opened = await this.#opened(inbox, { ...page, items }, afterSeq);
      if (!page.more || page.items.length === 0) return opened.result;
      // A page that ends inside a fragmented message: read on until it is whole. A shaping
      // client also reads on while the relay holds more, in its next read slots (the wire
      // looks the same whatever a slot reads): through an ingress a slot carries one item, and
      // a reader that waited for the app's next poll would fall behind its contacts' drops.
      const drain =
        this.#shaper !== undefined && pages < SHAPED_READ_PAGES && items.length < maxItems;
      if (!opened.waiting && !drain) return opened.result;
      page = await this.fetchItems(inbox, { ...options, afterSeq: page.lastSeq });
    }
  }

  /** Fetches items as stored (still sealed), one page. */
  fetchItems(
    reader: ReadCapability,
    options: { afterSeq?: number; maxItems?: number; bucket?: number } = {},
  ): Promise<ItemsResult> {
    return this.#slot("read", () => this.#fetchNow(reader, options));
  }

  /** One page fetched at once (in the slot that carries it, when this client shapes). */
  async #fetchNow(
    reader: ReadCapability,
    options: { afterSeq?: number; maxItems?: number; bucket?: number },
  ): Promise<ItemsResult> {
    const bucket = this.#padding.bucketFor(
      Math.max(
        options.bucket ?? this.#options.fetchBucket ?? 16 * 1024,
        this.#options.minBucket ?? 0,
      ),
    );
    const afterSeq = options.afterSeq ?? 0;
    const response = await this.#exchange(
      {
        kind: RequestKind.fetch,
        responseSize: bucket,
        readSecret: reader.readSecret.expose(),
        writeTokenHash: reader.writeTokenHash,
        afterSeq,
        maxItems: options.maxItems ?? 256,
      },
      bucket,
    );
    if (!("kind" in response) || response.kind !== RequestKind.fetch)
      return failure(response.status);
    const lastSeq = response.items.reduce((last, item) => Math.max(last, item.seq), afterSeq);
    return { status: "ok", items: response.items, lastSeq, more: response.more };
  }

  /** Opens fetched items and rebuilds fragmented messages (fragment.ts). */
  async #opened(
    inbox: Inbox,
    result: ItemsResult,
    afterSeq: number,
  ): Promise<{ result: FetchResult; waiting: boolean }> {
    if (result.status !== "ok") return { result, waiting: false };
    const opened: OpenedItem<Uint8Array>[] = [];
    for (const item of result.items) opened.push(await this.#openItem(inbox, item));
    const { entries, through, waiting } = reassemble(opened, afterSeq, (bytes) => bytes);
    const messages: InboxMessage[] = [];
    const unreadable: number[] = [];
    for (const entry of entries) {
      if ("message" in entry) messages.push({ seq: entry.seq, payload: entry.message });
      else if (!("cover" in entry)) unreadable.push(entry.seq);
    }
    return {
      result: { status: "ok", messages, unreadable, lastSeq: through, more: result.more },
      waiting,
    };
  }

  /** One item opened as a whole message, else as a fragment, else unreadable. */
  async #openItem(inbox: Inbox, item: InboxMessage): Promise<OpenedItem<Uint8Array>> {
    const { seq, payload } = item;
    try {
      return { seq, payload, whole: await openPayload(inbox, payload, this.#padding) };
    } catch {
      // not a whole message: perhaps drop cover, or a fragment of one
    }
    try {
      await openPayload(inbox, payload, this.#padding, "drop");
      return { seq, payload, cover: true };
    } catch {
      // not drop cover either
    }
    try {
      const fragment = decodeFragment(await openPayload(inbox, payload, this.#padding, "fragment"));
      return { seq, payload, fragment };
    } catch {
      return { seq, payload };
    }
  }

  /**
   * Fetches everything after `afterSeq`, page by page. An item too big for the fetch bucket
   * comes back as an empty page with `more`; the next page then uses a larger bucket.
   */
  async fetchAll(inbox: Inbox, afterSeq = 0): Promise<FetchResult> {
    return (await this.#opened(inbox, await this.fetchAllItems(inbox, afterSeq), afterSeq)).result;
  }

  /** fetchAll without opening: every item after `afterSeq` as stored. */
  async fetchAllItems(reader: ReadCapability, afterSeq = 0): Promise<ItemsResult> {
    const items: InboxMessage[] = [];
    let lastSeq = afterSeq;
    let bucket: number | undefined;
    for (;;) {
      const page = await this.fetchItems(reader, {
        afterSeq: lastSeq,
        ...(bucket ? { bucket } : {}),
      });
      if (page.status !== "ok") return page;
      items.push(...page.items);
      const progressed = page.lastSeq > lastSeq;
      lastSeq = page.lastSeq;
      const used = this.#padding.bucketFor(
        Math.max(bucket ?? this.#options.fetchBucket ?? 16 * 1024, this.#options.minBucket ?? 0),
      );
      // Through an ingress, only answers its own answer can wrap (see partCapacity).
      const largest = this.via ? this.#proxyReadableBucket() : this.#padding.largest;
      const larger = this.#padding.buckets.find((b) => b > used && b <= largest);
      if (!page.more || (!progressed && larger === undefined)) {
        return { status: "ok", items, lastSeq, more: page.more };
      }
      bucket = progressed ? undefined : larger;
    }
  }

  /** Deletes items up to and including `upToSeq` from the inbox. */
  async ack(inbox: ReadCapability, upToSeq: number): Promise<AckResult> {
    const bucket = this.#padding.bucketFor(this.#options.minBucket ?? 0);
    const response = await this.#send(
      {
        kind: RequestKind.ack,
        responseSize: bucket,
        readSecret: inbox.readSecret.expose(),
        writeTokenHash: inbox.writeTokenHash,
        upToSeq,
      },
      bucket,
    );
    if (!("kind" in response) || response.kind !== RequestKind.ack) return failure(response.status);
    return { status: "ok", removed: response.removed };
  }

  /** Sends one cover request of the given bucket (default: the smallest allowed). */
  async cover(bucket = this.#padding.bucketFor(this.#options.minBucket ?? 0)): Promise<void> {
    const response = await this.#send({ kind: RequestKind.cover, responseSize: bucket }, bucket);
    if (response.status !== RelayStatus.ok) {
      throw new TransportError(`cover request answered ${relayStatusName(response.status)}`);
    }
  }

  /** Pads and seals a request to this relay's newest usable key. */
  async #seal(
    request: RelayRequest,
    bucket: number,
    retried: boolean,
  ): Promise<{ sealed: Uint8Array<ArrayBuffer>; keying: ResponseKeying }> {
    const [key] = usableKeys(this.#descriptor, (this.#options.now ?? Date.now)());
    if (!key) {
      if (retried) throw new DescriptorError("relay descriptor has no usable key");
      await this.refresh();
      return this.#seal(request, bucket, true);
    }
    const plaintext = this.#padding.pad(
      encode(relayRequestCodec, request),
      REQUEST_OVERHEAD,
      bucket,
    );
    return sealRequest(key.config, plaintext);
  }

  /** POSTs a sealed request to this relay. */
  async #post(sealed: Uint8Array<ArrayBuffer>): Promise<{ status: number; body: Uint8Array }> {
    const doFetch = this.#options.fetch ?? fetch;
    let http: Response;
    try {
      http = await doFetch(new URL("/v1/relay", this.origin), {
        method: "POST",
        headers: { "content-type": MediaTypes.request },
        body: sealed,
      });
    } catch (cause) {
      throw new TransportError(`cannot reach relay at ${this.origin}`, { cause });
    }
    return {
      status: http.status,
      body: new Uint8Array(await http.arrayBuffer().catch(() => new ArrayBuffer(0))),
    };
  }

  /**
   * Runs `send` in this client's next slot of `kind` (of the contact's lane, for a write to a
   * contact with one) when it shapes, else at once.
   */
  #slot<T>(kind: SlotKind, send: () => Promise<T>, lane?: string): Promise<T> {
    return this.#shaper ? this.#shaper.submit(kind, send, lane) : send();
  }

  /** Sends one of this client's own requests, in its slot when it shapes. */
  #send(request: RelayRequest, bucket: number): Promise<RelayResponse> {
    const kind: SlotKind =
      request.kind === RequestKind.deposit || request.kind === RequestKind.forward
        ? "write"
        : "read";
    return this.#slot(kind, () => this.#exchange(request, bucket));
  }

  /** The relay's token policy says this deposit or forward needs a token up front. */
  #wantsToken(request: RelayRequest): boolean {
    const carried = request.kind === RequestKind.deposit || request.kind === RequestKind.forward;
    return (
      carried && !request.token && this.#descriptor.tokens?.requirement === TokenRequirement.always
    );
  }

  /**
   * `request` with a token from the wallet, in a bucket large enough for it; undefined when
   * there is no wallet or the relay does not accept its issuer.
   */
  async #withToken(
    request: RelayRequest,
    bucket: number,
  ): Promise<{ request: RelayRequest; bucket: number } | undefined> {
    if (request.kind !== RequestKind.deposit && request.kind !== RequestKind.forward) {
      return undefined;
    }
    const accepted = this.#descriptor.tokens?.acceptedIssuers ?? [];
    const token = await this.#options.tokens?.take(accepted);
    if (!token) return undefined;
    const withToken = { ...request, token };
    const size = REQUEST_OVERHEAD + LENGTH_PREFIX + relayRequestCodec.size(withToken);
    const grown = Math.max(bucket, this.#padding.bucketFor(size));
    return {
      request: { ...withToken, responseSize: Math.max(request.responseSize, grown) },
      bucket: grown,
    };
  }

  /**
   * Seals, sends and opens one request now (refreshing the descriptor once on HTTP 422), with a
   * token when the relay wants one: up front under an "always" policy, else after it answered
   * token_required (once; a refused token is replaced once).
   */
  async #exchange(request: RelayRequest, bucket: number, retried = false): Promise<RelayResponse> {
    if (this.#wantsToken(request)) {
      const spent = await this.#withToken(request, bucket);
      if (spent) return this.#exchangeTokened(spent.request, spent.bucket, retried);
    }
    const response = await this.#exchangeOnce(request, bucket, retried);
    if (response.status === RelayStatus.token_required && !("token" in request && request.token)) {
      const spent = await this.#withToken(request, bucket);
      if (spent) return this.#exchangeTokened(spent.request, spent.bucket, retried);
    }
    return response;
  }

  async #exchangeTokened(request: RelayRequest, bucket: number, retried: boolean) {
    const response = await this.#exchangeOnce(request, bucket, retried);
    if (response.status !== RelayStatus.token_refused) return response;
    const again = await this.#withToken(request, bucket);
    return again ? this.#exchangeOnce(again.request, again.bucket, retried) : response;
  }

  async #exchangeOnce(
    request: RelayRequest,
    bucket: number,
    retried: boolean,
  ): Promise<RelayResponse> {
    if (this.#cell !== undefined && bucket < this.#cell) {
      // A shaping client's request and answer fill the cell, whatever they carry.
      return this.#exchangeOnce({ ...request, responseSize: this.#cell }, this.#cell, retried);
    }
    const { sealed, keying } = await this.#seal(request, bucket, retried);
    const http = this.via
      ? await this.via.#proxy(this.origin, sealed, request.responseSize)
      : await this.#post(sealed);
    if (http.status === 422 && !retried) {
      await this.refresh();
      return this.#exchangeOnce(request, bucket, true);
    }
    if (http.status !== 200) throw new TransportError(`relay answered HTTP ${http.status}`);
    if (http.body.length !== request.responseSize) {
      throw new TransportError("relay response is not the requested bucket");
    }
    const padded = await openResponse(keying, http.body);
    return decode(relayResponseCodec, this.#padding.unpad(padded), this.#padding.largest);
  }
}
