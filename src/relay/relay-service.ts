/**
 * What the relay does with a request once its envelope is open. Pure relay logic against the
 * ports; it never sees who sent the request.
 */
import { opaque, uint64 } from "../protocol/codec.js";
import { inboxIdFor, writeTokenHash } from "../protocol/inbox-id.js";
import type { PaddingPolicy } from "../protocol/padding-policy.js";
import {
  DepositFlags,
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
import { dayOf, type Clock } from "./ports/clock.js";
import type { InboxStore } from "./ports/inbox-store.js";
import type { RoundPool } from "./ports/round-pool.js";
import type { RelayConfig } from "./relay-config.js";

/** Handles the requests that involve another relay (see federation.ts). */
export interface HopHandler {
  forward(request: ForwardRequest): Promise<RelayResponse>;
  proxy(request: ProxyRequest, capacity: number): Promise<RelayResponse>;
  peerDescriptor(request: PeerDescriptorRequest, capacity: number): Promise<RelayResponse>;
}

/** The quota a commit deposit is held to (none: see #deposit). */
const UNLIMITED = { maxItems: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER };

/** Bytes of a fetch response outside its items: status, kind, vector length, more flag. */
const FETCH_FRAME = 1 + 1 + 4 + 1;

export class RelayService {
  constructor(
    private readonly config: RelayConfig,
    private readonly inboxes: InboxStore,
    private readonly pool: RoundPool,
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
   * can carry (the client chose the bucket).
   */
  async handle(request: RelayRequest, responseCapacity: number): Promise<RelayResponse> {
    switch (request.kind) {
      case RequestKind.deposit:
        return this.#deposit(request);
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

  async #deposit(request: DepositRequest): Promise<RelayResponse> {
    if ((request.flags & ~DepositFlags.commit) !== 0) return { status: RelayStatus.bad_request };
    const commit = (request.flags & DepositFlags.commit) !== 0;
    let item: Uint8Array;
    try {
      item = this.config.padding.pad(request.payload);
    } catch {
      return { status: RelayStatus.too_large };
    }
    // Refuse what can never fit before touching state, so a bad deposit creates no inbox.
    if (!commit && item.length > this.config.quota.maxBytes) return { status: RelayStatus.quota };
    const { inboxId, messageId } = request;
    const auth = await this.inboxes.authorize(
      inboxId,
      await writeTokenHash(request.writeToken),
      this.#expiresDay(),
    );
    if (auth === "forbidden") return { status: RelayStatus.forbidden };
    // Both are reads; asked together they cost one round trip on a remote store, not two.
    const [known, stored] = await Promise.all([
      this.inboxes.hasMessage(inboxId, messageId),
      this.inboxes.usage(inboxId),
    ]);
    if (known) {
      return { status: RelayStatus.accepted, kind: RequestKind.deposit, duplicate: true };
    }
    // The slot is claimed before the deposit joins the round so a loser learns at once; "held"
    // is this commit's own retry, which goes on (the pool drops a repeated message id).
    if (commit && (await this.inboxes.claimCommitSlot(inboxId, messageId)) === "taken") {
      return { status: RelayStatus.conflict };
    }
    // A commit is exempt from the quota: otherwise any member could fill the epoch's inbox and
    // keep the group from ever moving on (or removing it). The slot bounds this to one item.
    const quota = commit ? UNLIMITED : this.config.quota;
    const added = await this.pool.add({ inboxId, messageId, item }, { stored, ...quota });
    if (added === "quota") return { status: RelayStatus.quota };
    if (added === "added") await this.onDeposit();
    return {
      status: RelayStatus.accepted,
      kind: RequestKind.deposit,
      duplicate: added === "duplicate",
    };
  }

  async #fetch(request: FetchRequest, responseCapacity: number): Promise<RelayResponse> {
    const inboxId = await inboxIdFor(request.readSecret);
    const maxItems = Math.min(request.maxItems, this.config.maxFetchItems);
    const found = await this.inboxes.fetch(inboxId, request.afterSeq, maxItems);
    if (!found) return { status: RelayStatus.not_found };
    const items: FetchedItem[] = [];
    let used = FETCH_FRAME;
    let more = found.more;
    for (const stored of found.items) {
      const payload = this.config.padding.unpad(stored.item);
      const cost = uint64.size(0) + opaque().size(payload);
      if (used + cost > responseCapacity) {
        more = true;
        break;
      }
      used += cost;
      items.push({ seq: stored.seq, payload });
    }
    return { status: RelayStatus.ok, kind: RequestKind.fetch, items, more };
  }

  async #ack(request: AckRequest): Promise<RelayResponse> {
    const removed = await this.inboxes.ack(await inboxIdFor(request.readSecret), request.upToSeq);
    if (removed === undefined) return { status: RelayStatus.not_found };
    return { status: RelayStatus.ok, kind: RequestKind.ack, removed };
  }
}
