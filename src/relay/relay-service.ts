/**
 * What the relay does with a request once its envelope is open. Pure relay logic against the
 * ports; it never sees who sent the request.
 */
import { opaque, uint64 } from "../protocol/codec.js";
import { inboxIdOf, readIdFor, writeTokenHash } from "../protocol/inbox-id.js";
import type { PaddingPolicy } from "../protocol/padding-policy.js";
import {
  RequestKind,
  type AckRequest,
  type DepositRequest,
  type FetchRequest,
  type ForwardRequest,
  type PeerDescriptorRequest,
  type ProxyRequest,
  type RelayRequest,
} from "../protocol/relay-request.js";
import type { FetchedItem, RelayResponse } from "../protocol/relay-response.js";
import { RelayStatus } from "../protocol/relay-status.js";
import { ReplayError } from "../protocol/errors.js";
import { dayOf, type Clock } from "./ports/clock.js";
import type { DepositIntake, ReplayRecord } from "./ports/deposit-intake.js";
import type { InboxStore } from "./ports/inbox-store.js";
import type { RelayConfig } from "./relay-config.js";

/** Handles the requests that involve another relay (see federation.ts). */
export interface HopHandler {
  forward(request: ForwardRequest): Promise<RelayResponse>;
  proxy(request: ProxyRequest, capacity: number): Promise<RelayResponse>;
  peerDescriptor(request: PeerDescriptorRequest, capacity: number): Promise<RelayResponse>;
}

/** Bytes of a fetch response outside its items: status, kind, vector length, more flag. */
const FETCH_FRAME = 1 + 1 + 4 + 1;

export class RelayService {
  constructor(
    private readonly config: RelayConfig,
    private readonly inboxes: InboxStore,
    private readonly deposits: DepositIntake,
    private readonly clock: Clock,
    /** Called after a deposit is added, e.g. to close the round at once when rounds are 0 ms. */
    private readonly onDeposit: () => Promise<void> = async () => {},
    /** Carries forward, proxy and peer_descriptor requests; without it they are unsupported. */
    private readonly hops?: HopHandler,
  ) {}

  get padding(): PaddingPolicy {
    return this.config.padding;
  }

  /**
   * Handles one request; `responseCapacity` is how many plaintext bytes the sealed response
   * can carry (the client chose the bucket). A deposit given its request's `replay` record
   * records it in its own storage step and throws ReplayError, having changed nothing, if the
   * record was there; other requests are given none (the caller recorded theirs).
   */
  async handle(
    request: RelayRequest,
    responseCapacity: number,
    replay?: ReplayRecord,
  ): Promise<RelayResponse> {
    switch (request.kind) {
      case RequestKind.deposit:
        return this.#deposit(request, replay);
      case RequestKind.fetch:
        return this.#fetch(request, responseCapacity);
      case RequestKind.ack:
        return this.#ack(request);
      case RequestKind.cover:
        return { status: RelayStatus.ok, kind: RequestKind.cover };
      case RequestKind.forward: {
        if (!this.hops) return { status: RelayStatus.unsupported };
        const answer = await this.hops.forward(request);
        if (answer.status === RelayStatus.accepted) await this.onDeposit();
        return answer;
      }
      case RequestKind.proxy:
        return this.hops
          ? this.hops.proxy(request, responseCapacity)
          : { status: RelayStatus.unsupported };
      case RequestKind.peer_descriptor:
        return this.hops
          ? this.hops.peerDescriptor(request, responseCapacity)
          : { status: RelayStatus.unsupported };
    }
  }

  #expiresDay(): number {
    return dayOf(this.clock.now()) + this.config.retentionDays;
  }

  /** The deposit's padded item, or the answer to a deposit refused before storage is asked. */
  #paddedItem(request: DepositRequest): Uint8Array | RelayResponse {
    if (request.flags !== 0) return { status: RelayStatus.bad_request };
    let item: Uint8Array;
    try {
      item = this.config.padding.pad(request.payload);
    } catch {
      return { status: RelayStatus.too_large };
    }
    // Refuse what can never fit before touching state, so a bad deposit creates no inbox.
    if (item.length > this.config.quota.maxBytes) return { status: RelayStatus.quota };
    return item;
  }

  async #deposit(request: DepositRequest, replay?: ReplayRecord): Promise<RelayResponse> {
    const item = this.#paddedItem(request);
    if (!(item instanceof Uint8Array)) {
      // Refused before storage, but still recorded: a replay of it is refused as one.
      if (replay && !(await this.deposits.parts.replay.add(replay.keyTag, replay.enc))) {
        throw new ReplayError();
      }
      return item;
    }
    // The id commits to the write token: a wrong token names another inbox, which only its
    // sender could ever read, and can neither be refused nor lock the real one.
    const inboxId = await inboxIdOf(request.readId, await writeTokenHash(request.writeToken));
    // Every deposit, an MLS commit included, is held to the quota: members order commits
    // themselves (first valid one in sequence order wins), so a flood cannot block a commit
    // that reached the inbox first, and a flooder is bounded like anyone else.
    const outcome = await this.deposits.deposit({
      entry: { inboxId, messageId: request.messageId, item },
      expiresDay: this.#expiresDay(),
      limits: this.config.quota,
      replay,
    });
    switch (outcome) {
      case "replay":
        throw new ReplayError();
      case "full":
      case "quota":
        return { status: RelayStatus.quota };
      case "added":
        await this.onDeposit();
        return { status: RelayStatus.accepted, kind: RequestKind.deposit, duplicate: false };
      case "duplicate":
        return { status: RelayStatus.accepted, kind: RequestKind.deposit, duplicate: true };
    }
  }

  /** The inbox a fetch or ack names: recomputed from its read secret and token hash. */
  async #readInbox(request: FetchRequest | AckRequest): Promise<Uint8Array> {
    return inboxIdOf(await readIdFor(request.readSecret), request.writeTokenHash);
  }

  /**
   * Reads what fits in the answer, in steps: the first reads as many items as would fill it if
   * each payload filled the smallest bucket (the SDK pads payloads to their bucket), each
   * further step as many as the room left holds at the size read so far, plus one. Reading all
   * `maxItems` at once made the store hand over up to 256 items for an answer that holds 16 of
   * them, at every page of a large inbox.
   */
  async #fetch(request: FetchRequest, responseCapacity: number): Promise<RelayResponse> {
    const inboxId = await this.#readInbox(request);
    const maxItems = Math.min(request.maxItems, this.config.maxFetchItems);
    const smallest = this.config.padding.buckets[0]!;
    let step = Math.min(maxItems, Math.ceil(responseCapacity / smallest) + 1);
    // (responseCapacity is below the largest bucket: at most a few thousand items a step.)
    const items: FetchedItem[] = [];
    let used = FETCH_FRAME;
    let afterSeq = request.afterSeq;
    for (;;) {
      const found = await this.inboxes.fetch(inboxId, afterSeq, step);
      if (!found) {
        // Gone between two steps (acknowledged and expired): what was read stands.
        if (items.length === 0) return { status: RelayStatus.not_found };
        return { status: RelayStatus.ok, kind: RequestKind.fetch, items, more: false };
      }
      for (const stored of found.items) {
        const payload = this.config.padding.unpad(stored.item);
        const cost = uint64.size(0) + opaque().size(payload);
        if (used + cost > responseCapacity) {
          return { status: RelayStatus.ok, kind: RequestKind.fetch, items, more: true };
        }
        used += cost;
        items.push({ seq: stored.seq, payload });
        afterSeq = stored.seq;
      }
      const room = maxItems - items.length;
      if (!found.more || room === 0) {
        return { status: RelayStatus.ok, kind: RequestKind.fetch, items, more: found.more };
      }
      const average = (used - FETCH_FRAME) / items.length;
      step = Math.min(room, Math.ceil((responseCapacity - used) / average) + 1);
    }
  }

  async #ack(request: AckRequest): Promise<RelayResponse> {
    const removed = await this.inboxes.ack(await this.#readInbox(request), request.upToSeq);
    if (removed === undefined) return { status: RelayStatus.not_found };
    return { status: RelayStatus.ok, kind: RequestKind.ack, removed };
  }
}
