/**
 * `shroud group create|add|remove|send|read|list`: MLS groups held in an encrypted profile.
 * Conversation goes to stdout as one readable line per event ("[friends] bob: hi"); notes and
 * problems go to stderr. Text from other members is escaped before it reaches the terminal, so
 * a message cannot carry terminal control sequences or reorder the line with bidi controls.
 * While `shroud agent` runs for the profile, the command is handed to it (see agent-client.ts)
 * and prints what it answers; the agent runs the same code here (runGroup).
 */
import type { ChangeOutcome, GroupEvent } from "../client/mls/group-session.js";
import { cardFromJson, type ContactCard } from "../client/inbox.js";
import { randomBytes } from "../protocol/bytes.js";
import { ShroudError } from "../protocol/errors.js";
import {
  CliError,
  line,
  parseWithPositionals,
  readAll,
  readTextFile,
  UsageError,
  type CliIo,
} from "./cli-support.js";
import {
  nameArgument,
  PROFILE_OPTIONS,
  withProfile,
  type LoadedGroup,
  type Profile,
} from "./profile-context.js";
import { GROUP_USAGE } from "./usage.js";

// C0 and C1 controls (tab and newline are handled by the callers) and the bidi controls that can
// make a line read differently from what it holds.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function escapeChar(c: string): string {
  const code = c.codePointAt(0)!;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16)}`;
}

/** A name from the network or the profile, safe on one terminal line. */
export function safeName(text: string): string {
  return text.replace(/[\t\n]/g, " ").replace(UNSAFE, escapeChar);
}

/** Message text, safe on a terminal; continuation lines are indented under the first. */
export function safeText(text: string): string {
  return text
    .replace(/\r\n?/g, "\n")
    .replace(UNSAFE, escapeChar)
    .replace(/\n$/, "")
    .replace(/\n/g, "\n  ");
}

function list(names: string[]): string {
  return names.map(safeName).join(", ");
}

/** One stdout line for an event, or undefined for what goes to stderr. */
export function describeEvent(group: string, event: GroupEvent): string | undefined {
  const tag = `[${safeName(group)}]`;
  switch (event.kind) {
    case "message":
      return `${tag} ${safeName(event.sender)}: ${safeText(event.text)}`;
    case "commit": {
      const parts = [
        ...(event.added.length > 0 ? [`added ${list(event.added)}`] : []),
        ...(event.removed.length > 0 ? [`removed ${list(event.removed)}`] : []),
      ];
      const what = parts.length > 0 ? parts.join(" and ") : "updated the group's keys";
      return `${tag} ${safeName(event.committer)} ${what} (epoch ${event.epoch})`;
    }
    case "removed":
      return `${tag} you were removed by ${safeName(event.committer)}`;
    case "unreadable":
      return undefined;
  }
}

async function printEvents(io: CliIo, group: string, events: GroupEvent[]): Promise<number> {
  let printed = 0;
  for (const event of events) {
    const text = describeEvent(group, event);
    if (text !== undefined) {
      await line(io.stdout, text);
      printed++;
    } else if (event.kind === "unreadable") {
      await line(io.stderr, `[${safeName(group)}] skipped: ${safeName(event.reason)}`);
    }
  }
  return printed;
}

function outcomeText(group: string, outcome: ChangeOutcome, changed: string): string {
  const tag = `[${safeName(group)}]`;
  const races = outcome.attempts - 1;
  const lost = races === 0 ? "" : ` after losing ${races === 1 ? "a race" : `${races} races`}`;
  switch (outcome.status) {
    case "committed":
      return `${tag} committed at epoch ${outcome.epoch}${lost}: ${changed}`;
    case "unchanged":
      return `${tag} unchanged at epoch ${outcome.epoch}${lost}: nothing left to change`;
    case "superseded":
      return `${tag} another commit won epoch ${outcome.epoch}; nothing changed`;
  }
}

/**
 * Where `group read` gets what happened: a one-shot command joins waiting invitations and
 * fetches every group now; the agent hands over what it read on its own (see agent-sync.ts).
 */
export interface ReadSource {
  /** Joins the groups whose invitations wait (recorded as the profile's news). */
  invitations(profile: Profile): Promise<void>;
  /** A group's new events, and why reading it last failed (if it did). */
  events(group: LoadedGroup): Promise<{ events: GroupEvent[]; error?: ShroudError | undefined }>;
}

/** Reading at once, as a one-shot command does. */
export const READ_NOW: ReadSource = {
  invitations: async (profile) => void (await profile.acceptInvitations()),
  events: async (group) => ({ events: await group.session.sync() }),
};

function assertActive(group: LoadedGroup): void {
  if (group.session.removed) {
    throw new CliError(`you were removed from "${safeName(group.name)}": it can only be listed`);
  }
}

/** Syncs a group and prints what arrived, so a command that changes the group loses nothing. */
async function catchUp(io: CliIo, group: LoadedGroup): Promise<void> {
  await printEvents(io, group.name, await group.session.sync());
  assertActive(group);
}

/** A member card with one of its key packages, picked at random. */
function withOneKeyPackage(card: ContactCard): ContactCard {
  // GroupSession adds a member with its card's first key package, and each package joins only
  // one group: a random one lets one card file serve several groups.
  const packages = card.keyPackages ?? [];
  const pick = packages[randomBytes(1)[0]! % packages.length]!;
  return { ...card, keyPackages: [pick] };
}

/** The card files' contents, read where the command was typed (the agent may run elsewhere). */
async function readCardFiles(paths: string[]): Promise<string[]> {
  const texts: string[] = [];
  for (const path of paths) texts.push(await readTextFile(path, "card file"));
  return texts;
}

async function parseMemberCards(paths: string[], texts: string[]): Promise<ContactCard[]> {
  if (texts.length !== paths.length) throw new UsageError("every card file must be sent along");
  const cards: ContactCard[] = [];
  const names = new Set<string>();
  for (const [i, path] of paths.entries()) {
    let card: ContactCard;
    try {
      card = await cardFromJson(texts[i]!);
    } catch (error) {
      if (error instanceof ShroudError) throw new CliError(`${path}: ${error.message}`);
      throw error;
    }
    if (card.name === undefined || (card.keyPackages ?? []).length === 0) {
      throw new CliError(
        `${path} is not a member card (no name or key packages): ask for the card.json ` +
          "that `shroud profile create` or `shroud profile card` writes",
      );
    }
    if (names.has(card.name)) throw new CliError(`two cards name "${safeName(card.name)}"`);
    names.add(card.name);
    cards.push(withOneKeyPackage(card));
  }
  return cards;
}

/** What a subcommand gets besides its positionals. */
export interface GroupInput {
  /** For `add`: the card files' contents, in the order of their paths. */
  cards: string[];
  /** For `read`: where the events come from. */
  source: ReadSource;
}

type Sub = (
  positionals: string[],
  profile: Profile,
  io: CliIo,
  input: GroupInput,
) => Promise<number>;

const create: Sub = async ([name], profile, io) => {
  const group = await profile.createGroup(name!);
  const { session } = group;
  await line(
    io.stdout,
    `[${safeName(group.name)}] created on ${session.relay} (epoch ${session.epoch}); ` +
      "add members with `shroud group add GROUP CARD...`",
  );
  return 0;
};

const add: Sub = async ([name, ...paths], profile, io, input) => {
  const cards = await parseMemberCards(paths, input.cards);
  const group = await profile.loadGroup(name!);
  profile.pinCards(cards);
  await catchUp(io, group);
  const before = group.session.members;
  const outcome = await group.session.change({ add: cards });
  const after = group.session.members;
  const added = cards.map((c) => c.name!).filter((n) => !before.includes(n) && after.includes(n));
  await line(io.stdout, outcomeText(group.name, outcome, `added ${list(added)}`));
  return 0;
};

const remove: Sub = async ([name, ...names], profile, io) => {
  const group = await profile.loadGroup(name!);
  await catchUp(io, group);
  if (names.includes(group.session.self)) {
    throw new CliError("you cannot remove yourself with a commit (ask another member)");
  }
  const before = group.session.members;
  const outcome = await group.session.change({ remove: names });
  const after = group.session.members;
  const removed = names.filter((n) => before.includes(n) && !after.includes(n));
  await line(io.stdout, outcomeText(group.name, outcome, `removed ${list(removed)}`));
  return 0;
};

const send: Sub = async ([name, message], profile, io) => {
  const group = await profile.loadGroup(name!);
  // Sending in the newest epoch we can reach keeps members who were just removed from reading.
  await catchUp(io, group);
  await group.session.send(message!);
  await line(io.stdout, `[${safeName(group.name)}] sent (epoch ${group.session.epoch})`);
  return 0;
};

const read: Sub = async ([name], profile, io, { source }) => {
  let printed = 0;
  let failed = false;
  await source.invitations(profile);
  const { joined, problems } = await profile.takeNews();
  for (const problem of problems) await line(io.stderr, `invitation skipped: ${safeName(problem)}`);
  if (joined.length > 0 || problems.length > 0) await profile.writeCard();
  for (const { name: local, session } of joined) {
    await line(
      io.stdout,
      `[${safeName(local)}] you joined: ${list(session.members)} (epoch ${session.epoch})`,
    );
    printed++;
  }
  if (profile.member.keyPackageCount === 0) {
    await line(
      io.stderr,
      "no key packages left, so nobody can add you to another group: " +
        "run `shroud profile card` and share the new card",
    );
  }
  const groups = name === undefined ? await profile.loadGroups() : [await profile.loadGroup(name)];
  for (const group of groups) {
    // A removed group is read no more, once "you were removed" has been printed.
    if (group.session.removed && group.session.unread === 0) continue;
    try {
      const { events, error } = await source.events(group);
      printed += await printEvents(io, group.name, events);
      if (error) throw error;
    } catch (error) {
      // One unreachable relay should not hide the other groups' messages.
      if (!(error instanceof ShroudError)) throw error;
      await line(io.stderr, `shroud: [${safeName(group.name)}] ${error.message}`);
      failed = true;
    }
  }
  if (printed === 0 && !failed) await line(io.stderr, "nothing new");
  return failed ? 1 : 0;
};

const listGroups: Sub = async (_positionals, profile, io) => {
  const groups = await profile.loadGroups();
  if (groups.length === 0) {
    await line(io.stderr, "no groups yet (make one with `shroud group create GROUP`)");
  }
  for (const { name, session } of groups) {
    const tag = `[${safeName(name)}]`;
    await line(
      io.stdout,
      session.removed
        ? `${tag} removed`
        : `${tag} epoch ${session.epoch}: ${list(session.members)}`,
    );
  }
  return 0;
};

/** Each subcommand: its handler and the positionals it takes (min, max; -1: no limit). */
const SUBCOMMANDS: Record<string, { run: Sub; min: number; max: number; usage: string }> = {
  create: { run: create, min: 1, max: 1, usage: "group create GROUP" },
  add: { run: add, min: 2, max: -1, usage: "group add GROUP CARD_FILE..." },
  remove: { run: remove, min: 2, max: -1, usage: "group remove GROUP NAME..." },
  send: { run: send, min: 1, max: 2, usage: "group send GROUP [TEXT]" },
  read: { run: read, min: 0, max: 1, usage: "group read [GROUP]" },
  list: { run: listGroups, min: 0, max: 0, usage: "group list" },
};

/**
 * Checks a subcommand's positionals (count, names, a message that is not empty); UsageError
 * saying what is wrong. The message of `send` must be there already (read from stdin first).
 */
export function checkGroupArgs(sub: string, positionals: string[]): void {
  const spec = Object.hasOwn(SUBCOMMANDS, sub) ? SUBCOMMANDS[sub] : undefined;
  if (!spec) throw new UsageError(`unknown group command "${sub}" (see \`shroud group --help\`)`);
  if (positionals.length < spec.min || (spec.max >= 0 && positionals.length > spec.max)) {
    const hint = sub === "send" && positionals.length > 2 ? " (quote the message)" : "";
    throw new UsageError(`usage: shroud ${spec.usage}${hint} (see \`shroud group --help\`)`);
  }
  const [group, ...others] = positionals;
  if (group !== undefined) nameArgument(group, "GROUP");
  if (sub === "remove") for (const name of others) nameArgument(name, "NAME");
  if (sub === "send" && positionals[1] === "") throw new UsageError("the message is empty");
}

/**
 * Runs a checked subcommand (see checkGroupArgs) on an open profile.
 *
 * @example
 * checkGroupArgs("send", ["friends", "hi"]);
 * const code = await runGroup("send", ["friends", "hi"], profile, io, { cards: [], source: READ_NOW });
 */
export function runGroup(
  sub: string,
  positionals: string[],
  profile: Profile,
  io: CliIo,
  input: GroupInput,
): Promise<number> {
  return SUBCOMMANDS[sub]!.run(positionals, profile, io, input);
}

/** Runs `shroud group <subcommand>`. */
export async function groupCommand(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined) {
    throw new UsageError("missing group command, e.g. `shroud group read` (see --help)");
  }
  if (sub === "--help" || sub === "-h" || sub === "help") {
    await line(io.stdout, GROUP_USAGE);
    return 0;
  }
  if (!Object.hasOwn(SUBCOMMANDS, sub)) {
    throw new UsageError(`unknown group command "${sub}" (see \`shroud group --help\`)`);
  }
  const { values, positionals } = parseWithPositionals(rest, PROFILE_OPTIONS, `group ${sub}`);
  if (values.help) {
    await line(io.stdout, GROUP_USAGE);
    return 0;
  }
  checkGroupArgs(sub, positionals);
  if (sub === "send" && positionals.length === 1) {
    // Read before the profile is locked: typing a message must not hold up other commands.
    if (io.stdin.isTTY) await line(io.stderr, "reading the message from stdin (end with Ctrl-D)");
    positionals.push(new TextDecoder().decode(await readAll(io.stdin)).replace(/\r?\n$/, ""));
    checkGroupArgs(sub, positionals);
  }
  const cards = sub === "add" ? await readCardFiles(positionals.slice(1)) : [];
  return withProfile(values, io, { command: "group", sub, positionals, cards }, (profile) =>
    runGroup(sub, positionals, profile, io, { cards, source: READ_NOW }),
  );
}
