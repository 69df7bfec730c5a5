/**
 * Helpers for the MLS-over-Shroud tests: building a group on a relay, recording (and
 * synchronising) commit deposits, and test-only views into a session's saved state.
 */
import { decodeGroupState, decodeMlsMessage, type ClientState } from "ts-mls";
import type { ContactCard } from "../../src/client/inbox.js";
import { acceptInvitations } from "../../src/client/mls/accept-invitations.js";
import { openGroupPayload } from "../../src/client/mls/group-payload.js";
import { GroupSession, type GroupDeps } from "../../src/client/mls/group-session.js";
import { Member } from "../../src/client/mls/member.js";
import type { DepositResult, DepositTarget, RelayClient } from "../../src/client/relay-client.js";
import { fromBase64Url, toHex } from "../../src/protocol/bytes.js";
import { inboxAddress } from "../../src/protocol/inbox-id.js";
import type { SecretBytes } from "../../src/protocol/secret-bytes.js";

export interface Group {
  /** Index-aligned with `sessions`; members[0] is the creator (it has no personal inbox use). */
  members: Member[];
  sessions: GroupSession[];
  /** The cards (with their key packages) as they were when the group added them. */
  cards: ContactCard[];
}

/**
 * A group named `groupName` on the client's relay: names[0] creates it, adds everyone else in
 * one commit, and each joins from its personal inbox.
 */
export async function buildGroup(
  client: RelayClient,
  names: string[],
  deps: GroupDeps | ((name: string) => GroupDeps),
  groupName = "friends",
  /** Runs after the add commit, before the joiners read their invitations (e.g. close a round). */
  beforeJoin: () => Promise<void> = async () => {},
): Promise<Group> {
  const depsFor = (name: string) => (typeof deps === "function" ? deps(name) : deps);
  const members: Member[] = [];
  for (const name of names) members.push(await Member.create(name, client.origin, undefined, 1));
  const creator = await GroupSession.create(groupName, members[0]!, client, depsFor(names[0]!));
  const sessions = [creator];
  const cards = members.map((m) => m.card());
  if (members.length > 1) {
    const outcome = await creator.change({ add: cards.slice(1) });
    if (outcome.status !== "committed") throw new Error(`group not built: ${outcome.status}`);
    await beforeJoin();
    for (const member of members.slice(1)) {
      const { joined, problems } = await acceptInvitations(member, client, depsFor(member.name));
      if (joined.length !== 1) throw new Error(`${member.name} did not join: ${problems}`);
      sessions.push(joined[0]!);
    }
  }
  return { members, sessions, cards };
}

export interface CommitDeposit {
  inbox: string;
  status: DepositResult["status"];
}

/**
 * Whether a deposit is an MLS commit, read as a member would: a group session deposits into an
 * epoch inbox (its target carries the epoch's payload key), and the sealed GroupMessage holds
 * a PrivateMessage whose content type says "commit". The relay itself cannot tell.
 */
export async function isCommitDeposit(
  client: RelayClient,
  target: DepositTarget,
  payload: Uint8Array,
): Promise<boolean> {
  const epoch = target as DepositTarget & { payloadKey?: SecretBytes; inboxId?: Uint8Array };
  if (!epoch.payloadKey || !epoch.inboxId) return false;
  try {
    const message = await openGroupPayload(
      epoch.payloadKey.expose(),
      epoch.inboxId,
      payload,
      client.padding,
    );
    const decoded = decodeMlsMessage(message.mlsMessage, 0)?.[0];
    return (
      decoded?.wireformat === "mls_private_message" &&
      decoded.privateMessage.contentType === "commit"
    );
  } catch {
    return false;
  }
}

/**
 * Records every commit deposit `client` makes and the relay's answer. With `gate`, the first
 * `gate` commit deposits are held until that many are waiting, then sent together: a race in
 * which every contender commits in the same epoch.
 */
export function recordCommitDeposits(
  client: RelayClient,
  options: { gate?: number } = {},
): { log: CommitDeposit[]; setGate(n: number): void } {
  const log: CommitDeposit[] = [];
  const original = client.depositPayload.bind(client);
  let gate = options.gate ?? 0;
  let waiting: (() => void)[] = [];
  client.depositPayload = async (target, payload, depositOptions = {}) => {
    const commit = await isCommitDeposit(client, target, payload);
    if (commit && gate > 0) {
      await new Promise<void>((resolve) => {
        waiting.push(resolve);
        if (waiting.length === gate) {
          gate = 0;
          for (const release of waiting) release();
          waiting = [];
        }
      });
    }
    const result = await original(target, payload, depositOptions);
    if (commit) {
      const inboxId = (target as DepositTarget & { inboxId: Uint8Array }).inboxId;
      log.push({ inbox: toHex(inboxId), status: result.status });
    }
    return result;
  };
  return {
    log,
    setGate(n: number) {
      gate = n;
    },
  };
}

/** The session's saved JSON, parsed. */
export function savedForm(session: GroupSession): Record<string, unknown> {
  return JSON.parse(session.toJson()) as Record<string, unknown>;
}

/** The MLS state a session saved (test-only path: toJson's "state" through decodeGroupState). */
export function mlsState(session: GroupSession | string): ClientState {
  const json = typeof session === "string" ? session : session.toJson();
  const encoded = fromBase64Url((JSON.parse(json) as { state: string }).state);
  const decoded = decodeGroupState(encoded, 0);
  if (!decoded) throw new Error("state does not decode");
  return decoded[0] as ClientState;
}

export interface SavedReading {
  epoch: bigint;
  inboxId: Uint8Array;
  readId: Uint8Array;
  readSecret: Uint8Array;
  writeToken: Uint8Array;
  writeTokenHash: Uint8Array;
  payloadKey: Uint8Array;
}

/** The epoch inboxes (with their keys) a session's saved form holds. */
export async function savedReadings(session: GroupSession | string): Promise<SavedReading[]> {
  const json = typeof session === "string" ? session : session.toJson();
  const readings = (JSON.parse(json) as { readings: Record<string, string>[] }).readings;
  const out: SavedReading[] = [];
  for (const r of readings) {
    const readSecret = fromBase64Url(r["readSecret"]!);
    const writeToken = fromBase64Url(r["writeToken"]!);
    out.push({
      epoch: BigInt(r["epoch"]!),
      ...(await inboxAddress(readSecret, writeToken)),
      readSecret,
      writeToken,
      payloadKey: fromBase64Url(r["payloadKey"]!),
    });
  }
  return out;
}

/** Texts of the message events in `events`. */
export function texts(events: { kind: string; text?: string }[]): string[] {
  return events.flatMap((e) => (e.kind === "message" ? [e.text!] : []));
}

export function hex(bytes: Uint8Array): string {
  return toHex(bytes);
}
