/**
 * `shroud tokens status|refill`: the profile's Privacy Pass wallet. Refill gets tokens from the
 * profile's provider (its home relay unless --issuer names another) in one blinded batch; the
 * profile's relay clients then spend them when a relay asks for one. While `shroud agent` runs,
 * both go to it, and it refills on its own when the wallet runs low.
 */
import { TokenUnavailableError } from "../client/errors.js";
import { TransportError } from "../protocol/errors.js";
import { MAX_TOKEN_BATCH } from "../protocol/private-token.js";
import { reachAgent } from "./agent-client.js";
import {
  CliError,
  line,
  originArgument,
  parseOptions,
  UsageError,
  type CliIo,
} from "./cli-support.js";
import { Profile, PROFILE_OPTIONS, profileDir, withProfile } from "./profile-context.js";
import { WALLET_BATCH } from "./profile-wallet.js";
import { TOKENS_USAGE } from "./usage.js";

const REFILL_OPTIONS = {
  ...PROFILE_OPTIONS,
  issuer: { type: "string" },
  count: { type: "string" },
} as const;

/** The refill count from a command's arguments (the agent gets it as a positional). */
export function refillCount(text: string | undefined): number {
  if (text === undefined) return WALLET_BATCH;
  const n = /^\d{1,3}$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!(n >= 1 && n <= MAX_TOKEN_BATCH)) {
    throw new UsageError(`--count must be 1 to ${MAX_TOKEN_BATCH}, got "${text}"`);
  }
  return n;
}

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * The work of `tokens status` and `tokens refill` on an open profile (the agent runs it too).
 *
 * @example const code = await runTokens("refill", ["10"], profile, io);
 */
export async function runTokens(
  sub: string,
  positionals: string[],
  profile: Profile,
  io: CliIo,
): Promise<number> {
  if (sub === "status") {
    const held = profile.tokens;
    if (!held) {
      await line(io.stdout, "no token wallet yet: `shroud tokens refill` gets the first tokens");
      return 0;
    }
    const tokens = held.wallet.export();
    const first = Math.min(...tokens.map((t) => t.expiresAt));
    const until = tokens.length > 0 ? ` (the first of them honoured until ${day(first)})` : "";
    await line(io.stdout, `issuer ${held.wallet.issuer}: ${tokens.length} tokens${until}`);
    return 0;
  }
  const count = refillCount(positionals[0]);
  const held = profile.tokens ?? profile.setTokenIssuer(profile.member.inbox.relay, undefined);
  let size: number;
  try {
    size = await held.wallet.refill(count);
  } catch (error) {
    if (error instanceof TokenUnavailableError && /HTTP 401/.test(error.message)) {
      throw new CliError(
        `${held.wallet.issuer} does not vouch for this profile: set SHROUD_INVITE to your ` +
          "provider's invite and run `shroud tokens refill` again",
      );
    }
    if (error instanceof TokenUnavailableError || error instanceof TransportError) {
      throw new CliError(`no tokens from ${held.wallet.issuer}: ${error.message}`);
    }
    throw error;
  }
  await profile.saveTokens();
  await line(io.stdout, `got ${count} tokens from ${held.wallet.issuer}: ${size} in the wallet`);
  return 0;
}

/** Runs `shroud tokens <subcommand>`. */
export async function tokensCommand(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined) {
    throw new UsageError("missing tokens command, e.g. `shroud tokens status` (see --help)");
  }
  if (sub === "--help" || sub === "-h" || sub === "help") {
    await line(io.stdout, TOKENS_USAGE);
    return 0;
  }
  if (sub !== "status" && sub !== "refill") {
    throw new UsageError(`unknown tokens command "${sub}" (see \`shroud tokens --help\`)`);
  }
  const values: { profile?: string; "key-file"?: string; help?: boolean } & {
    issuer?: string | undefined;
    count?: string | undefined;
  } =
    sub === "refill"
      ? parseOptions(rest, REFILL_OPTIONS, "tokens refill")
      : parseOptions(rest, PROFILE_OPTIONS, "tokens status");
  if (values.help) {
    await line(io.stdout, TOKENS_USAGE);
    return 0;
  }
  const positionals = values.count === undefined ? [] : [String(refillCount(values.count))];
  const issuer =
    values.issuer === undefined ? undefined : originArgument(values.issuer, "--issuer");
  // The invite comes from the environment only: a flag's value shows in `ps`.
  const invite = io.env["SHROUD_INVITE"]?.trim() || undefined;
  const configures = issuer !== undefined || invite !== undefined;
  if (configures) {
    const dir = profileDir(values.profile, io.env);
    const agent = await reachAgent(dir);
    if (agent.status === "running") {
      agent.socket.destroy();
      throw new CliError(
        "shroud agent holds this profile: stop it to set the issuer or invite, then start it again",
      );
    }
  }
  return withProfile(values, io, { command: "tokens", sub, positionals }, async (profile) => {
    if (configures) {
      profile.setTokenIssuer(
        issuer ?? profile.tokens?.wallet.issuer ?? profile.member.inbox.relay,
        invite,
      );
    }
    return runTokens(sub, positionals, profile, io);
  });
}
