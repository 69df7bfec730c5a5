/**
 * `shroud serve`'s Privacy Pass settings: whether deposits must carry a token, whose tokens the
 * relay takes, and whether it issues tokens itself (an attester names who may get them). Read
 * once from flags and SHROUD_* variables into the relay's TokenConfig and an Attester.
 */
import { readFileSync } from "node:fs";
import { ConfigError } from "../protocol/errors.js";
import {
  addressAttester,
  headerAttester,
  inviteAttester,
  type Attester,
} from "../relay/attester.js";
import { DEFAULT_TOKEN_ISSUE, DEFAULT_TOKENS, type TokenConfig } from "../relay/relay-config.js";
import { parseTokenIssuers, parseTokenRequirement } from "../relay/token-settings.js";
import { integerArgument, originArgument, UsageError } from "./cli-support.js";

/** A setting's text with where it came from (a flag or a variable), for errors. */
type Given = [text: string, source: string] | undefined;

/** What the token flags and variables say, before they are checked. */
export interface TokenSettingsText {
  requirement: Given;
  freePerMinute: Given;
  /** --token-accept, repeatable; or else SHROUD_TOKEN_ACCEPT's comma-separated list. */
  acceptFlags: string[] | undefined;
  acceptEnv: Given;
  attester: Given;
  inviteFile: Given;
  attesterHeader: Given;
  perDay: Given;
}

export interface ServeTokens {
  tokens: TokenConfig;
  /** Who may get tokens at POST /v1/tokens; undefined: the relay issues none. */
  attester: Attester | undefined;
  /** The attester's kind, for the start line. */
  attesterKind: "invite" | "header" | "address" | undefined;
}

/** Fewest characters of an invite secret: it is all that stands between a stranger and tokens. */
const MIN_INVITE_CHARS = 16;
const MAX_TOKENS_PER_DAY = 1_000_000;

function usage<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * Invite secrets, one per line of the file (blank lines and lines starting with # skipped).
 * From a file, never a flag: a flag's value shows in `ps`.
 */
function inviteSecrets([path, source]: [string, string]): string[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
    throw new UsageError(`${source}: cannot read ${JSON.stringify(path)} (${code})`);
  }
  const secrets = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  if (secrets.length === 0) throw new UsageError(`${source}: the file holds no invite secret`);
  const short = secrets.findIndex((s) => s.length < MIN_INVITE_CHARS || /\s/.test(s));
  if (short >= 0) {
    throw new UsageError(
      `${source}: secret ${short + 1} must be at least ${MIN_INVITE_CHARS} characters without spaces`,
    );
  }
  return secrets;
}

/**
 * Checks the token settings; UsageError naming the flag or variable on anything wrong.
 *
 * @example serveTokens(text, { volatile: false }).tokens.requirement // "off" by default
 */
export function serveTokens(text: TokenSettingsText, store: { volatile: boolean }): ServeTokens {
  const requirement = text.requirement
    ? usage(() => parseTokenRequirement(...text.requirement!))
    : DEFAULT_TOKENS.requirement;
  const freePerMinute = text.freePerMinute
    ? integerArgument(...text.freePerMinute, 0, 1_000_000)
    : DEFAULT_TOKENS.freePerMinute;
  const accept =
    text.acceptFlags && text.acceptFlags.length > 0
      ? text.acceptFlags.map((o) => originArgument(o, "--token-accept"))
      : text.acceptEnv
        ? usage(() => parseTokenIssuers(...text.acceptEnv!))
        : [];
  const acceptSource = text.acceptFlags?.length ? "--token-accept" : "SHROUD_TOKEN_ACCEPT";
  if (accept.length > 0 && store.volatile) {
    // Spent tokens live in the replay set: on the memory store a restart forgets them, and a
    // peer's tokens spent here before could be spent here again.
    throw new UsageError(
      `${acceptSource} needs a store that keeps spent tokens across restarts (SQLite or Redis), not --store memory`,
    );
  }

  const kind = text.attester?.[0].trim();
  if (kind !== undefined && kind !== "invite" && kind !== "header" && kind !== "address") {
    throw new UsageError(
      `${text.attester![1]} must be "invite", "header" or "address", got ${JSON.stringify(text.attester![0])}`,
    );
  }
  for (const [given, needs] of [
    [text.inviteFile, "invite"],
    [text.attesterHeader, "header"],
  ] as const) {
    if (given && kind !== needs) throw new UsageError(`${given[1]} needs --attester ${needs}`);
  }
  if (text.perDay && !kind) throw new UsageError(`${text.perDay[1]} needs --attester`);
  let attester: Attester | undefined;
  if (kind === "invite") {
    if (!text.inviteFile) {
      throw new UsageError("--attester invite needs --invite-file (SHROUD_INVITE_FILE)");
    }
    attester = inviteAttester(inviteSecrets(text.inviteFile));
  } else if (kind === "header") {
    const header = text.attesterHeader?.[0].trim();
    if (!header) {
      throw new UsageError("--attester header needs --attester-header (SHROUD_ATTESTER_HEADER)");
    }
    if (!/^[A-Za-z0-9-]{1,64}$/.test(header)) {
      throw new UsageError(`${text.attesterHeader![1]} must be an HTTP header name`);
    }
    attester = headerAttester(header.toLowerCase());
  } else if (kind === "address") {
    attester = addressAttester;
  }

  if (requirement !== "off" && !attester && accept.length === 0) {
    throw new UsageError(
      `${text.requirement![1]} ${requirement} needs an issuer whose tokens this relay takes: ` +
        "--attester (it issues its own) or --token-accept",
    );
  }
  const issue = attester
    ? {
        ...DEFAULT_TOKEN_ISSUE,
        ...(text.perDay
          ? { perPeriod: integerArgument(...text.perDay, 1, MAX_TOKENS_PER_DAY) }
          : {}),
      }
    : undefined;
  return {
    tokens: { requirement, freePerMinute, accept, ...(issue ? { issue } : {}) },
    attester,
    attesterKind: kind,
  };
}
