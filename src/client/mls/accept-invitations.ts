/**
 * Reads a member's personal inbox and joins the groups it was invited to, each from the Welcome
 * its invitation names on the group's relay (welcome-blob.ts). Invitations are acknowledged
 * (deleted at the relay) once handled, whether they could be joined or not, so a bad one is
 * reported once rather than forever. The Welcome is stored ahead of the commit, so the relay
 * holds it by the time an invitation arrives; one still missing after `welcomeWaitMs` (expired,
 * or an invitation made up by someone holding the member's card) is reported and dropped like any
 * bad invitation, its key package kept: waiting for it on every call would let one invitation
 * hold up all that come after it.
 */
import { DecodeError } from "../../protocol/errors.js";
import { GroupError } from "../errors.js";
import type { RelayClient } from "../relay-client.js";
import { decodeInvitation, type GroupInvitation } from "./group-invitation.js";
import { GroupSession, type GroupDeps } from "./group-session.js";
import type { Member } from "./member.js";
import { loadWelcome } from "./welcome-blob.js";

/** How long a joiner waits for an invitation's Welcome before leaving it for the next call. */
const WELCOME_WAIT_MS = 5000;

/** What reading a personal inbox gave: the groups joined, and what could not be used. */
export interface InvitationsResult {
  joined: GroupSession[];
  /** Why items in the personal inbox could not be used (no secrets, no ids). */
  problems: string[];
}

/**
 * @example
 * const { joined } = await acceptInvitations(bob, await route(bob.inbox.relay), deps);
 * // save bob (its used key packages are gone) and each joined session
 */
export async function acceptInvitations(
  member: Member,
  client: RelayClient,
  deps: GroupDeps | ((groupName: string) => GroupDeps),
  options: {
    /**
     * Runs after the joins and before the invitations are deleted at the relay: persist the
     * member here (its used key packages are gone), so a crash cannot lose an invitation whose
     * key package is already spent nor keep one whose group is not saved.
     */
    beforeAck?: () => Promise<void>;
    /** How long to wait for an invitation's Welcome to be complete (ms, default 5000). */
    welcomeWaitMs?: number;
  } = {},
): Promise<InvitationsResult> {
  const page = await client.fetchAll(member.inbox);
  if (page.status === "not_found") return { joined: [], problems: [] };
  if (page.status !== "ok") throw new DecodeError(`personal inbox fetch failed (${page.status})`);
  const joined: GroupSession[] = [];
  const problems: string[] = page.unreadable.map(() => "an item did not open under the inbox key");
  for (const message of page.messages) {
    let invitation;
    try {
      invitation = decodeInvitation(message.payload);
    } catch {
      problems.push("an item is not an invitation");
      continue;
    }
    if (!(await member.holdsKeyPackage(invitation.keyPackageHash))) {
      problems.push(
        `an invitation to "${invitation.groupName}" names a key package this member does not hold`,
      );
      continue;
    }
    const groupDeps = typeof deps === "function" ? deps(invitation.groupName) : deps;
    const welcome = await awaitWelcome(invitation, groupDeps, options.welcomeWaitMs);
    if (!welcome) {
      problems.push(
        `the Welcome of an invitation to "${invitation.groupName}" is not on its relay`,
      );
      continue;
    }
    const keyPackage = (await member.takeKeyPackage(invitation.keyPackageHash))!;
    try {
      joined.push(await GroupSession.join(invitation, welcome, keyPackage, groupDeps));
    } catch (error) {
      // A Welcome that cannot be joined is the invitation's fault; anything else (a failed save)
      // must stop here, before the invitations are deleted.
      if (!(error instanceof GroupError)) throw error;
      problems.push(error.message);
    }
  }
  await options.beforeAck?.();
  if (page.lastSeq > 0) await client.ack(member.inbox, page.lastSeq);
  return { joined, problems };
}

/** The invitation's Welcome once its relay holds all of it; undefined if not within `waitMs`. */
async function awaitWelcome(
  invitation: GroupInvitation,
  deps: GroupDeps,
  waitMs = WELCOME_WAIT_MS,
): Promise<Uint8Array | undefined> {
  const client = await deps.route(invitation.groupRelay);
  const deadline = Date.now() + waitMs;
  for (;;) {
    const welcome = await loadWelcome(client, invitation.welcome);
    if (welcome || Date.now() >= deadline) return welcome;
    await new Promise((resolve) => setTimeout(resolve, deps.pollMs ?? 100));
  }
}
