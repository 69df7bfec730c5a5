/**
 * One member's view of an MLS group carried by Shroud.
 *
 * Every message (application data or commit) is one deposit into the current epoch's inbox on the
 * group's relay, sealed under the epoch's payload key (epoch-inbox.ts, group-payload.ts);
 * a commit's Welcome is stored once on that relay and each joiner gets an invitation naming it in
 * its personal inbox, HPKE-sealed to its inbox key (welcome-blob.ts). GroupSession holds
 * one state and runs one public operation at a time on it; the work lives beside it:
 *
 * - outbox.ts: sending; every send is saved before it leaves, so a retry is the same deposit;
 * - epoch-reader.ts: reading the epoch inboxes in order, skipping this member's own messages;
 * - receive-message.ts: processing one MLS message, buffering those of future epochs;
 * - commit-race.ts: how this member's commit wins or loses its epoch;
 * - group-change.ts: committing adds and removes, retrying after a lost race;
 * - epoch-readings.ts: which epoch inboxes are read (the current one, and older ones whose keys
 *   are still kept);
 * - group-record.ts: what is saved (toJson, fromJson).
 *
 * Whatever is read outside sync() (by change(), or by a sync that failed part-way) is saved with
 * the session and returned by the next sync().
 */
import type { ClientState } from "ts-mls";
import { utf8 } from "../../protocol/bytes.js";
import { ConfigError } from "../../protocol/errors.js";
import type { RelayClient } from "../relay-client.js";
import { epochInbox } from "./epoch-inbox.js";
import { readGroup } from "./epoch-reader.js";
import { changeGroup, type ChangeOutcome, type GroupChange } from "./group-change.js";
import type { GroupInvitation } from "./group-invitation.js";
import {
  savedGroupFromJson,
  savedGroupToJson,
  type GroupEvent,
  type SavedGroup,
} from "./group-record.js";
import { memberNames, nameOf } from "./group-roster.js";
import { joinedState, newGroupState } from "./initial-state.js";
import type { KeyPackageRecord } from "./member.js";
import { sendApplicationData } from "./outbox.js";
import {
  assertActive,
  currentEpoch,
  saveSession,
  type GroupDeps,
  type SessionContext,
} from "./session-context.js";

export type { GroupEvent } from "./group-record.js";
export type { ChangeOutcome, GroupChange } from "./group-change.js";
export type { GroupDeps } from "./session-context.js";

/**
 * @example
 * const group = await GroupSession.create("friends", alice, route);
 * await group.change({ add: [bobCard, carolCard] });
 * await group.send("hello");
 * for (const event of await group.sync()) console.log(event);
 */
export class GroupSession {
  readonly #ctx: SessionContext;
  /** The last public operation queued (see #exclusive). */
  #queue: Promise<unknown> = Promise.resolve();

  readonly name: string;
  /** Origin of the relay holding the group's epoch inboxes. */
  readonly relay: string;
  readonly relaySigningKey: Uint8Array | undefined;

  private constructor(saved: SavedGroup, deps: GroupDeps) {
    this.name = saved.name;
    this.relay = saved.relay;
    this.relaySigningKey = saved.relaySigningKey;
    this.#ctx = {
      group: { ...saved, pendingSent: false, consumedOnWin: [] },
      deps,
      watches: new Map(),
    };
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
    await saveSession(session.#ctx);
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
    const state = await newGroupState(creator.name);
    return GroupSession.#fresh(name, relay.origin, relay.descriptor.signingKey, state, deps);
  }

  /**
   * Joins from an invitation, with the encoded Welcome it names (welcome-blob.ts) and the key
   * package it names. acceptInvitations does all of this from a personal inbox.
   */
  static async join(
    invitation: GroupInvitation,
    welcome: Uint8Array,
    keyPackage: KeyPackageRecord,
    deps: GroupDeps,
  ): Promise<GroupSession> {
    const state = await joinedState(welcome, keyPackage);
    const pin = invitation.relaySigningKey.length > 0 ? invitation.relaySigningKey : undefined;
    return GroupSession.#fresh(invitation.groupName, invitation.groupRelay, pin, state, deps);
  }

  /** The MLS epoch this member is in; each commit starts the next. */
  get epoch(): bigint {
    return currentEpoch(this.#ctx.group);
  }

  /** The MLS group id (never shown to a relay: it is inside every sealed payload). */
  get groupId(): Uint8Array {
    return this.#ctx.group.state.groupContext.groupId;
  }

  /** The MLS tree hash of this epoch, which members compare to check they agree on the group. */
  get treeHash(): Uint8Array {
    return this.#ctx.group.state.groupContext.treeHash;
  }

  /** Whether a commit removed this member (the session can then only be read, not used). */
  get removed(): boolean {
    return this.#ctx.group.removed;
  }

  /** Names of the members, in leaf order. */
  get members(): string[] {
    return memberNames(this.#ctx.group.state);
  }

  /** This member's own name in the group. */
  get self(): string {
    const { state } = this.#ctx.group;
    return nameOf(state.ratchetTree, state.privatePath.leafIndex);
  }

  /** The current epoch's inbox id (what the relay sees), for tests and operator views. */
  get currentInboxId(): Uint8Array {
    return this.#ctx.group.readings[0]!.inboxId;
  }

  /** Deposits waiting to leave (after a transport failure). */
  get outboxSize(): number {
    return this.#ctx.group.outbox.length;
  }

  /** Events read and kept for the next sync() or take(). */
  get unread(): number {
    return this.#ctx.group.events.length;
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

  /**
   * Sends application data to the group: one deposit, whatever the group's size. The new
   * ratchet state and the sealed deposit are saved first, so a failed send is retried by the
   * next sync (or send) with the same message id.
   */
  send(message: string | Uint8Array): Promise<void> {
    return this.#exclusive(async () => {
      assertActive(this.#ctx.group);
      const data = typeof message === "string" ? utf8(message) : message;
      await sendApplicationData(this.#ctx, data);
    });
  }

  /**
   * Fetches every inbox this member reads and processes what arrived, in order: the current
   * epoch's inbox (moving to the next one when a commit is applied), then older epochs' inboxes
   * still within key retention, then buffered future-epoch messages. Returns what happened,
   * including what change() and send() read since the last sync.
   */
  sync(): Promise<GroupEvent[]> {
    return this.#exclusive(async () => {
      await readGroup(this.#ctx);
      return this.#deliver();
    });
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
    return this.#exclusive(() => readGroup(this.#ctx));
  }

  /** What was read and not yet returned (by poll, send or change), without fetching anything. */
  take(): Promise<GroupEvent[]> {
    return this.#exclusive(() => this.#deliver());
  }

  async #deliver(): Promise<GroupEvent[]> {
    const { group } = this.#ctx;
    const events = group.events;
    if (events.length === 0) return [];
    group.events = [];
    await saveSession(this.#ctx);
    return events;
  }

  /**
   * Commits a change (adds, removes; none: a key update). If another member's commit wins the
   * epoch, this member applies that commit and, with `retry` (default), tries again with what is
   * still wanted. Added members receive an invitation in their personal inbox. More adds than
   * `maxAddsPerCommit` (default 1,000: one commit's cost grows with the square of its adds) go in
   * successive commits, each epoch adding that many.
   */
  change(
    change: GroupChange = {},
    options: { retry?: boolean; maxAttempts?: number; maxAddsPerCommit?: number } = {},
  ): Promise<ChangeOutcome> {
    return this.#exclusive(() => changeGroup(this.#ctx, change, options));
  }

  /** Serialises the session, private keys included, for an encrypted profile. */
  toJson(): string {
    return savedGroupToJson(this.#ctx.group);
  }

  /** Restores a session from toJson's output; ConfigError when it is not one. */
  static async fromJson(text: string, deps: GroupDeps): Promise<GroupSession> {
    return new GroupSession(await savedGroupFromJson(text), deps);
  }

  /** Names the group and its epoch, nothing secret (safe to log). */
  toString(): string {
    return `GroupSession(${this.name}, epoch ${this.epoch})`;
  }
}
