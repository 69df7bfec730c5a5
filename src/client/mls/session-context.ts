/**
 * What the parts of a GroupSession share: one state (what the session saves, and what only this
 * process knows), its dependencies and its watches. The parts (outbox, reader, commit race,
 * changes) are plain functions over this context, so each lives in its own file while the state
 * stays one object that GroupSession hands them one operation at a time.
 */
import { zeroOutUint8Array } from "ts-mls";
import { GroupError } from "../errors.js";
import type { RelayClient } from "../relay-client.js";
import { savedGroupToJson, type Reading, type SavedGroup } from "./group-record.js";

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

/** A session's state: the saved part (group-record.ts) and what lives only in this process. */
export interface SessionState extends SavedGroup {
  /** Whether the pending commit was deposited by this process (a restored one is sent again). */
  pendingSent: boolean;
  /**
   * The secrets createCommit consumed for the pending commit: zeroed only once it wins, since
   * the old state must still apply a winner's commit if it loses.
   */
  consumedOnWin: Uint8Array[];
}

export interface SessionContext {
  readonly group: SessionState;
  readonly deps: GroupDeps;
  /** Readings a shaping client's cover reads fetch too (see RelayClient.watch). */
  readonly watches: Map<Reading, () => void>;
}

/** The epoch of the member's MLS state. */
export function currentEpoch(group: SessionState): bigint {
  return group.state.groupContext.epoch;
}

/** Refuses to act for a member a commit removed (its session can then only be read). */
export function assertActive(group: SessionState): void {
  if (group.removed) throw new GroupError("this member was removed from the group");
}

/** Persists the session's saved part; every send calls it before anything leaves. */
export async function saveSession(ctx: SessionContext): Promise<void> {
  await ctx.deps.save?.(savedGroupToJson(ctx.group));
}

/** A client for the relay holding the group's epoch inboxes. */
export function homeClient(ctx: SessionContext): Promise<RelayClient> {
  return ctx.deps.route(ctx.group.relay);
}

/** Overwrites secrets ts-mls says a step used up, so they do not linger in memory. */
export function zeroConsumed(consumed: readonly Uint8Array[]): void {
  for (const secret of consumed) zeroOutUint8Array(secret);
}
