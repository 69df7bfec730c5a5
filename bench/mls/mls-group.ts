/**
 * Groups for the MLS bench, built the way clients build them: members with a personal inbox on
 * the group's relay and one key package each, the creator's GroupSession.create, one
 * change({ add }) commit for everyone, then acceptInvitations at each joiner. Every session
 * reaches the relays through one switchable route, so the same group can be measured direct to
 * relay A and through relay B.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { acceptInvitations } from "../../src/client/mls/accept-invitations.js";
import { GroupSession, type GroupDeps } from "../../src/client/mls/group-session.js";
import { Member } from "../../src/client/mls/member.js";
import type { RelayClient } from "../../src/client/relay-client.js";

/** The client every session uses at the moment (direct to A, or A through B). */
export interface Routing {
  client: RelayClient;
}

export function benchDeps(routing: Routing): GroupDeps {
  return { route: async () => routing.client, pollMs: 20 };
}

/** `count` members named `${prefix}-1`.., personal inboxes on the home relay, one key package. */
export async function newMembers(
  count: number,
  prefix: string,
  home: RelayClient,
): Promise<Member[]> {
  const members: Member[] = [];
  for (let i = 1; i <= count; i++) {
    members.push(await Member.create(`${prefix}-${i}`, home.origin, home.descriptor.signingKey, 1));
  }
  return members;
}

/** Joins one member from its personal inbox; throws unless exactly one group was joined. */
export async function joinOne(
  member: Member,
  home: RelayClient,
  deps: GroupDeps,
): Promise<GroupSession> {
  const { joined, problems } = await acceptInvitations(member, home, deps);
  if (joined.length !== 1) {
    throw new Error(
      `bench: ${member.name} joined ${joined.length} groups (${problems.join("; ")})`,
    );
  }
  return joined[0]!;
}

export interface BenchGroup {
  /** Creator first, then the joiners in order. */
  sessions: GroupSession[];
  /** Wall time of the creator's change({ add }) (commit, invitations, deposits). */
  addMs: number;
  /** Wall time of each joiner's acceptInvitations. */
  joinMs: number[];
}

/**
 * A group of `size` members, all joined; `settleMs` (two round intervals) after the commit lets
 * the relay's round deliver the invitations before the joins are timed.
 *
 * @example const group = await buildGroup(50, "g50", home, deps, 400);
 */
export async function buildGroup(
  size: number,
  prefix: string,
  home: RelayClient,
  deps: GroupDeps,
  settleMs: number,
): Promise<BenchGroup> {
  const members = await newMembers(size - 1, prefix, home);
  const creator = await GroupSession.create(prefix, { name: `${prefix}-0` }, home, deps);
  const started = performance.now();
  const outcome = await creator.change({ add: members.map((m) => m.card()) });
  const addMs = performance.now() - started;
  if (outcome.status !== "committed") throw new Error(`bench: add commit ${outcome.status}`);
  await sleep(settleMs);
  const sessions = [creator];
  const joinMs: number[] = [];
  for (const member of members) {
    const t0 = performance.now();
    sessions.push(await waitFor(() => joinOne(member, home, deps)));
    joinMs.push(performance.now() - t0);
  }
  return { sessions, addMs, joinMs };
}

/** Retries `attempt` every 20 ms for up to 10 s (an item waits for its round to close). */
export async function waitFor<T>(attempt: () => Promise<T>): Promise<T> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await sleep(20);
    }
  }
}
