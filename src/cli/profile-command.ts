/**
 * `shroud profile create|card`: a member (name, personal inbox, key packages) kept in an
 * encrypted profile directory, and the contact card others need to add it to groups.
 */
import { access } from "node:fs/promises";
import { join } from "node:path";
import { cardToJson } from "../client/inbox.js";
import { Member } from "../client/mls/member.js";
import {
  CliError,
  line,
  originArgument,
  parseOptions,
  removeQuietly,
  required,
  UsageError,
  type CliIo,
} from "./cli-support.js";
import {
  nameArgument,
  Profile,
  PROFILE_OPTIONS,
  profileDir,
  profileSecrets,
  withProfile,
} from "./profile-context.js";
import { createKeyFile, ProfileStore } from "./profile-store.js";
import { connectRelay, viaOption } from "./relay-connection.js";
import { PROFILE_USAGE } from "./usage.js";

const DEFAULT_KEY_PACKAGES = 4;
const MAX_KEY_PACKAGES = 64;

function keyPackagesOption(text: string | undefined): number {
  if (text === undefined) return DEFAULT_KEY_PACKAGES;
  const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!(n >= 1 && n <= MAX_KEY_PACKAGES)) {
    throw new UsageError(`--key-packages must be 1 to ${MAX_KEY_PACKAGES}, got "${text}"`);
  }
  return n;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function createProfile(args: string[], io: CliIo): Promise<number> {
  const values = parseOptions(
    args,
    {
      ...PROFILE_OPTIONS,
      name: { type: "string" },
      relay: { type: "string" },
      via: { type: "string" },
      "key-packages": { type: "string" },
    },
    "profile create",
  );
  if (values.help) {
    await line(io.stdout, PROFILE_USAGE);
    return 0;
  }
  const name = nameArgument(required(values.name, "--name NAME", "profile create"), "--name");
  const relay = originArgument(required(values.relay, "--relay URL", "profile create"), "--relay");
  const viaOrigin = viaOption(values.via);
  const keyPackages = keyPackagesOption(values["key-packages"]);
  const dir = profileDir(values.profile, io.env);
  const secrets = profileSecrets(values["key-file"], io.env);
  // Every check that needs no network first, so a typo costs nothing.
  if (secrets.keyFile === undefined && !secrets.passphrase) {
    throw new UsageError(
      "a profile is encrypted at rest: set SHROUD_PASSPHRASE or give --key-file FILE",
    );
  }
  if (await ProfileStore.exists(dir)) {
    throw new CliError(`${dir} already holds a profile; not overwriting it`);
  }
  if (secrets.keyFile !== undefined && !(await exists(secrets.keyFile))) {
    await createKeyFile(secrets.keyFile);
    await line(io.stderr, `key file written to ${secrets.keyFile} (keep it secret)`);
  }

  const { client, via } = await connectRelay(io, relay, undefined, viaOrigin);
  const member = await Member.create(
    name,
    client.origin,
    client.descriptor.signingKey,
    keyPackages,
  );
  const store = await ProfileStore.create(dir, secrets);
  let profile: Profile | undefined;
  try {
    profile = await Profile.create(
      store,
      member,
      { via, viaSigningKey: client.via?.descriptor.signingKey },
      keyPackages,
    );
    await profile.writeCard();
  } catch (error) {
    // Half a profile is worse than none: a retry must be able to start clean.
    for (const file of ["meta.json", "profile.enc", "card.json"]) {
      await removeQuietly(join(dir, file));
    }
    throw error;
  } finally {
    await (profile ?? store).close();
  }
  const route = via === undefined ? "" : `, requests via ${via}`;
  await line(io.stdout, `profile for ${name} created in ${dir}: inbox on ${client.origin}${route}`);
  await line(
    io.stdout,
    `card written to ${profile.cardPath} (give it to whoever may add you to a group)`,
  );
  return 0;
}

/**
 * The work of `profile card` on an open profile (the agent runs it too).
 *
 * @example
 * const code = await runCard(profile, io); // prints the card, rewrites DIR/card.json
 */
export async function runCard(profile: Profile, io: CliIo): Promise<number> {
  if (profile.member.keyPackageCount === 0) {
    // Each key package adds this member to one group; with none left nobody can add it.
    await profile.member.addKeyPackages(profile.keyPackages);
    await profile.save();
    await line(
      io.stderr,
      `every key package had been used: made ${profile.keyPackages} new ones ` +
        "(share this card again)",
    );
  }
  await profile.writeCard();
  await line(io.stdout, cardToJson(profile.member.card()));
  return 0;
}

async function printCard(args: string[], io: CliIo): Promise<number> {
  const values = parseOptions(args, PROFILE_OPTIONS, "profile card");
  if (values.help) {
    await line(io.stdout, PROFILE_USAGE);
    return 0;
  }
  return withProfile(values, io, { command: "profile", sub: "card", positionals: [] }, (profile) =>
    runCard(profile, io),
  );
}

/** Runs `shroud profile <subcommand>`. */
export async function profileCommand(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined) {
    throw new UsageError("missing profile command, e.g. `shroud profile create` (see --help)");
  }
  if (sub === "--help" || sub === "-h" || sub === "help") {
    await line(io.stdout, PROFILE_USAGE);
    return 0;
  }
  if (sub === "create") return createProfile(rest, io);
  if (sub === "card") return printCard(rest, io);
  throw new UsageError(`unknown profile command "${sub}" (see \`shroud profile --help\`)`);
}
