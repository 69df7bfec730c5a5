/**
 * Changing who is in a group: one commit with the adds and removes still wanted in the current
 * epoch (none: a key update), saved as the pending commit before it leaves. The commit's Welcome
 * is stored once on the group's relay ahead of the commit (welcome-blob.ts); a small invitation
 * naming it goes to each added member's personal inbox only once the commit has won
 * (commit-race.ts).
 * When another member's commit wins instead, the member applies that one and, if asked to, tries
 * again with what is still wanted then.
 */
import {
  createCommit,
  encodeGroupState,
  encodeMlsMessage,
  type Proposal,
  type Welcome,
} from "ts-mls";
import { randomBytes } from "../../protocol/bytes.js";
import { MESSAGE_ID_LENGTH } from "../../protocol/relay-request.js";
import { ConfigError } from "../../protocol/errors.js";
import { GroupError } from "../errors.js";
import type { ContactCard } from "../inbox.js";
import { depositPending } from "./commit-race.js";
import { readGroup, readUntilEpochAfter } from "./epoch-reader.js";
import { encodeInvitation, keyPackageHash, PersonalMessageKind } from "./group-invitation.js";
import type { OutboxEntry } from "./group-record.js";
import { memberLeaves } from "./group-roster.js";
import { decodeKeyPackage } from "./member.js";
import { mlsSuite } from "./mls-suite.js";
import { flushOutbox, isOwnMessage, outboxEntries, sealForEpoch } from "./outbox.js";
import { storeWelcome, type WelcomeBlob } from "./welcome-blob.js";
import {
  assertActive,
  currentEpoch,
  homeClient,
  saveSession,
  type SessionContext,
  type SessionState,
} from "./session-context.js";

/** Members to add and to remove in one commit. */
export interface GroupChange {
  /** Member cards (with key packages) to add; a name already in the group is skipped. */
  add?: ContactCard[];
  /** Names to remove; a name no longer in the group is skipped. */
  remove?: string[];
}

/** How a `change()` ended: its commit won the epoch, was not needed, or lost without retry. */
export type ChangeOutcome =
  | { status: "committed"; epoch: bigint; attempts: number }
  /** Nothing left to do: the change was already made (possibly by someone else's commit). */
  | { status: "unchanged"; epoch: bigint; attempts: number }
  /** Another commit won and `retry` was off: the group moved on without this change. */
  | { status: "superseded"; epoch: bigint; attempts: number };

/** The key package each added card is joined with. */
type ChosenPackages = Map<ContactCard, Uint8Array>;

/**
 * The most members one commit adds; a change adding more commits them this many at a time.
 * ts-mls's time and memory for one commit grow with the square of its adds (measured: 1,000 adds
 * 3 s and 0.3 GB, 2,000 adds 13 s and 1.3 GB, 5,000 adds over 15 GB), while five commits of
 * 1,000 reach 5,000 members in about 70 s and 1.1 GB.
 */
const MAX_ADDS_PER_COMMIT = 1000;

/**
 * Commits `change`, retrying (with `retry`) while other members' commits win the epoch; adds
 * beyond `maxAddsPerCommit` (default MAX_ADDS_PER_COMMIT) go in further commits, each once the
 * one before has won (`attempts` then counts the last commit's).
 */
export async function changeGroup(
  ctx: SessionContext,
  change: GroupChange,
  options: { retry?: boolean; maxAttempts?: number; maxAddsPerCommit?: number },
): Promise<ChangeOutcome> {
  const { group } = ctx;
  const retry = options.retry ?? true;
  const maxAttempts = options.maxAttempts ?? 10;
  const update = (change.add?.length ?? 0) + (change.remove?.length ?? 0) === 0;
  const maxAdds = options.maxAddsPerCommit ?? MAX_ADDS_PER_COMMIT;
  if (!Number.isInteger(maxAdds) || maxAdds < 1) {
    throw new ConfigError("maxAddsPerCommit must be a positive integer");
  }
  const chosen = chooseKeyPackages(change.add ?? []);
  // Cards an earlier commit of this change added (a card need not carry a name to skip it by).
  const added = new Set<ContactCard>();
  for (let attempts = 1; attempts <= maxAttempts; attempts++) {
    assertActive(group);
    await readGroup(ctx);
    // A commit restored from before a restart is decided first: it may still win.
    if (group.pending) await readUntilEpochAfter(ctx, currentEpoch(group));
    assertActive(group);
    const { proposals, cards, more } = proposalsFor(group, change, chosen, added, maxAdds);
    if (!update && proposals.length === 0) {
      const status = added.size > 0 ? "committed" : "unchanged";
      return { status, epoch: currentEpoch(group), attempts };
    }
    const won = await commit(ctx, proposals, cards, chosen);
    if (won && !more) return { status: "committed", epoch: currentEpoch(group), attempts };
    if (won) {
      for (const card of cards) added.add(card);
      attempts = 0;
      continue;
    }
    if (!retry) return { status: "superseded", epoch: currentEpoch(group), attempts };
  }
  throw new GroupError(`no commit won the epoch in ${maxAttempts} attempts`);
}

/**
 * One key package per card, drawn at random: a card is static and each package can be joined
 * once, so two groups adding its owner from the same card collide only if they draw the same one
 * (the owner hands out a fresh card, `Member.card()`, to make that unlikely).
 */
function chooseKeyPackages(cards: readonly ContactCard[]): ChosenPackages {
  const chosen: ChosenPackages = new Map();
  for (const card of cards) {
    const packages = card.keyPackages ?? [];
    if (packages.length === 0) continue;
    const [draw] = new Uint32Array(randomBytes(4).buffer);
    chosen.set(card, packages[draw! % packages.length]!);
  }
  return chosen;
}

/**
 * Proposals for what is still wanted of `change` in the current epoch, at most `maxAdds` adds
 * (`cards`: whom they add; `more` when further adds are still wanted after these). `added` holds
 * the cards earlier commits of the change added.
 */
function proposalsFor(
  group: SessionState,
  change: GroupChange,
  chosen: ChosenPackages,
  added: ReadonlySet<ContactCard>,
  maxAdds: number,
): { proposals: Proposal[]; cards: ContactCard[]; more: boolean } {
  const present = memberLeaves(group.state);
  const proposals: Proposal[] = [];
  const cards: ContactCard[] = [];
  let more = false;
  for (const card of change.add ?? []) {
    if (added.has(card) || (card.name !== undefined && present.has(card.name))) continue;
    if (cards.length === maxAdds) {
      more = true;
      break;
    }
    const encoded = chosen.get(card);
    if (!encoded) throw new GroupError("the contact card has no key package");
    proposals.push({ proposalType: "add", add: { keyPackage: decodeKeyPackage(encoded) } });
    cards.push(card);
  }
  for (const name of change.remove ?? []) {
    const leaf = present.get(name);
    if (leaf === undefined) continue;
    if (leaf === group.state.privatePath.leafIndex) {
      throw new GroupError("a member cannot remove itself with a commit");
    }
    proposals.push({ proposalType: "remove", remove: { removed: leaf } });
  }
  return { proposals, cards, more };
}

/** Creates, saves and sends one commit; true if it won the epoch. */
async function commit(
  ctx: SessionContext,
  proposals: Proposal[],
  cards: ContactCard[],
  chosen: ChosenPackages,
): Promise<boolean> {
  const { group } = ctx;
  const result = await createCommit(
    { state: group.state, cipherSuite: await mlsSuite() },
    { extraProposals: proposals, ratchetTreeExtension: true },
  );
  const messageId = randomBytes(MESSAGE_ID_LENGTH);
  const stored = result.welcome
    ? await storeWelcome(await homeClient(ctx), encodeWelcome(result.welcome))
    : undefined;
  const invitations = stored ? await invitationsFor(ctx, stored.blob, cards, chosen) : [];
  const commitMessage = encodeMlsMessage(result.commit);
  const payloads = await sealForEpoch(ctx, group.readings[0]!, commitMessage, messageId);
  group.pending = {
    messageId,
    payloads,
    newState: encodeGroupState(result.newState),
    welcome: stored?.deposits ?? [],
    invitations,
  };
  // The losing commit's secrets stay untouched: the old state must still apply the winner's.
  group.consumedOnWin = result.consumed;
  await saveSession(ctx);
  const fromEpoch = currentEpoch(group);
  group.pendingSent = false;
  await depositPending(ctx);
  await readUntilEpochAfter(ctx, fromEpoch);
  await flushOutbox(ctx);
  return isOwnMessage(group, messageId);
}

function encodeWelcome(welcome: Welcome): Uint8Array {
  return encodeMlsMessage({ version: "mls10", wireformat: "mls_welcome", welcome });
}

/**
 * An invitation naming the stored Welcome for the personal inbox of each card the commit adds
 * (proposalsFor left out those already in the group), sealed to its inbox key and kept as outbox
 * entries until the commit wins.
 */
async function invitationsFor(
  ctx: SessionContext,
  welcome: WelcomeBlob,
  cards: readonly ContactCard[],
  chosen: ChosenPackages,
): Promise<OutboxEntry[]> {
  const { group } = ctx;
  const invitations: OutboxEntry[] = [];
  for (const card of cards) {
    const encoded = chosen.get(card);
    if (!encoded) continue;
    const invitation = encodeInvitation({
      kind: PersonalMessageKind.invitation,
      groupName: group.name,
      groupRelay: group.relay,
      relaySigningKey: group.relaySigningKey ?? new Uint8Array(0),
      keyPackageHash: await keyPackageHash(encoded),
      welcome,
    });
    const client = await ctx.deps.route(card.relay);
    invitations.push(
      ...(await outboxEntries(
        { relay: card.relay, readId: card.readId, writeToken: card.writeToken },
        randomBytes(MESSAGE_ID_LENGTH),
        await client.sealParts(card, invitation),
      )),
    );
  }
  return invitations;
}
