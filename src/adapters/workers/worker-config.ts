/**
 * A Worker's settings, read once from its environment into a typed object. Mirrors `shroud
 * serve`'s SHROUD_* variables; what differs on Workers is listed in the README.
 */

import { parseCorsOrigins } from "../../relay/cors.js";
import { normalizeOrigin } from "../../protocol/descriptor.js";
import { ConfigError } from "../../protocol/errors.js";
import { SecretBytes } from "../../protocol/secret-bytes.js";
import { decodeMasterKey } from "../../relay/key-ring-seal.js";
import { MAX_BATCHES_PER_ROUND, relayConfig, type RelayConfig } from "../../relay/relay-config.js";
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
  const token = env.SHROUD_ADMIN_TOKEN?.trim();
  if (token !== undefined && token !== "" && token.length < 16) {
    throw new ConfigError("SHROUD_ADMIN_TOKEN must be at least 16 characters");
  }
  return {
    relay: relayConfig({
      origin: own,
      roundIntervalMs: Number(roundText),
      ...(cors ? { cors } : {}),
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
