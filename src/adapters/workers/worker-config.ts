/**
 * A Worker's settings, read once from its environment into a typed object. Mirrors `shroud
 * serve`'s SHROUD_* variables; what differs on Workers is listed in docs/DEPLOYMENT.md.
 */

import { parseCorsOrigins } from "../../relay/cors.js";
import { normalizeOrigin } from "../../protocol/descriptor.js";
import { ConfigError } from "../../protocol/errors.js";
import { SecretBytes } from "../../protocol/secret-bytes.js";
import { decodeMasterKey } from "../../relay/key-ring-seal.js";
import {
  DEFAULT_TOKENS,
  MAX_BATCHES_PER_ROUND,
  relayConfig,
  type RelayConfig,
  type TokenConfig,
} from "../../relay/relay-config.js";
import { parseTokenIssuers, parseTokenRequirement } from "../../relay/token-settings.js";
import type { WorkerEnv } from "./worker-env.js";

export interface WorkerConfig {
  relay: RelayConfig;
  /** Prefix of every Durable Object name this relay uses (SHROUD_INSTANCE, default "shroud"). */
  instance: string;
  masterKey: SecretBytes;
  /** Bearer token of the operator routes; undefined turns them off. */
  adminToken: SecretBytes | undefined;
}

type Vars = Pick<
  WorkerEnv,
  | "SHROUD_ORIGIN"
  | "SHROUD_ROUND_MS"
  | "SHROUD_FEDERATION"
  | "SHROUD_PEERS"
  | "SHROUD_BATCHES_PER_ROUND"
  | "SHROUD_DYNAMIC_LINK_MS"
  | "SHROUD_INGRESS_RELEASE"
  | "SHROUD_CORS_ORIGINS"
  | "SHROUD_TOKENS"
  | "SHROUD_TOKEN_FREE_PER_MINUTE"
  | "SHROUD_TOKEN_ACCEPT"
  | "SHROUD_INSTANCE"
  | "SHROUD_MASTER_KEY"
  | "SHROUD_ADMIN_TOKEN"
>;

function origin(text: string, name: string): string {
  try {
    return normalizeOrigin(text.trim());
  } catch {
    throw new ConfigError(`${name} must be an http or https URL, got ${JSON.stringify(text)}`);
  }
}

/** A whole number from `min` to `max`, or undefined when the variable is unset or empty. */
function wholeNumber(
  text: string | undefined,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const trimmed = text?.trim();
  if (trimmed === undefined || trimmed === "") return undefined;
  const value = /^\d{1,9}$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!(value >= min && value <= max)) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}`);
  }
  return value;
}

/** Most tokenless deposits and forwards per minute SHROUD_TOKEN_FREE_PER_MINUTE may allow. */
const MAX_FREE_PER_MINUTE = 1_000_000;

/**
 * Privacy Pass on a Worker: redemption only. Issuing needs the raw RSA private operation, which
 * WebCrypto lacks (and a BigInt one would leak the key through its timing), so a Worker relay
 * has no issuer keys of its own and takes only the tokens of the issuers it names.
 */
function tokens(env: Vars, own: string): TokenConfig {
  const requirementText = env.SHROUD_TOKENS?.trim();
  const requirement = requirementText
    ? parseTokenRequirement(requirementText, "SHROUD_TOKENS")
    : DEFAULT_TOKENS.requirement;
  const freePerMinute =
    wholeNumber(
      env.SHROUD_TOKEN_FREE_PER_MINUTE,
      "SHROUD_TOKEN_FREE_PER_MINUTE",
      0,
      MAX_FREE_PER_MINUTE,
    ) ?? DEFAULT_TOKENS.freePerMinute;
  const accept = parseTokenIssuers(env.SHROUD_TOKEN_ACCEPT ?? "", "SHROUD_TOKEN_ACCEPT");
  if (accept.includes(own)) {
    throw new ConfigError(
      `SHROUD_TOKEN_ACCEPT names this relay itself (${own}): a Worker relay issues no tokens`,
    );
  }
  if (requirement !== "off" && accept.length === 0) {
    throw new ConfigError(
      `SHROUD_TOKENS is "${requirement}" but SHROUD_TOKEN_ACCEPT names no issuer: a Worker relay ` +
        "issues no tokens itself, so it must take another relay's",
    );
  }
  return { requirement, freePerMinute, accept };
}

function masterKey(text: string | undefined): SecretBytes {
  if (!text) {
    throw new ConfigError(
      "SHROUD_MASTER_KEY must be set (wrangler secret put SHROUD_MASTER_KEY): 32 random bytes in base64",
    );
  }
  const key = decodeMasterKey(text);
  if (!key) throw new ConfigError("SHROUD_MASTER_KEY must be 32 bytes in base64");
  return key;
}

/**
 * Reads and checks the Worker's variables and secrets; throws ConfigError naming the variable.
 *
 * @example const config = workerConfig(env); // env from the fetch handler
 */
export function workerConfig(env: Vars): WorkerConfig {
  if (!env.SHROUD_ORIGIN) throw new ConfigError("SHROUD_ORIGIN must be set to the relay's URL");
  const own = origin(env.SHROUD_ORIGIN, "SHROUD_ORIGIN");
  const roundText = env.SHROUD_ROUND_MS?.trim() || "1000";
  if (!/^\d{1,8}$/.test(roundText)) {
    throw new ConfigError("SHROUD_ROUND_MS must be a whole number of milliseconds");
  }
  const policy = env.SHROUD_FEDERATION?.trim() || "allowlist";
  if (policy !== "allowlist" && policy !== "open") {
    throw new ConfigError(
      `SHROUD_FEDERATION must be "open" or "allowlist", got ${JSON.stringify(policy)}`,
    );
  }
  const peers = (env.SHROUD_PEERS ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "")
    .map((p) => origin(p, "SHROUD_PEERS"));
  if (peers.includes(own)) throw new ConfigError(`SHROUD_PEERS names this relay itself (${own})`);
  const batchesPerRound = wholeNumber(
    env.SHROUD_BATCHES_PER_ROUND,
    "SHROUD_BATCHES_PER_ROUND",
    1,
    MAX_BATCHES_PER_ROUND,
  );
  const dynamicLinkMs = wholeNumber(
    env.SHROUD_DYNAMIC_LINK_MS,
    "SHROUD_DYNAMIC_LINK_MS",
    0,
    86_400_000,
  );
  const release = env.SHROUD_INGRESS_RELEASE?.trim() || undefined;
  if (release !== undefined && release !== "round" && release !== "immediate") {
    throw new ConfigError(
      `SHROUD_INGRESS_RELEASE must be "round" or "immediate", got ${JSON.stringify(release)}`,
    );
  }
  const corsText = env.SHROUD_CORS_ORIGINS?.trim();
  const cors = corsText ? parseCorsOrigins(corsText, "SHROUD_CORS_ORIGINS") : undefined;
  const instance = env.SHROUD_INSTANCE?.trim() || "shroud";
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(instance)) {
    throw new ConfigError("SHROUD_INSTANCE must be 1-64 letters, digits, '_', '.' or '-'");
  }
  const tokenConfig = tokens(env, own);
  const token = env.SHROUD_ADMIN_TOKEN?.trim();
  if (token !== undefined && token !== "" && token.length < 16) {
    throw new ConfigError("SHROUD_ADMIN_TOKEN must be at least 16 characters");
  }
  return {
    relay: relayConfig({
      origin: own,
      roundIntervalMs: Number(roundText),
      ...(cors ? { cors } : {}),
      tokens: tokenConfig,
      federation: {
        policy,
        peers,
        ...(batchesPerRound === undefined ? {} : { batchesPerRound }),
        ...(dynamicLinkMs === undefined ? {} : { dynamicLinkMs }),
        ...(release === undefined ? {} : { ingressRelease: release }),
      },
    }),
    instance,
    masterKey: masterKey(env.SHROUD_MASTER_KEY),
    adminToken: token ? new SecretBytes(new TextEncoder().encode(token)) : undefined,
  };
}
