/**
 * One member's view of an MLS group carried by Shroud.
 *
 * Every message (application data or commit) is one deposit into the current epoch's inbox on the
 * group's relay, sealed under the epoch's payload key; Welcomes go to each joiner's personal
 * inbox, HPKE-sealed to its inbox key. Commit ordering needs nothing of the relay but one order
 * every reader sees, its sequence numbers: every member applies the FIRST commit in the epoch
 * inbox's order that is valid for its group state and skips the others (junk, a commit that does
 * not process, losing commits of the same epoch). A committer keeps the state createCommit
 * returned aside until its own commit is the first valid one it reads (it won) or another one
 * is (it lost: it applies that one and tries again in the new epoch if its change is still
 * wanted). The relay never sees which deposit is a commit, and nobody can hold an epoch shut.
 *
 * Rules ts-mls needs from a delivery service, kept here: a member never processes its own
 * messages (it skips its own message ids); a commit is processed before the next epoch's messages
 * (the next epoch's inbox is only known once the commit is applied); messages from a future epoch
 * wait in a buffer; every send is saved (state, then an outbox entry with its message id) before
 * it leaves, so a retry after a crash is the same deposit. The relay shuffles each round, so a
 * fetched page is read with each sender's application messages back in ratchet-generation order
 * (ts-mls keeps only a few skipped generations); commits keep their places, which decide the
 * epoch. Whatever is read outside sync() (by change(), or by a sync that failed part-way) is
 * saved with the session and returned by the next sync().
 */
import {
  createApplicationMessage,
  createCommit,
  createGroup,
  decodeMlsMessage,
  emptyPskIndex,
  encodeGroupState,
  encodeMlsMessage,
  joinGroup,
  makePskIndex,
  processPrivateMessage,
  zeroOutUint8Array,
  type ClientState,
  type IncomingMessageCallback,
  type Proposal,
  type RatchetTree,
} from "ts-mls";
import { constantTimeEqual, randomBytes, toHex, utf8 } from "../../protocol/bytes.js";
import { ConfigError, TransportError } from "../../protocol/errors.js";
import { GroupError } from "../errors.js";
import { MESSAGE_ID_LENGTH } from "../../protocol/relay-request.js";
import { decode } from "../../protocol/codec.js";
import { partDepositId, reassemble, splitMessage, type OpenedItem } from "../fragment.js";
import type { ContactCard } from "../inbox.js";
import type { RelayClient } from "../relay-client.js";
import { epochInbox, type EpochInbox } from "./epoch-inbox.js";
import {
  encodeInvitation,
  keyPackageHash,
  PersonalMessageKind,
  type GroupInvitation,
} from "./group-invitation.js";
import {
  encodeGroupMessage,
  GROUP_SEAL_OVERHEAD,
  groupMessageCodec,
  type GroupMessage,
  openGroupItem,
  sealGroupPayload,
} from "./group-payload.js";
import { decodeKeyPackage, newKeyPackage, type KeyPackageRecord } from "./member.js";
import {
  lenientUtf8,
  savedGroupFromJson,
  savedGroupToJson,
  stateFromBytes,
  type GroupEvent,
  type OutboxEntry,
  type PendingCommit,
  type Reading,
  type SavedGroup,
} from "./group-record.js";
import { mlsClientConfig, mlsSuite, RETAINED_EPOCHS } from "./mls-suite.js";
import { decodePrivateMessage, senderOf } from "./sender-data.js";
import { inSenderOrder } from "./sender-order.js";

export type { GroupEvent } from "./group-record.js";

/** How a session reaches relays and keeps its state. */
export interface GroupDeps {
  /** A client for the relay at `origin` (direct, or through an ingress relay). */
  route: (origin: string) => Promise<RelayClient>;
  /** Persists the session (its toJson()); called before anything leaves. */
  save?: (json: string) => Promise<void>;
  /** Milliseconds between fetches while waiting for a commit to decide the epoch (default 100). */
  pollMs?: number;
  /** How long to wait for a sent commit or another to decide the epoch (default 30 s). */
  commitWaitMs?: number;
}

export interface GroupChange {
  /** Member cards (with key packages) to add; a name already in the group is skipped. */
  add?: ContactCard[];
  /** Names to remove; a name no longer in the group is skipped. */
  remove?: string[];
}

export type ChangeOutcome =
  | { status: "committed"; epoch: bigint; attempts: number }
  /** Nothing left to do: the change was already made (possibly by someone else's commit). */
  | { status: "unchanged"; epoch: bigint; attempts: number }
  /** Another commit won and `retry` was off: the group moved on without this change. */
  | { status: "superseded"; epoch: bigint; attempts: number };

const MAX_SENT_IDS = 4096;
const MAX_BUFFERED = 1024;

function nameOf(tree: RatchetTree, leafIndex: number): string {
  const node = tree[leafIndex * 2];
  if (node?.nodeType !== "leaf") return `leaf ${leafIndex}`;
  const { credential } = node.leaf;
  return credential.credentialType === "basic"
    ? lenientUtf8.decode(credential.identity)
    : `leaf ${leafIndex}`;
}

/**
 * One key package per card, drawn at random: a card is static and each package can be joined
 * once, so two groups adding its owner from the same card collide only if they draw the same one
 * (the owner hands out a fresh card, `Member.card()`, to make that unlikely).
 */
function chooseKeyPackages(cards: readonly ContactCard[]): Map<ContactCard, Uint8Array> {
  const chosen = new Map<ContactCard, Uint8Array>();
  for (const card of cards) {
    const packages = card.keyPackages ?? [];
    if (packages.length === 0) continue;
    const [draw] = new Uint32Array(randomBytes(4).buffer);
    chosen.set(card, packages[draw! % packages.length]!);
  }
  return chosen;
}

/** Whether a leaf of an earlier epoch's tree is still the same member (same signature key). */
function sameMember(then: RatchetTree, now: RatchetTree, leafIndex: number | undefined): boolean {
  if (leafIndex === undefined) return false;
  const a = then[leafIndex * 2];
  const b = now[leafIndex * 2];
  if (a?.nodeType !== "leaf" || b?.nodeType !== "leaf") return false;
  const x = a.leaf.signaturePublicKey;
  const y = b.leaf.signaturePublicKey;
  return x.length === y.length && x.every((byte, i) => byte === y[i]);
}

function zero(consumed: Uint8Array[]): void {
  for (const secret of consumed) zeroOutUint8Array(secret);
}

/**
 * @example
 * const group = await GroupSession.create("friends", alice, route);
 * await group.change({ add: [bobCard, carolCard] });
 * await group.send("hello");
 * for (const event of await group.sync()) console.log(event);
 */
export class GroupSession {
  #state: ClientState;
  #removed: boolean;
  /** Epoch inboxes being read, current first. */
  #readings: Reading[];
  #sent: string[];
  #buffered: Uint8Array[];
  #outbox: OutboxEntry[];
  #pending: PendingCommit | undefined;
  /** Whether the pending commit was deposited by this process (a restored one is sent again). */
  #pendingSent = false;
  #consumedOnWin: Uint8Array[] = [];
  /**
   * Events not yet returned by sync(): what change() and send() read or met on the way, and
   * what a sync that failed part-way had already read. Saved with the session.
   */
  #undelivered: GroupEvent[];
  /** The last public operation queued (see #exclusive). */
  #queue: Promise<unknown> = Promise.resolve();
  /** Readings a shaping client's cover reads fetch too (see RelayClient.watch). */
  readonly #watches = new Map<Reading, () => void>();

  readonly name: string;
  /** Origin of the relay holding the group's epoch inboxes. */
  readonly relay: string;
  readonly relaySigningKey: Uint8Array | undefined;

  private constructor(
    saved: SavedGroup,
    private readonly deps: GroupDeps,
  ) {
    this.name = saved.name;
    this.relay = saved.relay;
    this.relaySigningKey = saved.relaySigningKey;
    this.#removed = saved.removed;
    this.#state = saved.state;
    this.#readings = saved.readings;
    this.#sent = saved.sent;
    this.#buffered = saved.buffered;
    this.#outbox = saved.outbox;
    this.#pending = saved.pending;
    this.#undelivered = saved.events;
  }

  /** A session at the start of an epoch with nothing read, sent or pending yet. */
  static async #fresh(
    name: string,
    relay: string,
    relaySigningKey: Uint8Array | undefined,
    state: ClientState,
    deps: GroupDeps,
  ): Promise<GroupSession> {
    const session = new GroupSession(
      {
        name,
        relay,
        ...(relaySigningKey ? { relaySigningKey } : {}),
        removed: false,
        state,
        readings: [{ ...(await epochInbox(state, relay)), cursor: 0 }],
        sent: [],
        buffered: [],
        outbox: [],
        events: [],
      },
      deps,
    );
    await session.#save();
    return session;
  }

  /** Creates a group with `creator` as its only member; its inboxes live on `relay`. */
  static async create(
    name: string,
    creator: { name: string },
    relay: RelayClient,
    deps: GroupDeps,
  ): Promise<GroupSession> {
    if (name.length === 0 || utf8(name).length > 64) {
      throw new ConfigError("a group name has 1 to 64 bytes");
    }
    const own: KeyPackageRecord = await newKeyPackage(creator.name);
    const state = await createGroup(
      randomBytes(32),
      own.publicPackage,
      own.privatePackage,
      [],
      await mlsSuite(),
      mlsClientConfig,
    );
    return GroupSession.#fresh(name, relay.origin, relay.descriptor.signingKey, state, deps);
  }

  /** Joins from an invitation with the key package it names. */
  static async join(
    invitation: GroupInvitation,
    keyPackage: KeyPackageRecord,
    deps: GroupDeps,
  ): Promise<GroupSession> {
    const decoded = (() => {
      try {
        return decodeMlsMessage(invitation.welcome, 0);
      } catch {
        return undefined;
      }
    })();
    if (decoded?.[0].wireformat !== "mls_welcome") {
      throw new GroupError("the invitation holds no MLS Welcome");
    }
    let state: ClientState;
    try {
      state = await joinGroup(
        decoded[0].welcome,
        keyPackage.publicPackage,
        keyPackage.privatePackage,
        emptyPskIndex,
        await mlsSuite(),
        undefined,
        undefined,
        mlsClientConfig,
      );
    } catch (cause) {
      throw new GroupError("the Welcome could not be joined", { cause });
    }
    const pin = invitation.relaySigningKey.length > 0 ? invitation.relaySigningKey : undefined;
    return GroupSession.#fresh(invitation.groupName, invitation.groupRelay, pin, state, deps);
  }

  get epoch(): bigint {
    return this.#state.groupContext.epoch;
  }

  /** The MLS group id (never shown to a relay: it is inside every sealed payload). */
  get groupId(): Uint8Array {
    return this.#state.groupContext.groupId;
  }

  get treeHash(): Uint8Array {
    return this.#state.groupContext.treeHash;
  }

  /** Whether a commit removed this member (the session can then only be read, not used). */
  get removed(): boolean {
    return this.#removed;
  }

  /** Names of the members, in leaf order. */
  get members(): string[] {
    const names: string[] = [];
    for (let leaf = 0; leaf * 2 < this.#state.ratchetTree.length; leaf++) {
      if (this.#state.ratchetTree[leaf * 2]) names.push(nameOf(this.#state.ratchetTree, leaf));
    }
    return names;
  }

  /** This member's own name in the group. */
  get self(): string {
    return nameOf(this.#state.ratchetTree, this.#state.privatePath.leafIndex);
  }

  /** The current epoch's inbox id (what the relay sees), for tests and operator views. */
  get currentInboxId(): Uint8Array {
    return this.#readings[0]!.inboxId;
  }

  /** Deposits waiting to leave (after a transport failure). */
  get outboxSize(): number {
    return this.#outbox.length;
  }

  /**
   * Runs one public operation at a time: send, sync and change each read and replace the MLS
   * state across awaits, so two at once would reuse a ratchet generation (and lose a message).
   */
  #exclusive<T>(run: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  #assertActive(): void {
    if (this.#removed) throw new GroupError("this member was removed from the group");
  }

  async #save(): Promise<void> {
    await this.deps.save?.(this.toJson());
  }

  async #home(): Promise<RelayClient> {
    return this.deps.route(this.relay);
  }

  /**
   * Seals an MLS message for an epoch inbox: one payload, or its fragments when it is larger
   * than one deposit of the home client carries (every deposit one cell when it shapes).
   */
  async #sealForEpoch(
    reading: EpochInbox,
    mlsMessage: Uint8Array,
    messageId: Uint8Array,
  ): Promise<Uint8Array[]> {
    const client = await this.#home();
    const message = encodeGroupMessage({ messageId, mlsMessage });
    const key = reading.payloadKey.expose();
    const fragments = splitMessage(message, client.partCapacity(GROUP_SEAL_OVERHEAD));
    if (!fragments) {
      const padded = client.padPayload(message, GROUP_SEAL_OVERHEAD);
      return [await sealGroupPayload(key, reading.inboxId, padded)];
    }
    return Promise.all(
      fragments.map((fragment) =>
        sealGroupPayload(
          key,
          reading.inboxId,
          client.padPayload(fragment, GROUP_SEAL_OVERHEAD),
          "fragment",
        ),
      ),
    );
  }

  /** Outbox entries for the payloads of one message, each with the deposit id it goes by. */
  static async #entries(
    target: Omit<OutboxEntry, "messageId" | "payload">,
    messageId: Uint8Array,
    payloads: readonly Uint8Array[],
  ): Promise<OutboxEntry[]> {
    return Promise.all(
      payloads.map(async (payload, index) => ({
        ...target,
        messageId: payloads.length === 1 ? messageId : await partDepositId(messageId, index),
        payload,
      })),
    );
  }

  #rememberSent(messageId: Uint8Array): void {
    this.#sent.push(toHex(messageId));
    if (this.#sent.length > MAX_SENT_IDS) this.#sent.splice(0, this.#sent.length - MAX_SENT_IDS);
  }

  /**
   * Sends application data to the group: one deposit, whatever the group's size. The new
   * ratchet state and the sealed deposit are saved first, so a failed send is retried by the
   * next sync (or send) with the same message id.
   */
  send(message: string | Uint8Array): Promise<void> {
    return this.#exclusive(() => this.#send(message));
  }

  async #send(message: string | Uint8Array): Promise<void> {
    this.#assertActive();
    const data = typeof message === "string" ? utf8(message) : message;
    const { newState, privateMessage, consumed } = await createApplicationMessage(
      this.#state,
      data,
      await mlsSuite(),
    );
    this.#state = newState;
    const messageId = randomBytes(MESSAGE_ID_LENGTH);
    const current = this.#readings[0]!;
    const mls = encodeMlsMessage({
      version: "mls10",
      wireformat: "mls_private_message",
      privateMessage,
    });
    this.#rememberSent(messageId);
    this.#outbox.push(
      ...(await GroupSession.#entries(
        { relay: this.relay, readId: current.readId, writeToken: current.writeToken },
        messageId,
        await this.#sealForEpoch(current, mls, messageId),
      )),
    );
    await this.#save();
    zero(consumed);
    await this.#flushOutbox();
  }

  /** Delivers saved deposits; stops at the first transport failure and rethrows it. */
  async #flushOutbox(): Promise<void> {
    while (this.#outbox.length > 0) {
      const entry = this.#outbox[0]!;
      const client = await this.deps.route(entry.relay);
      const result = await client.depositPayload(entry, entry.payload, {
        messageId: entry.messageId,
      });
      if (result.status !== "accepted" && result.status !== "forwarded") {
        if (result.status === "internal" || result.status === "unavailable") {
          throw new TransportError(`the relay could not take a deposit (${result.status})`);
        }
        // A definite refusal (forbidden, quota, too_large): retrying would not help.
        this.#undelivered.push({
          kind: "unreadable",
          reason: `a deposit was refused (${result.status})`,
        });
      }
      this.#outbox.shift();
      await this.#save();
    }
  }

  /**
   * Fetches every inbox this member reads and processes what arrived, in order: the current
   * epoch's inbox (moving to the next one when a commit is applied), then older epochs' inboxes
   * still within key retention, then buffered future-epoch messages. Returns what happened,
   * including what change() and send() read since the last sync.
   */
  sync(): Promise<GroupEvent[]> {
    return this.#exclusive(() => this.#sync());
  }

  async #sync(): Promise<GroupEvent[]> {
    await this.#read();
    return this.#deliver();
  }

  /**
   * Reads like sync() but keeps what arrived for a later sync() or take() (saved with the
   * session): for a client that reads its groups on its own schedule rather than when its user
   * asks.
   *
   * @example
   * await group.poll(); // on a timer
   * for (const event of await group.take()) console.log(event); // when the user asks
   */
  poll(): Promise<void> {
    return this.#exclusive(() => this.#read());
  }

  /** What was read and not yet returned (by poll, send or change), without fetching anything. */
  take(): Promise<GroupEvent[]> {
    return this.#exclusive(() => this.#deliver());
  }

  /** Events read and kept for the next sync() or take(). */
  get unread(): number {
    return this.#undelivered.length;
  }

  async #deliver(): Promise<GroupEvent[]> {
    const events = this.#undelivered;
    if (events.length === 0) return [];
    this.#undelivered = [];
    await this.#save();
    return events;
  }

  /**
   * Keeps the home client's cover reads on the epoch inboxes this member reads, so that the
   * group relay sees them read on the client's schedule, not only when the app syncs.
   */
  #watchReadings(client: RelayClient): void {
    for (const [reading, stop] of this.#watches) {
      if (this.#removed || !this.#readings.includes(reading)) {
        stop();
        this.#watches.delete(reading);
      }
    }
    if (this.#removed) return;
    for (const reading of this.#readings) {
      if (!this.#watches.has(reading)) {
        this.#watches.set(
          reading,
          client.watch(reading, () => reading.cursor),
        );
      }
    }
  }

  /** The work of sync(); what it reads is kept for the next sync() to return. */
  async #read(): Promise<void> {
    await this.#flushOutbox();
    this.#watchReadings(await this.#home());
    for (;;) {
      let progressed = false;
      for (const reading of [...this.#readings]) {
        if (this.#removed) break;
        const client = await this.#home();
        const page = await client.fetchAllItems(reading, reading.cursor);
        if (page.status === "not_found") continue;
        if (page.status !== "ok") throw new TransportError(`group fetch failed (${page.status})`);
        const opened: OpenedItem<GroupMessage>[] = [];
        for (const item of page.items)
          opened.push(await openGroupItem(reading, item, client.padding));
        // A message sent in fragments takes its place at its first fragment; one still missing
        // some holds back what follows it until they arrive (fragment.ts).
        const { entries } = reassemble(opened, reading.cursor, (bytes) => {
          try {
            return decode(groupMessageCodec, bytes, client.padding.largest);
          } catch {
            return undefined;
          }
        });
        const messages = entries.map((entry) => ("message" in entry ? entry.message : undefined));
        for (const [i, message] of (await inSenderOrder(this.#state, messages)).entries()) {
          const entry = entries[i]!;
          reading.cursor = Math.max(reading.cursor, entry.through);
          progressed = true;
          if (!message) {
            this.#undelivered.push({
              kind: "unreadable",
              reason:
                "unreadable" in entry && entry.unreadable === "incomplete"
                  ? "a message's fragments did not all arrive"
                  : "an item did not open under the epoch key",
            });
            continue;
          }
          if (this.#isPendingCommit(reading, message, entry.payloads)) {
            await this.#won();
            continue;
          }
          if (this.#sent.includes(toHex(message.messageId))) continue;
          this.#undelivered.push(...(await this.#receive(message.mlsMessage)));
        }
      }
      this.#undelivered.push(...(await this.#drainBuffer()));
      this.#prune();
      this.#watchReadings(await this.#home());
      await this.#save();
      if (this.#removed) return;
      if (!progressed) {
        // A commit restored from before a restart goes out only once everything visible is
        // read: if another commit already decided its epoch, it is never sent at all.
        if (!this.#pending || this.#pendingSent) return;
        await this.#depositPending();
      }
    }
  }

  /** Processes one MLS message from a group inbox. */
  async #receive(bytes: Uint8Array): Promise<GroupEvent[]> {
    const pm = decodePrivateMessage(bytes);
    if (!pm) return [{ kind: "unreadable", reason: "not an MLS private message" }];
    if (this.#removed) return [];
    if (pm.epoch > this.epoch) {
      this.#buffered.push(bytes);
      if (this.#buffered.length > MAX_BUFFERED) this.#buffered.shift();
      return [];
    }
    // A commit for an epoch already decided lost to the one that decided it: nothing to apply.
    if (pm.contentType === "commit" && pm.epoch < this.epoch) return [];
    const suite = await mlsSuite();
    const before = this.#state;
    const from = await senderOf(before, pm);
    const sender = from ? nameOf(from.tree, from.leafIndex) : "someone";
    let commit: { committer: string; added: string[]; removed: string[] } | undefined;
    const observe: IncomingMessageCallback = (incoming) => {
      if (incoming.kind === "commit") {
        commit = {
          committer:
            incoming.senderLeafIndex === undefined
              ? "someone"
              : nameOf(before.ratchetTree, incoming.senderLeafIndex),
          added: incoming.proposals.flatMap((p) =>
            p.proposal.proposalType === "add" &&
            p.proposal.add.keyPackage.leafNode.credential.credentialType === "basic"
              ? [lenientUtf8.decode(p.proposal.add.keyPackage.leafNode.credential.identity)]
              : [],
          ),
          removed: incoming.proposals.flatMap((p) =>
            p.proposal.proposalType === "remove"
              ? [nameOf(before.ratchetTree, p.proposal.remove.removed)]
              : [],
          ),
        };
      }
      return "accept";
    };
    let result;
    try {
      result = await processPrivateMessage(before, pm, makePskIndex(before, {}), suite, observe);
    } catch (error) {
      const reason = error instanceof Error ? error.message : "rejected";
      return [{ kind: "unreadable", reason: `epoch ${pm.epoch} message: ${reason}` }];
    }
    if (result.kind === "applicationMessage") {
      this.#state = result.newState;
      zero(result.consumed);
      // A member removed since keeps the old epoch's keys and write token: what it sends there
      // after its removal would otherwise be read as a group message for four more epochs.
      if (from?.past && !sameMember(from.tree, before.ratchetTree, from.leafIndex)) {
        return [
          {
            kind: "unreadable",
            reason: `epoch ${pm.epoch} message from a member no longer in the group (${sender})`,
          },
        ];
      }
      return [
        {
          kind: "message",
          epoch: pm.epoch,
          sender,
          data: result.message,
          text: lenientUtf8.decode(result.message),
        },
      ];
    }
    if (result.newState.groupActiveState.kind === "removedFromGroup") {
      this.#removed = true;
      this.#pending = undefined;
      this.#outbox = [];
      return [{ kind: "removed", epoch: pm.epoch + 1n, committer: commit?.committer ?? sender }];
    }
    this.#state = result.newState;
    zero(result.consumed);
    if (this.epoch === before.groupContext.epoch) return []; // a proposal: applied at the commit
    // Another member's commit came first: this member's pending commit lost the epoch. Its
    // secrets were never used (the old state applied the winner), so nothing is zeroed.
    this.#pending = undefined;
    this.#consumedOnWin = [];
    await this.#enterEpoch();
    return [
      {
        kind: "commit",
        epoch: this.epoch,
        committer: commit?.committer ?? sender,
        added: commit?.added ?? [],
        removed: commit?.removed ?? [],
      },
    ];
  }

  async #enterEpoch(): Promise<void> {
    this.#readings.unshift({ ...(await epochInbox(this.#state, this.relay)), cursor: 0 });
  }

  /** Retries buffered messages whose epoch has come. */
  async #drainBuffer(): Promise<GroupEvent[]> {
    const events: GroupEvent[] = [];
    let progressed = true;
    while (progressed && !this.#removed) {
      progressed = false;
      const waiting = this.#buffered;
      this.#buffered = [];
      for (const bytes of waiting) {
        const pm = decodePrivateMessage(bytes);
        if (pm && pm.epoch <= this.epoch) {
          events.push(...(await this.#receive(bytes)));
          progressed = true;
        } else this.#buffered.push(bytes);
      }
    }
    return events;
  }

  /** Stops reading epoch inboxes whose keys ts-mls no longer keeps (nothing there opens). */
  #prune(): void {
    this.#readings = this.#readings.filter(
      (r, i) => i === 0 || this.epoch - r.epoch <= BigInt(RETAINED_EPOCHS),
    );
  }

  /** Proposals for what is still wanted of `change` in the current epoch. */
  #proposals(change: GroupChange, chosen: Map<ContactCard, Uint8Array>): Proposal[] {
    const present = new Map<string, number>();
    for (let leaf = 0; leaf * 2 < this.#state.ratchetTree.length; leaf++) {
      if (this.#state.ratchetTree[leaf * 2]) {
        present.set(nameOf(this.#state.ratchetTree, leaf), leaf);
      }
    }
    const proposals: Proposal[] = [];
    for (const card of change.add ?? []) {
      if (card.name !== undefined && present.has(card.name)) continue;
      const encoded = chosen.get(card);
      if (!encoded) throw new GroupError("the contact card has no key package");
      proposals.push({ proposalType: "add", add: { keyPackage: decodeKeyPackage(encoded) } });
    }
    for (const name of change.remove ?? []) {
      const leaf = present.get(name);
      if (leaf === undefined) continue;
      if (leaf === this.#state.privatePath.leafIndex) {
        throw new GroupError("a member cannot remove itself with a commit");
      }
      proposals.push({ proposalType: "remove", remove: { removed: leaf } });
    }
    return proposals;
  }

  /**
   * Commits a change (adds, removes; none: a key update). If another member's commit wins the
   * epoch, this member applies that commit and, with `retry` (default), tries again with what is
   * still wanted. Added members receive their Welcome in their personal inbox.
   */
  change(
    change: GroupChange = {},
    options: { retry?: boolean; maxAttempts?: number } = {},
  ): Promise<ChangeOutcome> {
    return this.#exclusive(() => this.#change(change, options));
  }

  async #change(
    change: GroupChange,
    options: { retry?: boolean; maxAttempts?: number },
  ): Promise<ChangeOutcome> {
    const retry = options.retry ?? true;
    const maxAttempts = options.maxAttempts ?? 10;
    const update = (change.add?.length ?? 0) + (change.remove?.length ?? 0) === 0;
    const chosen = chooseKeyPackages(change.add ?? []);
    for (let attempts = 1; attempts <= maxAttempts; attempts++) {
      this.#assertActive();
      await this.#read();
      // A commit restored from before a restart is decided first: it may still win.
      if (this.#pending) await this.#awaitEpochAfter(this.epoch);
      this.#assertActive();
      const proposals = this.#proposals(change, chosen);
      if (!update && proposals.length === 0) {
        return { status: "unchanged", epoch: this.epoch, attempts };
      }
      const won = await this.#commit(proposals, change.add ?? [], chosen);
      if (won) return { status: "committed", epoch: this.epoch, attempts };
      if (!retry) return { status: "superseded", epoch: this.epoch, attempts };
    }
    throw new GroupError(`no commit won the epoch in ${maxAttempts} attempts`);
  }

  /** Creates, saves and sends one commit; true if it won the epoch. */
  async #commit(
    proposals: Proposal[],
    cards: ContactCard[],
    chosen: Map<ContactCard, Uint8Array>,
  ): Promise<boolean> {
    const suite = await mlsSuite();
    const result = await createCommit(
      { state: this.#state, cipherSuite: suite },
      { extraProposals: proposals, ratchetTreeExtension: true },
    );
    const messageId = randomBytes(MESSAGE_ID_LENGTH);
    const invitations: OutboxEntry[] = [];
    if (result.welcome) {
      const welcome = encodeMlsMessage({
        version: "mls10",
        wireformat: "mls_welcome",
        welcome: result.welcome,
      });
      for (const card of cards) {
        const encoded = chosen.get(card);
        const name = card.name;
        if (!encoded || (name !== undefined && this.members.includes(name))) continue;
        const invitation = encodeInvitation({
          kind: PersonalMessageKind.invitation,
          groupName: this.name,
          groupRelay: this.relay,
          relaySigningKey: this.relaySigningKey ?? new Uint8Array(0),
          keyPackageHash: await keyPackageHash(encoded),
          welcome,
        });
        const client = await this.deps.route(card.relay);
        invitations.push(
          ...(await GroupSession.#entries(
            { relay: card.relay, readId: card.readId, writeToken: card.writeToken },
            randomBytes(MESSAGE_ID_LENGTH),
            await client.sealParts(card, invitation),
          )),
        );
      }
    }
    this.#pending = {
      messageId,
      payloads: await this.#sealForEpoch(
        this.#readings[0]!,
        encodeMlsMessage(result.commit),
        messageId,
      ),
      newState: encodeGroupState(result.newState),
      invitations,
    };
    // The losing commit's secrets stay untouched: the old state must still apply the winner's.
    this.#consumedOnWin = result.consumed;
    await this.#save();
    const fromEpoch = this.epoch;
    this.#pendingSent = false;
    await this.#depositPending();
    await this.#awaitEpochAfter(fromEpoch);
    await this.#flushOutbox();
    return this.#sent.includes(toHex(messageId));
  }

  /**
   * Deposits the pending commit once per process (again after a restart: the same message id,
   * so the relay keeps one). A definite refusal drops it: the group stays in its epoch.
   */
  async #depositPending(): Promise<void> {
    const pending = this.#pending;
    if (!pending || this.#pendingSent) return;
    const client = await this.#home();
    const result = await client.depositParts(this.#readings[0]!, pending.payloads, {
      messageId: pending.messageId,
    });
    if (result.status === "accepted" || result.status === "forwarded") {
      this.#pendingSent = true;
      return;
    }
    if (result.status === "internal" || result.status === "unavailable") {
      throw new TransportError(`the relay could not take the commit (${result.status})`);
    }
    this.#pending = undefined;
    this.#consumedOnWin = [];
    await this.#save();
    throw new GroupError(`the relay refused the commit (${result.status})`);
  }

  /** Whether an item of `reading` is this member's pending commit, byte for byte. */
  #isPendingCommit(reading: Reading, message: GroupMessage, payloads: Uint8Array[]): boolean {
    const pending = this.#pending;
    if (!pending || reading.epoch !== this.epoch) return false;
    return (
      constantTimeEqual(message.messageId, pending.messageId) &&
      payloads.length === pending.payloads.length &&
      payloads.every((payload, i) => constantTimeEqual(payload, pending.payloads[i]!))
    );
  }

  /** This member's commit is the first valid one of the epoch: adopt the state it made. */
  async #won(): Promise<void> {
    const pending = this.#pending!;
    this.#state = stateFromBytes(pending.newState);
    this.#rememberSent(pending.messageId);
    this.#outbox.push(...pending.invitations);
    this.#pending = undefined;
    zero(this.#consumedOnWin);
    this.#consumedOnWin = [];
    await this.#enterEpoch();
    await this.#save();
    await this.#flushOutbox();
  }

  /** Reads until a commit (this member's or another's) has moved the group past `epoch`. */
  async #awaitEpochAfter(epoch: bigint): Promise<void> {
    const deadline = Date.now() + (this.deps.commitWaitMs ?? 30_000);
    for (;;) {
      await this.#read();
      if (this.epoch > epoch || this.#removed) return;
      if (Date.now() > deadline) {
        throw new GroupError(
          "no commit of this epoch became visible in time (a pending one stays, for a later sync to decide)",
        );
      }
      await new Promise((resolve) => setTimeout(resolve, this.deps.pollMs ?? 100));
    }
  }

  /** Serialises the session, private keys included, for an encrypted profile. */
  toJson(): string {
    return savedGroupToJson({
      name: this.name,
      relay: this.relay,
      ...(this.relaySigningKey ? { relaySigningKey: this.relaySigningKey } : {}),
      removed: this.#removed,
      state: this.#state,
      readings: this.#readings,
      sent: this.#sent,
      buffered: this.#buffered,
      outbox: this.#outbox,
      ...(this.#pending ? { pending: this.#pending } : {}),
      events: this.#undelivered,
    });
  }

  /** Restores a session from toJson's output; ConfigError when it is not one. */
  static async fromJson(text: string, deps: GroupDeps): Promise<GroupSession> {
    return new GroupSession(await savedGroupFromJson(text), deps);
  }

  toString(): string {
    return `GroupSession(${this.name}, epoch ${this.epoch})`;
  }
}
