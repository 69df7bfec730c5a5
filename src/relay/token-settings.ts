/**
 * Privacy Pass settings given as text (a flag or an environment variable), read the same way
 * by `shroud serve` and the Worker. Errors are ConfigErrors naming where the text came from.
 */
import { normalizeOrigin } from "../protocol/descriptor.js";
import { ConfigError } from "../protocol/errors.js";
import type { TokenConfig } from "./relay-config.js";

const REQUIREMENTS: readonly TokenConfig["requirement"][] = ["off", "always", "allowance"];

/**
 * When deposits and forwards must carry a token: "off", "always" or "allowance".
 *
 * @example parseTokenRequirement("always", "SHROUD_TOKENS") // "always"
 */
export function parseTokenRequirement(text: string, name: string): TokenConfig["requirement"] {
  const value = text.trim() as TokenConfig["requirement"];
  if (!REQUIREMENTS.includes(value)) {
    throw new ConfigError(
      `${name} must be "off", "always" or "allowance", got ${JSON.stringify(text)}`,
    );
  }
  return value;
}

/**
 * Issuer origins whose tokens a relay takes, separated by commas, normalised.
 *
 * @example parseTokenIssuers("https://a.example, https://b.example", "SHROUD_TOKEN_ACCEPT")
 */
export function parseTokenIssuers(text: string, name: string): string[] {
  const issuers = text
    .split(",")
    .map((o) => o.trim())
    .filter((o) => o !== "");
  return issuers.map((issuer) => {
    try {
      return normalizeOrigin(issuer);
    } catch {
      throw new ConfigError(
        `${name} must list http or https origins, got ${JSON.stringify(issuer)}`,
      );
    }
  });
}
